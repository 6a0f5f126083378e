"""The SQLite files of sync states and push journals: found, created and opened one way.

A file is used only if the SDK made it as that kind of file, whole. Each kind carries its own
``PRAGMA application_id`` and a schema version (``PRAGMA user_version``); opening one checks
kind, version, tables and columns, and runs ``PRAGMA quick_check`` (about 75 ms for a million
acknowledged days), so a damaged, foreign or newer file is refused before anything is sent and
left as it was. Files of 0.2 carry neither mark: they are recognised by their tables.

A new file is created only where no file exists, atomically: built whole under a temporary name
in the same directory, then hard-linked into place (``os.link`` fails if a file appeared
meanwhile). A file is opened by its real path (symbolic links resolved), because SQLite names
its write-ahead log after the path it was given; a file with a second hard link is refused for
the same reason (a second name could miss what the first committed before a crash).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from ..errors import InputError, StateFileError
from ._rows import STATE_TABLES

__all__ = [
    "JOURNAL",
    "STATE",
    "FileKind",
    "Found",
    "check_links",
    "connect",
    "create",
    "exists",
    "inspect",
    "leftovers",
    "os_problem",
    "resolve",
    "same_file",
    "tidy",
]

_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True, slots=True)
class FileKind:
    """One kind of SDK file: its name in messages, its mark and its current schema."""

    what: str
    field: str
    """The argument that names such a file (``state``, ``journal``)."""
    application_id: int
    version: int
    tables: Mapping[str, tuple[str, ...]]
    """Every table of the current schema and its columns, in order."""

    def error(self, path: str, problem: str) -> StateFileError:
        """The error refusing ``path`` as a file of this kind."""
        return StateFileError(path, problem, what=self.what, field=self.field)


STATE = FileKind(
    "sync state",
    "state",
    0x50537374,  # "PSst"
    3,
    {"meta": ("key", "value"), **STATE_TABLES},
)
JOURNAL = FileKind(
    "journal",
    "journal",
    0x50536A72,  # "PSjr"
    2,
    {
        "meta": ("key", "value"),
        "ranges": ("job", "seq", "first_index", "marks", "digest", "error", "updated_at"),
    },
)
_KINDS = (STATE, JOURNAL)


def resolve(value: object, kind: FileKind) -> str:
    """The real path (symbolic links resolved) of the file ``value`` names; refuses what cannot
    name a file there: not a str or path, empty, a directory, or in a missing directory."""
    if isinstance(value, bytes) or not isinstance(value, str | os.PathLike):
        raise InputError.single(kind.field, "must be a file path (str or os.PathLike)", value)
    text = os.fspath(value)
    if not isinstance(text, str):
        raise InputError.single(kind.field, "must be a file path (str or os.PathLike)", value)
    if not text.strip():
        raise kind.error(repr(text), "is not a file name (an empty value: is a variable unset?)")
    path = os.path.realpath(text)
    if os.path.isdir(path):
        raise kind.error(path, "is a directory, not a file")
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        raise kind.error(path, f"its directory {parent} does not exist")
    return path


def os_problem(exc: OSError) -> str:
    """An OS error as a short reason (``read-only file system``, ``permission denied``)."""
    return (exc.strerror or str(exc)).lower()


def check_links(path: str, info: os.stat_result, kind: FileKind) -> None:
    """Refuse a file that is not a regular file, or that has more than one hard link."""
    if not stat.S_ISREG(info.st_mode):
        raise kind.error(path, "is not a regular file")
    if info.st_nlink > 1:
        raise kind.error(
            path,
            f"has {info.st_nlink} names (hard links). SQLite keeps its write-ahead log next to "
            "the name it was opened by, so a run through another name could miss what this "
            "one committed before a crash. Keep one name (remove the other links), or copy "
            "the file",
        )


def create(path: str, kind: FileKind, build: Callable[[sqlite3.Connection], None]) -> bool:
    """Create a file of ``kind`` at ``path`` if none exists: built whole by ``build`` under a
    temporary name in the same directory, then linked into place. False when a file appeared
    there meanwhile (it is left alone; the caller opens and checks it)."""
    directory, name = os.path.split(path)
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".new", dir=directory)
    except OSError as exc:
        raise kind.error(path, f"cannot be created in {directory}: {os_problem(exc)}") from None
    os.close(fd)
    try:
        db = sqlite3.connect(temporary, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("BEGIN IMMEDIATE")
            build(db)
            db.execute(f"PRAGMA application_id={kind.application_id}")
            db.execute(f"PRAGMA user_version={kind.version}")
            db.execute("COMMIT")
        finally:
            db.close()  # the last connection: its log is checkpointed into the file, and removed
        _fsync(temporary)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        _fsync(directory)
        return True
    except (OSError, sqlite3.Error) as exc:
        problem = os_problem(exc) if isinstance(exc, OSError) else str(exc)
        raise kind.error(path, f"cannot be created: {problem}") from None
    finally:
        for leftover in (temporary, f"{temporary}-wal", f"{temporary}-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(leftover)


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some systems cannot sync a directory: the data itself is synced
        pass
    finally:
        os.close(fd)


def connect(path: str, kind: FileKind, *, read_only: bool) -> sqlite3.Connection:
    """An SQLite connection to an existing file that starts with the SQLite header (an empty
    or foreign file is refused before SQLite touches it)."""
    try:
        with open(path, "rb") as f:
            check_links(path, os.fstat(f.fileno()), kind)
            head = f.read(len(_MAGIC))
    except OSError as exc:
        raise kind.error(path, f"cannot be read: {os_problem(exc)}") from None
    if not head:
        raise kind.error(
            path,
            f"is empty (0 bytes): not a {kind.what}; a new one is only created where no file "
            "exists (remove this one if it is yours)",
        )
    if head != _MAGIC:
        raise kind.error(path, f"is not a {kind.what} file (not an SQLite database)")
    if read_only:
        uri = f"file:{quote(path)}?mode=ro"
        return sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    return sqlite3.connect(path, isolation_level=None, check_same_thread=False)


@dataclass(frozen=True, slots=True)
class Found:
    """What an opened file turned out to be: the expected kind at its current version, or
    a file of 0.2 (``legacy``) to upgrade."""

    legacy: bool
    version: int


def inspect(
    db: sqlite3.Connection,
    path: str,
    kind: FileKind,
    legacy_tables: Mapping[str, Sequence[str]],
    *,
    check: Literal["quick", "none"] = "quick",
) -> Found:
    """Check that ``db`` is a whole file of ``kind``: its mark, its version, its tables and
    their columns; then its pages (``PRAGMA quick_check``). A file without a mark is accepted
    as ``legacy`` when it holds exactly the tables of 0.2 (``legacy_tables``) with their
    columns and meta version 2. Anything else is a :class:`StateFileError`."""
    what = kind.what
    fail = kind.error
    try:
        (app,) = db.execute("PRAGMA application_id").fetchone()
        (version,) = db.execute("PRAGMA user_version").fetchone()
        names = [
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        tables = {n: tuple(r[1] for r in db.execute(f'PRAGMA table_info("{n}")')) for n in names}
        legacy = False
        if app == kind.application_id:
            if version > kind.version:
                raise fail(
                    path,
                    f"was written by a newer pleasurestock-async (schema {version}; this one "
                    f"reads up to {kind.version}): upgrade the SDK",
                )
            _check_tables(path, kind, tables, kind.tables)
        elif app == 0 and version == 0:
            other = _other_kind(kind, tables)
            if other is not None:
                raise fail(path, other)
            if not tables:
                raise fail(path, f"is an empty SQLite database, not a {what}")
            _check_tables(path, kind, tables, legacy_tables)
            found = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
            if found is None or found[0] != "2":
                shown = "none" if found is None else repr(found[0])
                raise fail(path, f"is a {what} of an unknown version (meta version {shown})")
            legacy = True
        else:
            known = next((k.what for k in _KINDS if k.application_id == app), None)
            raise fail(
                path,
                f"is a {known}, not a {what}"
                if known
                else f"is another program's SQLite database (application_id {app:#x}), "
                f"not a {what}",
            )
        if check == "quick":
            problems = [r[0] for r in db.execute("PRAGMA quick_check(5)")]
            if problems != ["ok"]:
                raise fail(path, f"is damaged: {'; '.join(problems)} (nothing was changed)")
    except sqlite3.DatabaseError as exc:
        raise fail(path, f"cannot be read as a {what}: {exc}") from None
    return Found(legacy, kind.version if not legacy else 2)


def _other_kind(kind: FileKind, tables: Mapping[str, Sequence[str]]) -> str | None:
    """What is wrong with an unmarked file of 0.1 or 0.2 that is not of ``kind``."""
    if kind is STATE and ("ranges" in tables or "batches" in tables):
        return "is a journal (of sales push), not a sync state"
    if kind is JOURNAL and "days" in tables and "pending" in tables:
        return "is a sync state, not a journal"
    if kind is JOURNAL and "batches" in tables and "ranges" not in tables:
        return (
            "is a journal of pleasurestock-async 0.1; finish or resolve its job with 0.1, or "
            "start a new journal file"
        )
    return None


def _check_tables(
    path: str,
    kind: FileKind,
    found: Mapping[str, Sequence[str]],
    expected: Mapping[str, Sequence[str]],
) -> None:
    for name, columns in expected.items():
        have = found.get(name)
        if have is None:
            raise kind.error(path, f"is not a whole {kind.what}: its table {name!r} is missing")
        if tuple(have) != tuple(columns):
            raise kind.error(
                path,
                f"is not a whole {kind.what}: its table {name!r} has the columns "
                f"{', '.join(have)}, not {', '.join(columns)}",
            )


def exists(path: str) -> bool:
    """Whether anything is at ``path`` (a dangling link counts)."""
    return os.path.lexists(path)


def same_file(path: str, info: os.stat_result) -> bool:
    """Whether ``path`` is still the file ``info`` describes."""
    try:
        now = os.stat(path)
    except OSError:
        return False
    return (now.st_dev, now.st_ino) == (info.st_dev, info.st_ino)


def leftovers(path: str) -> list[Path]:
    """The write-ahead log and shared-memory files next to ``path`` that exist now."""
    return [Path(f"{path}{s}") for s in ("-wal", "-shm") if os.path.exists(f"{path}{s}")]


def tidy(path: str, before: Sequence[Path]) -> None:
    """Remove the log files a read-only connection created next to ``path`` (it cannot remove
    them itself), when nothing was logged in them. Called under the file's lock."""
    wal = Path(f"{path}-wal")
    if wal in before or not wal.exists() or wal.stat().st_size:
        return
    for leftover in (wal, Path(f"{path}-shm")):
        if leftover not in before:
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
