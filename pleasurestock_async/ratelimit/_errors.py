"""The errors of the limiters (defined with the others in :mod:`pleasurestock_async.errors`):
a shared store that cannot be reached, and a wait longer than a call allows."""

from ..errors import RateLimiterUnavailableError, RateLimitWaitError

__all__ = ["RateLimitWaitError", "RateLimiterUnavailableError"]
