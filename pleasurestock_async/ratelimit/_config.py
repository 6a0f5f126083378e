"""The shape of rate limits: windows, the windows of each bucket, and status snapshots."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ..errors import ConfigurationError

__all__ = [
    "BUCKET_NAMES",
    "DEFAULT_RATE_LIMITS",
    "BucketName",
    "BucketStatus",
    "RateLimitConfig",
    "Window",
    "WindowStatus",
]

BucketName = Literal["standard", "external", "smart"]
"""A rate budget of one API key: the standard API, the external API, smart reordering."""

BUCKET_NAMES: tuple[BucketName, ...] = ("smart", "standard", "external")
"""Every bucket, in the order a request takes them (the scarcest first)."""


@dataclass(frozen=True, slots=True)
class Window:
    """At most ``limit`` requests in any ``seconds``-long window."""

    limit: int
    seconds: float

    def __post_init__(self) -> None:
        if (
            not isinstance(self.limit, int)
            or isinstance(self.limit, bool)
            or not isinstance(self.seconds, int | float)
            or isinstance(self.seconds, bool)
            or self.limit < 1
            or not math.isfinite(self.seconds)
            or self.seconds <= 0
        ):
            raise ConfigurationError(
                "a rate window needs an int limit >= 1 and a finite number of seconds > 0, "
                f"got {self.limit!r}/{self.seconds!r}s"
            )

    def __str__(self) -> str:
        return f"{self.limit} per {self.seconds:g} s"


def _vendor(per_hour: int, per_minute: int, per_second: int) -> tuple[Window, ...]:
    return (Window(per_hour, 3600.0), Window(per_minute, 60.0), Window(per_second, 1.0))


def _windows(name: str, value: object) -> tuple[Window, ...]:
    if not isinstance(value, tuple | list) or not all(isinstance(w, Window) for w in value):
        raise ConfigurationError(f"RateLimitConfig.{name} must be a tuple of Window")
    return tuple(value)


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """The windows of each bucket. Defaults are the vendor's published limits per API key."""

    standard: tuple[Window, ...] = field(default_factory=lambda: _vendor(1000, 100, 10))
    external: tuple[Window, ...] = field(default_factory=lambda: _vendor(5000, 200, 20))
    smart: tuple[Window, ...] = field(default_factory=lambda: _vendor(100, 10, 2))

    def __post_init__(self) -> None:
        for name in ("standard", "external", "smart"):
            object.__setattr__(self, name, _windows(name, getattr(self, name)))

    def windows(self) -> Mapping[BucketName, tuple[Window, ...]]:
        """The windows of every bucket, by bucket name."""
        return {"standard": self.standard, "external": self.external, "smart": self.smart}

    def scaled(self, share: float) -> RateLimitConfig:
        """These limits times ``share`` (rounded down): one worker's part when ``1 / share``
        workers split a key without a shared limiter. A part below one request per window
        becomes one request per proportionally longer window: the workers' average rate stays
        within the limit, though with more workers than a window's limit they can briefly
        exceed that window (no split can prevent it without talking to each other)."""
        if not 0 < share <= 1:
            raise ConfigurationError(f"share must be in (0, 1], got {share!r}")

        def part(ws: tuple[Window, ...]) -> tuple[Window, ...]:
            # Less than one request per window is one request per longer window: rounding
            # the count up to 1 would let the workers together exceed the limit.
            return tuple(
                Window(int(w.limit * share), w.seconds)
                if w.limit * share >= 1
                else Window(1, w.seconds / (w.limit * share))
                for w in ws
            )

        return RateLimitConfig(part(self.standard), part(self.external), part(self.smart))


DEFAULT_RATE_LIMITS = RateLimitConfig()
"""The vendor's published limits: standard 1000/h 100/min 10/s, external 5000/h 200/min 20/s,
smart reordering 100/h 10/min 2/s."""


@dataclass(frozen=True, slots=True)
class WindowStatus:
    """One window's use: requests counted in the last ``seconds``, and how many more fit."""

    limit: int
    seconds: float
    used: int
    remaining: int


@dataclass(frozen=True, slots=True)
class BucketStatus:
    """A bucket's windows (longest first), and how long it stays paused by a server 429."""

    name: BucketName
    windows: tuple[WindowStatus, ...]
    paused_for: float

    @property
    def paused(self) -> bool:
        """Whether a server 429 currently holds this bucket."""
        return self.paused_for > 0
