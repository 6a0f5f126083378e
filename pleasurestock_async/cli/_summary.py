"""What a push or a sync reports when it ends: a summary object, data first (its fields are the
keys ``--json`` prints, in order), and :func:`show`, the one renderer (JSON for programs, lines
for people). The entries both jobs list (invalid lines, a stop, the command that resumes) are
built and written here once."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from ..errors import InputErrorDetail
from ..sales_files import SalesFiles
from ..types.uploads import QuarantinedId
from ._common import Settings, dump, say
from ._files import where_text

__all__ = ["Summary", "invalid_items", "invalid_line", "quarantined_item", "show"]


@dataclasses.dataclass
class Summary:
    """A job's summary: subclasses declare their ``--json`` keys as fields and write
    :meth:`lines` from them alone, so both outputs always say the same."""

    RENAMED: ClassVar[dict[str, str]] = {}
    """Keys still written under an old name too (old -> new), until the next schema."""

    def as_json(self) -> dict[str, Any]:
        """The object ``--json`` prints: every field in order, then the old names."""
        found = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for old, new in self.RENAMED.items():
            found[old] = found[new]
        return found

    def lines(self) -> Iterator[str]:
        """The summary for people, line by line."""
        raise NotImplementedError


def show(settings: Settings, summary: Summary) -> None:
    """Print ``summary``: one line of JSON under ``--json``, else its lines."""
    if settings.json:
        say(settings.out, dump(summary.as_json()))
        return
    for line in summary.lines():
        say(settings.out, line)


def invalid_items(errors: Sequence[InputErrorDetail], source: SalesFiles) -> list[dict[str, Any]]:
    """The invalid records (one entry per bad field) and the unreadable lines of a run:
    ``at`` (``file:line``), ``field`` (None for a line), ``reason``, ``value``."""
    return [
        {"at": where_text(source, e.index), "field": e.field, "reason": e.message, "value": e.value}
        for e in errors
    ] + [
        {"at": f"{path}:{s.line}", "field": None, "reason": s.reason, "value": None}
        for path, s in source.skipped
    ]


def invalid_line(at: str, field: str | None, reason: str, value: object) -> str:
    """One invalid value or unreadable line, for people."""
    got = "" if value is None else f" (got {value!r})"
    return f"{at}: {field or 'line'}: {reason}{got}"


def quarantined_item(q: QuarantinedId) -> dict[str, Any]:
    """An id held in quarantine as ``--json`` shows it (in a sync's summary and a status)."""
    return {
        "internal_id": q.internal_id,
        "error": q.error,
        "since": q.since.isoformat(),
        "last_refused": q.last_refused.isoformat(),
        "retry_on": q.retry_on.isoformat(),
        "new": q.new,
    }
