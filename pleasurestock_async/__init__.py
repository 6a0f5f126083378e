"""Async Python SDK for the PleasureStock B2B API."""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import errors, types
from ._client import DEFAULT_BASE_URL, DEFAULT_MAX_RATE_LIMIT_WAIT, AsyncPleasureStock
from ._lazy import lazy_exports
from ._logging import setup_logging as _setup_logging
from ._options import NOT_GIVEN, NotGiven, RequestOptions
from ._response import APIResponse
from ._version import __version__
from .errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConfigurationError,
    InputError,
    InternalServerError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    PleasureStockError,
    RateLimitError,
    RateLimiterUnavailableError,
    RateLimitWaitError,
    SalesJobError,
    SalesSyncError,
    SalesUploadError,
    StateLockedError,
)
from .pagination import AsyncPage, AsyncPaginator, OffsetPage, PageNumberPage
from .ratelimit import (
    DEFAULT_RATE_LIMITS,
    BucketStatus,
    MemoryRateLimiter,
    RateLimitConfig,
    RateLimiter,
    Window,
    WindowStatus,
)

if TYPE_CHECKING:
    from . import webhooks
    from .ratelimit.redis import RedisRateLimiter
    from .types.uploads import (
        FailedBatch,
        SalesJobResult,
        SalesSyncResult,
        SalesUploadResult,
        SyncProgress,
        UnresolvedBatch,
        UploadProgress,
    )

_UPLOAD_RESULTS = frozenset(
    {
        "FailedBatch",
        "SalesJobResult",
        "SalesSyncResult",
        "SalesUploadResult",
        "SyncProgress",
        "UnresolvedBatch",
        "UploadProgress",
    }
)
"""What ``sales.upload`` and ``sales.sync`` report: loaded with them, on first use."""

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RATE_LIMIT_WAIT",
    "DEFAULT_RATE_LIMITS",
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APIResponse",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncPage",
    "AsyncPaginator",
    "AsyncPleasureStock",
    "AuthenticationError",
    "BadRequestError",
    "BucketStatus",
    "ClientClosedError",
    "ConfigurationError",
    "FailedBatch",
    "InputError",
    "InternalServerError",
    "MemoryRateLimiter",
    "NotFoundError",
    "NotGiven",
    "OffsetPage",
    "PageNumberPage",
    "PaginationError",
    "PermissionDeniedError",
    "PleasureStockError",
    "RateLimitConfig",
    "RateLimitError",
    "RateLimitWaitError",
    "RateLimiter",
    "RateLimiterUnavailableError",
    "RedisRateLimiter",
    "RequestOptions",
    "SalesJobError",
    "SalesJobResult",
    "SalesSyncError",
    "SalesSyncResult",
    "SalesUploadError",
    "SalesUploadResult",
    "StateLockedError",
    "SyncProgress",
    "UnresolvedBatch",
    "UploadProgress",
    "Window",
    "WindowStatus",
    "__version__",
    "errors",
    "types",
    "webhooks",
]

_setup_logging()


__getattr__: Callable[[str], Any]
__dir__: Callable[[], list[str]]
__getattr__, __dir__ = lazy_exports(
    __name__,
    globals(),
    {
        # imported on use: it needs the optional redis package
        "RedisRateLimiter": ".ratelimit",
        **dict.fromkeys(_UPLOAD_RESULTS, ".types.uploads"),
    },
    modules=("webhooks",),  # imported on use: a sender of requests never needs it
)
