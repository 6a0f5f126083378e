"""One run at a time per journal or state file, across processes: an OS lock on the file itself.

Two runs that both check "not yet sent" and then send double-count, so a second run on a file
in use waits (up to ``wait`` seconds) or refuses. The lock belongs to the file, not to a name:
the path is resolved (symbolic links followed), the file is opened and locked through that
descriptor (``flock`` on POSIX, independent of SQLite's own ``fcntl`` locks), and a file with a
second hard link is refused. The descriptor stays open from before SQLite opens the file until
after it closes it, because closing any descriptor of a file drops the process's POSIX locks
on it (SQLite's included). The lock is the kernel's: it is released when the process ends
however it ends (even by SIGKILL), so a crash never leaves a stale lock.
"""

from __future__ import annotations

import math
import os
import sys
import time
from types import TracebackType

import anyio

from ..errors import StateLockedError
from ._sqlite import STATE, FileKind, check_links, os_problem, same_file

__all__ = ["FileLock"]

_POLL = 0.1


class FileLock:
    """A lock on the file at ``path`` (which must exist; a file of ``kind``), held while the
    ``async with`` block runs: exclusive, or ``shared`` among readers. ``fd`` is its open
    descriptor."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        wait: float = 0.0,
        shared: bool = False,
        kind: FileKind = STATE,
    ) -> None:
        self.path = os.path.realpath(os.fspath(path))
        self.wait = wait
        self.shared = shared
        self.kind = kind
        self.fd: int | None = None

    async def __aenter__(self) -> FileLock:
        await self.acquire()
        return self

    async def acquire(self) -> int:
        """Open the file and lock it (waiting up to ``wait`` seconds); its descriptor (kept in
        :attr:`fd` until :meth:`release`)."""
        flags = (os.O_RDONLY if self.shared else os.O_RDWR) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(self.path, flags)
        except FileNotFoundError:
            raise self.kind.error(self.path, "does not exist") from None
        except OSError as exc:
            use = "reading" if self.shared else "writing"
            raise self.kind.error(
                self.path, f"cannot be opened for {use}: {os_problem(exc)}"
            ) from None
        try:
            info = os.fstat(fd)
            check_links(self.path, info, self.kind)
            deadline = time.monotonic() + self.wait
            while not _try_lock(fd, self.shared):
                if time.monotonic() >= deadline:
                    raise StateLockedError(
                        f"{self.path} is in use by another run{_holder(info)}: running both "
                        "could double-count sales. Wait for it to finish (or pass a longer "
                        "lock wait), or use another file."
                    )
                await anyio.sleep(_POLL)
            if not same_file(self.path, info):
                raise self.kind.error(
                    self.path, "was replaced by another file while this run waited for it"
                )
            check_links(self.path, os.fstat(fd), self.kind)  # a link made while it waited
        except BaseException:  # refused, or cancelled while waiting: nothing stays open
            os.close(fd)
            raise
        self.fd = fd
        return fd

    def release(self) -> None:
        """Unlock and close (once the database on it is closed)."""
        if self.fd is not None:
            fd, self.fd = self.fd, None
            try:
                _unlock(fd)
            finally:
                os.close(fd)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def check_wait(value: object, field: str = "lock_wait") -> float:
    """``value`` as seconds to wait for a lock: a finite number from 0."""
    from ..errors import InputError

    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError.single(field, "must be a number of seconds", value)
    if not math.isfinite(value) or value < 0:
        raise InputError.single(field, "must be a finite number of seconds from 0", value)
    return float(value)


def _holder(info: os.stat_result) -> str:
    """Which process holds the lock, from the kernel's table of locks (Linux only)."""
    try:
        with open("/proc/locks", encoding="ascii") as table:
            for line in table:
                fields = line.split()
                if (
                    len(fields) > 5
                    and fields[1] == "FLOCK"
                    and fields[5].rsplit(":", 1)[-1] == str(info.st_ino)
                ):
                    return f" (process {int(fields[4])})"
    except (OSError, ValueError):
        pass
    return ""


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    # A byte of SQLite's lock-byte page that SQLite itself never locks nor stores data in:
    # Windows locks are mandatory, so the lock must not cover anything SQLite reads.
    _LOCK_AT = 0x40000000 + 1024

    def _try_lock(fd: int, shared: bool) -> bool:
        try:
            os.lseek(fd, _LOCK_AT, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, _LOCK_AT, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int, shared: bool) -> bool:
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
