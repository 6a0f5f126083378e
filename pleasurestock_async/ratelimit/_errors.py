"""The error a shared limiter raises when its store cannot be reached (defined with the
others in :mod:`pleasurestock_async.errors`)."""

from ..errors import RateLimiterUnavailableError

__all__ = ["RateLimiterUnavailableError"]
