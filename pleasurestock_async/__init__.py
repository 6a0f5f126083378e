"""Async Python SDK for the PleasureStock B2B API."""

from . import errors, types, webhooks
from ._client import DEFAULT_BASE_URL, AsyncPleasureStock
from ._ratelimit import DEFAULT_RATE_LIMITS, BucketStatus, RateLimitConfig, Window, WindowStatus
from ._version import __version__
from .pagination import AsyncPaginator

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_RATE_LIMITS",
    "AsyncPaginator",
    "AsyncPleasureStock",
    "BucketStatus",
    "RateLimitConfig",
    "Window",
    "WindowStatus",
    "__version__",
    "errors",
    "types",
    "webhooks",
]
