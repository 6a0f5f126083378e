"""Opening the SQLite files of journals and sync states: one way, with one clear error."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from ..errors import InputError

__all__ = ["open_database"]


def open_database(
    path: str, what: str, schema: str, pragmas: Sequence[str] = ()
) -> sqlite3.Connection:
    """``path`` opened in autocommit mode with WAL, ``pragmas`` and ``schema`` applied. A file
    that is not such a database is an :class:`InputError` naming ``what``; the connection is
    never left open on a failure."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        # FULL: a mark written just before a request leaves survives a power loss too, so a
        # rerun never resends what may have been stored.
        for pragma in ("journal_mode=WAL", "synchronous=FULL", *pragmas):
            db.execute(f"PRAGMA {pragma}")
        db.executescript(schema)
    except sqlite3.DatabaseError as exc:
        db.close()
        raise InputError.single(what, f"{path} is not a {what} file ({exc})", path) from None
    except BaseException:
        db.close()
        raise
    return db
