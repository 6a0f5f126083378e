"""Sales of any size: ``sales.upload`` (an append-only stream, exactly-once with a journal) and
``sales.sync`` (state-based: only what the platform does not have yet).

Modules: :mod:`.codec` (validation and encoding), :mod:`.batcher` (input ranges),
:mod:`.sender` (one batch and what the server has of it), :mod:`.runner` (workers and a clean
stop), :mod:`.journal` and :mod:`.state` (SQLite records), :mod:`.lock` (one run per file),
:mod:`.upload`, :mod:`.sync`. The result types live in :mod:`pleasurestock_async.types.uploads`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports
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

if TYPE_CHECKING:
    from .journal import Journal, Resolution
    from .runner import STOP_GRACE
    from .state import SyncState
    from .sync import StockPolicy, sync_sales
    from .upload import MAX_CONCURRENCY, OnInvalid, ProgressCallback, upload_sales

# The engines (SQLite, time zones, workers) load when first used, not with the client.
_LAZY = {
    "Journal": "journal",
    "Resolution": "journal",
    "STOP_GRACE": "runner",
    "SyncState": "state",
    "StockPolicy": "sync",
    "sync_sales": "sync",
    "MAX_CONCURRENCY": "upload",
    "OnInvalid": "upload",
    "ProgressCallback": "upload",
    "upload_sales": "upload",
}
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


__getattr__, __dir__ = lazy_exports(
    __name__, globals(), {name: f".{module}" for name, module in _LAZY.items()}
)
