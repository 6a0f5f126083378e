"""The error a shared limiter raises when its store cannot be reached."""

from __future__ import annotations

from ..errors import APIConnectionError

__all__ = ["RateLimiterUnavailableError"]


class RateLimiterUnavailableError(APIConnectionError):
    """The shared rate limiter's store (Redis) could not be reached or did not answer in time.

    Nothing was sent to the API. ``where`` names the store (host, port and database, never
    a password). Raised only when the limiter was built with ``on_unavailable="raise"``.
    """

    def __init__(self, message: str, *, where: str) -> None:
        self.where = where
        super().__init__(message)
