"""Progress of a push or a sync: a bar on a terminal (80 columns), plain lines otherwise, and
what the run is waiting for when a rate limit holds it (never a frozen bar)."""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import anyio
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from rich.text import Text

from ..ratelimit import BucketStatus, RateLimiter, RateLimitWait, Window, WindowStatus
from ..types.sales import MAX_BATCH
from ..types.uploads import SyncProgress, UploadProgress
from ._limits import describe_limits

__all__ = ["Reporter", "duration", "send_time", "time_needed"]

POLL = 0.25
"""Seconds between looks at the rate limiter while a run is going."""


def duration(seconds: float) -> str:
    """``2 h 5 min``, ``40 s``: a span as people read it."""
    if seconds < 1:
        return "under a second"
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min"]
    return " ".join(p for p in parts if p and p != "0 min") or "1 min"


def send_time(requests: int, windows: tuple[WindowStatus, ...]) -> float:
    """Seconds ``requests`` take at the windows' limits from their current use (each window
    admits its remaining slots now, then ``limit`` more per length)."""
    worst = 0.0
    for w in windows:
        if requests > w.remaining:
            worst = max(worst, math.ceil((requests - w.remaining) / w.limit) * w.seconds)
    return worst


def time_needed(requests: int, status: BucketStatus | None, rows: int | None = None) -> str:
    """One sentence: how many requests a job needs and how long that takes at the limits."""
    what = f"{requests:,} request{'s' if requests != 1 else ''}"
    if rows is not None:
        what += f" for {rows:,} rows"
    if status is None or not status.windows:
        return f"this job needs {what} (no client-side rate limits)"
    windows = tuple(Window(w.limit, w.seconds) for w in status.windows)
    seconds = send_time(requests, status.windows) + status.paused_for
    return f"this job needs {what}; at {describe_limits(windows)} that takes " + (
        "no waiting for the rate limits" if seconds == 0 else f"about {duration(seconds)}"
    )


def _busiest(status: Mapping[Any, BucketStatus], requests: int) -> BucketStatus | None:
    """Of the buckets with requests counted, the one ``requests`` more would take longest in
    (the bucket a run spends; None when no window counts anything)."""
    used = [b for b in status.values() if any(w.used for w in b.windows)]
    if not used:
        return None
    return max(used, key=lambda b: send_time(requests, b.windows) + b.paused_for)


class Reporter:
    """Counts of a push or a sync for people: call it with each progress snapshot.

    A sync's bar follows what the server acknowledged: rows stored (or settled otherwise)
    against the rows to send, counted before the first request, with the time left from the
    rate-limit plan. Without a terminal (a log file), a line is written at every tenth of the
    way and at least every ``every`` seconds, and :meth:`finish` always writes the last one.
    """

    def __init__(
        self,
        console: Console,
        *,
        total: int | None = None,
        every: float = 60.0,
        label: str = "sales",
        extra_invalid: int = 0,
    ) -> None:
        self.console = console
        self.total = total
        self.every = every
        self.label = label
        self.extra_invalid = extra_invalid
        self.waiting = ""
        self.left = ""  # time left at the rate limits, while a sync sends
        self._started = time.monotonic()
        self._last = -math.inf
        self._step: tuple[str, int] | None = None
        self._said_wait = ""
        self._snapshot: UploadProgress | SyncProgress | None = None
        self._progress: Progress | None = None
        self._task: Any = None
        self._waits: dict[str, RateLimitWait] = {}  # the last wait announced, by bucket
        self._status: Mapping[Any, BucketStatus] = {}  # the limiter's, last seen

    # -- running ---------------------------------------------------------------------------------

    @asynccontextmanager
    async def running(self, limiter: RateLimiter | None = None) -> AsyncIterator[Reporter]:
        """Show progress while the block runs; watch ``limiter`` for waits."""
        stop_listening = limiter.on_wait(self._waited) if limiter is not None else None
        try:
            if self.console.is_terminal:
                self._progress = Progress(
                    TextColumn(self.label, markup=False),
                    BarColumn(bar_width=20),
                    TaskProgressColumn(),
                    TextColumn("{task.fields[status]}", markup=False),
                    console=self.console,
                    expand=False,
                    transient=False,
                )
                self._task = self._progress.add_task("run", total=self.total, status="starting")
                self._progress.start()
            failure: Exception | None = None
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._watch, limiter)
                try:
                    yield self
                except Exception as exc:  # re-raised below, not wrapped in an exception group
                    failure = exc
                finally:
                    tg.cancel_scope.cancel()
            if failure is not None:
                raise failure
        finally:
            if stop_listening is not None:
                stop_listening()
            if self._progress is not None:
                self._progress.stop()
                self._progress = None

    async def _watch(self, limiter: RateLimiter | None) -> None:
        while True:
            await anyio.sleep(POLL)
            status: Mapping[Any, BucketStatus] = {}
            if limiter is not None:
                try:
                    status = await limiter.status()
                except Exception:  # a status the limiter cannot give stops nothing
                    status = {}
                self._status = status
                self.waiting = self._wait_text(status)
            self.left = self._left_text(status)
            self._show()

    def _waited(self, event: RateLimitWait) -> None:
        """A request waits for a slot: shown now, not at the next look at the limiter."""
        self._waits[event.bucket] = event
        self.waiting = self._wait_text(self._status)
        self._show()

    def _wait_text(self, status: Mapping[Any, BucketStatus]) -> str:
        """What holds the run up now, in any bucket: a server's pause, a wait the limiter
        announced, or a full window."""
        now = time.time()
        paused = [b for b in status.values() if b.paused_for > 0]
        if paused:
            b = max(paused, key=lambda b: b.paused_for)
            return f"{b.name}: server asked to wait until {_clock(now + b.paused_for)}"
        waits = [e for e in self._waits.values() if e.until > now]
        if waits:
            e = max(waits, key=lambda e: e.until)
            return f"{e.bucket} rate limit: waiting until {_clock(e.until)}"
        full = [(b, w) for b in status.values() for w in b.windows if w.remaining == 0]
        if full:
            b, w = max(full, key=lambda bw: bw[1].seconds)
            until = _clock(now + w.seconds)
            return f"{b.name}: {w.limit} per {w.seconds:g} s used, until {until} at most"
        return ""

    def _left_text(self, status: Mapping[Any, BucketStatus]) -> str:
        """About how long the rest of a sync takes: the requests left at the rate limits of
        the bucket it spends (or, without limits, at the pace so far)."""
        p = self._snapshot
        if not isinstance(p, SyncProgress) or p.phase != "sending" or not p.to_send:
            return ""
        rows = max(p.to_send - p.stored - p.failed, 0)
        if not rows:
            return ""
        requests = math.ceil(rows / MAX_BATCH)
        bucket = _busiest(status, requests)
        if bucket is not None:
            seconds = send_time(requests, bucket.windows) + bucket.paused_for
        else:
            done = p.stored + p.failed
            elapsed = time.monotonic() - self._started
            if not done:
                return ""
            seconds = elapsed * rows / done
        return f"about {duration(seconds)} left"

    # -- the snapshots ---------------------------------------------------------------------------

    def __call__(self, snapshot: UploadProgress | SyncProgress) -> None:
        self._snapshot = snapshot
        self._show()

    def say(self, text: str) -> None:
        """A step message on its own line (above the bar, never glued to it)."""
        target = self._progress.console if self._progress is not None else self.console
        target.print(Text(text), soft_wrap=True)

    def finish(self, done: int) -> None:
        """The run ended (``done`` records read). A push's bar ends at the records read; a
        sync's at what the server acknowledged of what was to send (below 100% if it stopped
        early). Without a terminal, the last line is always written."""
        p = self._snapshot
        if isinstance(p, SyncProgress) and p.phase == "sending":
            completed, total = p.stored + p.failed, max(p.to_send, 1)
        elif isinstance(p, SyncProgress):
            completed = total = max(done, 1)
        else:
            completed = total = max(done, 1)
        self.left = ""
        if self._progress is not None:
            self._progress.update(self._task, total=total, completed=completed)
            self._progress.update(self._task, status=self._counts())
            self._progress.refresh()
            return
        self._line(completed, total, final=True)

    def _counts(self) -> str:
        p = self._snapshot
        if p is None:
            return "starting"
        invalid = p.invalid + self.extra_invalid
        if isinstance(p, SyncProgress):
            if p.phase == "reading":
                return f"read {p.read:,} invalid {invalid:,}"
            text = f"stored {p.stored:,}/{p.to_send:,} failed {p.failed:,}"
            return f"{text}, {self.left}" if self.left else text
        return f"ok {p.accepted:,} failed {p.failed:,} invalid {invalid:,}"

    def _done(self) -> tuple[int, int | None]:
        p = self._snapshot
        if p is None:
            return 0, self.total
        if isinstance(p, SyncProgress) and p.phase == "sending":
            return p.stored + p.failed, max(p.to_send, 1)
        return p.read, self.total

    def _show(self) -> None:
        completed, total = self._done()
        status = self.waiting or self._counts()
        if self._progress is not None:
            self._progress.update(self._task, completed=completed, total=total, status=status)
            return
        if self.waiting and self.waiting != self._said_wait:
            self._said_wait = self.waiting
            self.console.print(Text(f"{self.label}: {self.waiting}"), soft_wrap=True)
        phase = self._snapshot.phase if isinstance(self._snapshot, SyncProgress) else "sending"
        tenth = int(completed * 10 / total) if total else -1
        step = (phase, tenth)
        if step == self._step and time.monotonic() - self._last < self.every:
            return
        self._step = step
        self._line(completed, total)

    def _line(self, completed: int, total: int | None, *, final: bool = False) -> None:
        """One plain line: how far, of what, what is counted (for a log file)."""
        self._last = time.monotonic()
        p = self._snapshot
        what = "records"
        if isinstance(p, SyncProgress):
            what = "rows sent and answered" if p.phase == "sending" else "records read"
        of = f" of {total:,}" if total else ""
        share = f" ({completed / total:.0%})" if total else ""
        head = f"{self.label}: done: " if final else f"{self.label}: "
        self.console.print(
            Text(f"{head}{completed:,}{of} {what}{share}; {self._counts()}"), soft_wrap=True
        )


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).strftime("%H:%M:%S")
