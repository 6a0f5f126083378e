"""Sales of any size: ``sales.upload`` (an append-only stream, exactly-once with a journal) and
``sales.sync`` (state-based: only what the platform does not have yet).

Modules: :mod:`.blocks` (inputs that hand over records in blocks), :mod:`.codec`
(validation and encoding), :mod:`.batcher` (input ranges),
:mod:`.sender` (one batch and what the server has of it), :mod:`.runner` (workers and a clean
stop), :mod:`.journal` and :mod:`.state` (SQLite records, checked by :mod:`._sqlite`),
:mod:`.store` (the sync's state seam, off the event loop), :mod:`.lock` (one run per file),
:mod:`.options` (the settings of each job), :mod:`.upload`, :mod:`.sync`. The result types live in
:mod:`pleasurestock_async.types.uploads`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._lazy import lazy_exports
from ..types.uploads import (
    BatchOutcome,
    Discrepancy,
    FailedBatch,
    HeldBatch,
    QuarantinedId,
    SalesJobResult,
    SalesSyncResult,
    SalesUploadResult,
    ServerRecordError,
    StateDestination,
    StateStatus,
    SyncDay,
    SyncProgress,
    SyncRun,
    UnresolvedBatch,
    UploadProgress,
)

if TYPE_CHECKING:
    from .blocks import BlockSource, TextCells
    from .journal import Journal, Resolution
    from .options import (
        MAX_CONCURRENCY,
        Accept,
        OnInvalid,
        ProgressCallback,
        StockPolicy,
        SyncOptions,
        UploadOptions,
    )
    from .runner import STOP_GRACE
    from .state import QUARANTINE_DAYS, SyncState
    from .store import StateStore, open_state
    from .sync import sync_sales
    from .upload import upload_sales

# The engines (SQLite, time zones, workers) load when first used, not with the client.
_LAZY = {
    "BlockSource": "blocks",
    "TextCells": "blocks",
    "Journal": "journal",
    "Resolution": "journal",
    "Accept": "options",
    "MAX_CONCURRENCY": "options",
    "OnInvalid": "options",
    "ProgressCallback": "options",
    "StockPolicy": "options",
    "SyncOptions": "options",
    "UploadOptions": "options",
    "STOP_GRACE": "runner",
    "QUARANTINE_DAYS": "state",
    "SyncState": "state",
    "StateStore": "store",
    "open_state": "store",
    "sync_sales": "sync",
    "upload_sales": "upload",
}
__all__ = [
    "MAX_CONCURRENCY",
    "QUARANTINE_DAYS",
    "STOP_GRACE",
    "Accept",
    "BatchOutcome",
    "BlockSource",
    "Discrepancy",
    "FailedBatch",
    "HeldBatch",
    "Journal",
    "OnInvalid",
    "ProgressCallback",
    "QuarantinedId",
    "Resolution",
    "SalesJobResult",
    "SalesSyncResult",
    "SalesUploadResult",
    "ServerRecordError",
    "StateDestination",
    "StateStatus",
    "StateStore",
    "StockPolicy",
    "SyncDay",
    "SyncOptions",
    "SyncProgress",
    "SyncRun",
    "SyncState",
    "TextCells",
    "UnresolvedBatch",
    "UploadOptions",
    "UploadProgress",
    "open_state",
    "sync_sales",
    "upload_sales",
]


__getattr__: Callable[[str], Any]
__dir__: Callable[[], list[str]]
__getattr__, __dir__ = lazy_exports(
    __name__, globals(), {name: f".{module}" for name, module in _LAZY.items()}
)
