"""Sales of any size: ``sales.upload`` (an append-only stream, exactly-once with a journal) and
``sales.sync`` (state-based: only what the platform does not have yet).

Modules: :mod:`.codec` (validation and encoding), :mod:`.batcher` (input ranges),
:mod:`.sender` (one batch and what the server has of it), :mod:`.runner` (workers and a clean
stop), :mod:`.journal` and :mod:`.state` (SQLite records), :mod:`.lock` (one run per file),
:mod:`.upload`, :mod:`.sync`. The result types live in :mod:`pleasurestock_async.types.uploads`.
"""

from ..types.uploads import (
    BatchOutcome,
    Discrepancy,
    FailedBatch,
    SalesSyncResult,
    SalesUploadResult,
    ServerRecordError,
    SyncDay,
    SyncProgress,
    UnresolvedBatch,
    UploadProgress,
)
from .journal import Journal, Resolution
from .runner import STOP_GRACE
from .state import SyncState
from .sync import StockPolicy, sync_sales
from .upload import MAX_CONCURRENCY, OnInvalid, ProgressCallback, upload_sales

__all__ = [
    "MAX_CONCURRENCY",
    "STOP_GRACE",
    "BatchOutcome",
    "Discrepancy",
    "FailedBatch",
    "Journal",
    "OnInvalid",
    "ProgressCallback",
    "Resolution",
    "SalesSyncResult",
    "SalesUploadResult",
    "ServerRecordError",
    "StockPolicy",
    "SyncDay",
    "SyncProgress",
    "SyncState",
    "UnresolvedBatch",
    "UploadProgress",
    "sync_sales",
    "upload_sales",
]
