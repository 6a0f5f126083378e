"""The tables of sync states in PostgreSQL, and how the SDK creates and migrates them.

Every state of a database lives in one PostgreSQL schema (``pleasurestock_sync`` unless the
URL names another), one row of ``states`` each, its rows keyed by ``state_id`` (deleting a
state's row deletes all of it). ``meta`` holds the schema's version. Opening a state creates
the schema when it does not exist, migrates an older one in one transaction (under an advisory
lock, so two workers starting at once migrate it once), and refuses a newer one without
touching it: a database an SDK of a later version has migrated is used only by SDKs that know
its version.

Upgrade path: stop the workers (or let their runs finish), upgrade the SDK everywhere, and the
first run migrates the schema; runs of an older SDK then stop with a clear error instead of
writing to tables they do not know.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "VERSION", "statements"]

_V1 = """
CREATE TABLE {s}.meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE {s}.states (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE,
    created_at double precision NOT NULL,
    destination_url text,
    destination_key text,
    destination_since double precision,
    runs integer NOT NULL DEFAULT 0,
    legacy_ids boolean NOT NULL DEFAULT false
);
CREATE TABLE {s}.days (
    state_id integer NOT NULL REFERENCES {s}.states ON DELETE CASCADE,
    day date NOT NULL,
    product text NOT NULL,
    quantity bigint NOT NULL,
    stock bigint,
    PRIMARY KEY (state_id, day, product)
);
CREATE TABLE {s}.pending (
    state_id integer NOT NULL REFERENCES {s}.states ON DELETE CASCADE,
    product text NOT NULL,
    day date NOT NULL,
    quantity bigint NOT NULL,
    stock bigint,
    state text NOT NULL CHECK (state IN ('planned', 'sending', 'unknown')),
    batch text NOT NULL,
    error text,
    updated_at double precision NOT NULL,
    PRIMARY KEY (state_id, product, day)
);
CREATE INDEX pending_batch ON {s}.pending (state_id, batch);
CREATE TABLE {s}.product_ids (
    state_id integer NOT NULL REFERENCES {s}.states ON DELETE CASCADE,
    uuid text NOT NULL,
    internal_id text NOT NULL,
    PRIMARY KEY (state_id, uuid)
);
CREATE TABLE {s}.quarantine (
    state_id integer NOT NULL REFERENCES {s}.states ON DELETE CASCADE,
    product text NOT NULL,
    error text NOT NULL,
    first_day date NOT NULL,
    last_day date NOT NULL,
    retry_on date NOT NULL,
    first_run integer NOT NULL,
    last_run integer NOT NULL,
    PRIMARY KEY (state_id, product)
);
CREATE TABLE {s}.discrepancies (
    state_id integer NOT NULL REFERENCES {s}.states ON DELETE CASCADE,
    day date NOT NULL,
    product text NOT NULL,
    kind text NOT NULL,
    export_quantity bigint NOT NULL,
    export_stock bigint,
    stored_quantity bigint,
    stored_stock bigint,
    first_index bigint NOT NULL,
    accepted_stored bigint,
    accepted_export bigint,
    last_run integer NOT NULL,
    PRIMARY KEY (state_id, day, product, kind)
);
CREATE TABLE {s}.runs (
    state_id integer NOT NULL REFERENCES {s}.states ON DELETE CASCADE,
    run integer NOT NULL,
    started double precision NOT NULL,
    finished double precision,
    today date NOT NULL,
    read bigint NOT NULL,
    sent bigint NOT NULL,
    stored bigint NOT NULL,
    outcome text NOT NULL,
    PRIMARY KEY (state_id, run)
);
INSERT INTO {s}.meta VALUES ('kind', 'pleasurestock-async sync states');
"""

MIGRATIONS: list[str] = [_V1]
"""The script that takes the schema from version ``n`` to ``n + 1`` is ``MIGRATIONS[n]``
(version 0: no schema). A later version appends its script; none is ever edited."""

VERSION = len(MIGRATIONS)
"""The schema version this SDK writes."""


def statements(script: str, schema: str) -> list[str]:
    """The statements of a migration script, for ``schema`` (a checked identifier)."""
    return [s.strip() for s in script.format(s=f'"{schema}"').split(";") if s.strip()]
