"""One run at a time per journal or state file, across processes: an OS file lock.

Two runs that both check "not yet sent" and then send double-count, so a second run on a file
in use waits (up to ``wait`` seconds) or refuses. The lock is the kernel's: it is released when
the process ends however it ends (even by SIGKILL), so a crash never leaves a stale lock.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO

import anyio

from ..errors import StateLockedError

__all__ = ["FileLock"]

_POLL = 0.1


class FileLock:
    """An exclusive lock on ``<path>.lock``, held while the ``async with`` block runs."""

    def __init__(self, path: str | os.PathLike[str], *, wait: float = 0.0) -> None:
        self.path = Path(f"{os.fspath(path)}.lock")
        self.target = os.fspath(path)
        self.wait = wait
        self._handle: IO[str] | None = None

    async def __aenter__(self) -> FileLock:
        handle = self.path.open("a+", encoding="utf-8")
        deadline = time.monotonic() + self.wait
        try:
            while not _try_lock(handle):
                if time.monotonic() >= deadline:
                    raise StateLockedError(
                        f"{self.target} is in use by another run{_holder(handle)}: running "
                        "both could double-count sales. Wait for it to finish (or pass a "
                        "longer lock wait), or use another file."
                    )
                await anyio.sleep(_POLL)
        except BaseException:  # refused, or cancelled while waiting: nothing stays open
            handle.close()
            raise
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()})
        )
        handle.flush()
        self._handle = handle
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            _unlock(self._handle)
            self._handle.close()
            self._handle = None


def _holder(handle: IO[str]) -> str:
    try:
        handle.seek(0)
        info = json.loads(handle.read() or "{}")
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(info["since"])))
        return f" (process {int(info['pid'])} on {info['host']}, since {since})"
    except (ValueError, KeyError, TypeError, OSError):
        return ""


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(handle: IO[str]) -> bool:
        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(handle: IO[str]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(handle: IO[str]) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
