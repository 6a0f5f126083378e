"""``--limits``: a plan's rate limits in one line, e.g. ``standard=1000/h,100/m,10/s``."""

from __future__ import annotations

import re

import click

from ..errors import ConfigurationError
from ..ratelimit import BUCKET_NAMES, DEFAULT_RATE_LIMITS, RateLimitConfig, Window

__all__ = ["LIMITS_ENV", "LIMITS_HELP", "describe_limits", "parse_limits"]

LIMITS_ENV = "PLEASURESTOCK_LIMITS"
LIMITS_HELP = (
    "Your plan's rate limits: BUCKET=N/UNIT,... per bucket (standard, external, smart), "
    "buckets split by ';', UNIT s, m, h or d, optionally with a count (100/30s); unnamed "
    "buckets keep the published limits. Example: 'standard=2000/h,200/m,20/s'. Default: "
    f"${LIMITS_ENV}, else the published limits."
)

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_WINDOW = re.compile(r"^\s*(\d+)\s*/\s*(\d*(?:\.\d+)?)\s*([smhd])\s*$")


def _window(text: str, bucket: str) -> Window:
    found = _WINDOW.match(text)
    if not found:
        raise click.BadParameter(
            f"{bucket}: {text.strip()!r} is not a window; write N/UNIT, e.g. 100/m or 20/10s",
            param_hint="--limits",
        )
    limit, count, unit = found.groups()
    try:
        return Window(int(limit), float(count or 1) * _UNITS[unit])
    except ConfigurationError as exc:
        raise click.BadParameter(f"{bucket}: {exc}", param_hint="--limits") from None


def parse_limits(text: str) -> RateLimitConfig:
    """The configuration ``text`` describes (see :data:`LIMITS_HELP`)."""
    chosen: dict[str, tuple[Window, ...]] = dict(DEFAULT_RATE_LIMITS.windows().items())
    seen: set[str] = set()
    for part in filter(str.strip, text.split(";")):
        name, sep, windows = part.partition("=")
        name = name.strip().lower()
        if not sep or name not in BUCKET_NAMES:
            raise click.BadParameter(
                f"{part.strip()!r}: expected BUCKET=N/UNIT,... with BUCKET one of "
                f"{', '.join(sorted(BUCKET_NAMES))}",
                param_hint="--limits",
            )
        if name in seen:
            raise click.BadParameter(f"{name} is given twice", param_hint="--limits")
        seen.add(name)
        parsed = [_window(w, name) for w in windows.split(",") if w.strip()]
        if not parsed:
            raise click.BadParameter(f"{name}: no window given", param_hint="--limits")
        if len({w.seconds for w in parsed}) != len(parsed):
            raise click.BadParameter(f"{name}: two windows of one length", param_hint="--limits")
        chosen[name] = tuple(sorted(parsed, key=lambda w: -w.seconds))
    if not seen:
        raise click.BadParameter("no bucket given", param_hint="--limits")
    return RateLimitConfig(chosen["standard"], chosen["external"], chosen["smart"])


def describe_limits(windows: tuple[Window, ...]) -> str:
    """``1000/h, 100/m, 10/s``: the windows of one bucket, as written in ``--limits``."""
    names = {1.0: "s", 60.0: "m", 3600.0: "h", 86400.0: "d"}
    return ", ".join(
        f"{w.limit}/{names[w.seconds]}" if w.seconds in names else f"{w.limit}/{w.seconds:g}s"
        for w in windows
    )
