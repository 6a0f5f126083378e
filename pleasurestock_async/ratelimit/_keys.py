"""The Redis key names of one API key's shared windows.

Every name is ``<prefix>:{<hash>}:...``: the hash stands for the API key (a one-way SHA-256,
so the key itself never reaches Redis), and the braces put every key of one API key in the
same Redis Cluster slot, as a script that touches several of them requires.
"""

from __future__ import annotations

import hashlib

from .._apikey import ApiKey
from ..errors import ConfigurationError
from ._config import BucketName, Window

__all__ = ["Namespace"]

_LABEL = b"pleasurestock-async rate limits\x00"


class Namespace:
    """Key names under ``prefix`` for the API key ``api_key``."""

    __slots__ = ("_base", "alive", "epoch", "prefix", "restoring", "waiting")

    def __init__(self, prefix: str, api_key: ApiKey) -> None:
        if (
            not isinstance(prefix, str)
            or not prefix
            or any(c in prefix for c in "{}")
            or not prefix.isprintable()
            or any(c.isspace() for c in prefix)
        ):
            raise ConfigurationError(
                f"prefix must be a non-empty printable str without spaces or braces, got {prefix!r}"
            )
        digest = hashlib.sha256(_LABEL + api_key.reveal().encode()).hexdigest()[:32]
        self.prefix = prefix
        self._base = f"{prefix}:{{{digest}}}"
        self.waiting = f"{self._base}:waiting"
        self.alive = f"{self._base}:alive"
        """Every worker, scored by the moment it counts as dead unless it beats again."""
        self.epoch = f"{self._base}:epoch"
        """The name of the state Redis holds (gone or changed: Redis lost it)."""
        self.restoring = f"{self._base}:restoring"
        """Until when every bucket waits for the workers to put back what Redis lost."""

    def queue(self, bucket: BucketName) -> str:
        """The tickets waiting for ``bucket``, in arrival order."""
        return f"{self._base}:{bucket}:queue"

    def pause(self, bucket: BucketName) -> str:
        """Until when a server 429 holds ``bucket``."""
        return f"{self._base}:{bucket}:pause"

    def window(self, bucket: BucketName, window: Window) -> str:
        """The requests counted in one window of ``bucket``."""
        return f"{self._base}:{bucket}:{float(window.seconds)!r}s"
