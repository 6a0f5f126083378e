"""Where a sync state is: a file path (SQLite), or a ``postgresql://`` URL naming a state in a
PostgreSQL database.

A URL is libpq's (``postgresql://user:password@host:port/database?sslmode=...``) plus two
parameters of the SDK, taken out before connecting: ``state`` (the state's name in that
database, default ``default``; one per API key or job) and ``schema`` (the PostgreSQL schema
holding the states' tables, default ``pleasurestock_sync``). The password is never shown: every
name the SDK prints, logs or raises with is the URL with it replaced (:func:`state_label`);
prefer ``PGPASSWORD`` or a ``.pgpass`` file to a password in the URL.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from .._apikey import REDACTED
from ..errors import InputError

__all__ = [
    "DEFAULT_SCHEMA",
    "DEFAULT_STATE",
    "PostgresLocation",
    "is_database_url",
    "parse_database_url",
    "scrub_urls",
    "state_label",
]

DEFAULT_STATE = "default"
DEFAULT_SCHEMA = "pleasurestock_sync"
_SCHEMES = ("postgresql://", "postgres://")
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_MAX_NAME = 200
# the password of any URL's user information (up to the host's "@": a PostgreSQL URL, a
# --redis-url), and libpq's password= parameter
_USERINFO = re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^:/@\s]*):[^/\s]*@")
_PASSWORD_PARAM = re.compile(r"(?i)([?&]password=)[^&\s]*")


def is_database_url(value: object) -> bool:
    """Whether ``value`` names a state in PostgreSQL (a ``postgresql://`` URL)."""
    return isinstance(value, str) and value.strip().lower().startswith(_SCHEMES)


def scrub_urls(text: str) -> str:
    """``text`` with the password of every URL in it replaced (``scheme://user:pw@host``,
    and a ``password=`` parameter)."""
    text = _USERINFO.sub(rf"\1:{REDACTED}@", text)
    return _PASSWORD_PARAM.sub(rf"\1{REDACTED}", text)


def state_label(value: object) -> str:
    """How a state is named in messages: a path as given, a URL without its password."""
    if isinstance(value, PostgresLocation):
        return value.label
    if isinstance(value, str | os.PathLike):
        text = os.fspath(value)
        return scrub_urls(text) if isinstance(text, str) else repr(text)
    return repr(value)


@dataclass(frozen=True, slots=True)
class PostgresLocation:
    """A state in a PostgreSQL database, parsed from its URL. ``dsn`` (what the driver
    connects with) holds the password and is never shown; ``label`` is the URL without it."""

    dsn: str = field(repr=False)
    label: str
    state: str
    schema: str
    password: str | None = field(default=None, repr=False)

    def scrub(self, text: str) -> str:
        """``text`` (a driver's message, say) with this URL's password replaced."""
        text = scrub_urls(text)
        if self.password:
            for form in {self.password, quote(self.password, safe="")}:
                text = text.replace(form, REDACTED)
        return text

    def __str__(self) -> str:
        return self.label


def parse_database_url(value: str) -> PostgresLocation:
    """Parse a state URL; a malformed one is an :class:`InputError` (never showing the
    password)."""
    text = value.strip()
    label = scrub_urls(text)

    def refuse(problem: str) -> InputError:
        return InputError.single("state", problem, label)

    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (a bad port raises here)
    except ValueError:
        raise refuse("is not a valid PostgreSQL URL") from None
    if parts.fragment:
        raise refuse("a PostgreSQL URL has no #fragment")
    query = parse_qsl(parts.query, keep_blank_values=True)
    state, schema = DEFAULT_STATE, DEFAULT_SCHEMA
    kept: list[tuple[str, str]] = []
    seen: set[str] = set()
    password = unquote(parts.password) if parts.password else None
    for key, item in query:
        if key in ("state", "schema"):
            if key in seen:
                raise refuse(f"names {key}= twice")
            seen.add(key)
            if key == "state":
                state = item
            else:
                schema = item
            continue
        if key == "password":
            password = item
        kept.append((key, item))
    if not state.strip() or len(state) > _MAX_NAME or not state.isprintable():
        raise refuse(
            f"state= must name the state: 1 to {_MAX_NAME} printable characters "
            "(one name per API key or job)"
        )
    if not _SCHEMA_NAME.fullmatch(schema):
        raise refuse(
            "schema= must be a lower-case PostgreSQL identifier (letters, digits, _; at most "
            "63 characters)"
        )
    dsn = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), ""))
    return PostgresLocation(dsn, label, state, schema, password)
