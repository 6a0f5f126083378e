"""A temporary file that keeps the rows of failed batches off the heap.

A million failed rows would otherwise stay in memory for the result's lifetime; here each
failed batch's body is appended once and read back only if asked for.
"""

from __future__ import annotations

import json
import tempfile
import threading
import weakref
from collections.abc import Callable
from typing import IO

from ..types.sales import SaleRow

__all__ = ["Spill"]


class Spill:
    """Append-only storage of request bodies; deleted when the last reader is gone."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._size = 0
        self._lock = threading.Lock()

    def keep(self, body: bytes) -> Callable[[], list[SaleRow]]:
        """Store one ``POST /sales`` body; returns a function that reads its rows back."""
        with self._lock:
            if self._file is None:
                self._file = tempfile.TemporaryFile(prefix="pleasurestock-failed-")  # noqa: SIM115
                # closed (and so deleted) once no result refers to this spill any more
                weakref.finalize(self, self._file.close)
            handle = self._file
            offset = self._size
            size = len(body)
            handle.seek(offset)
            handle.write(body)
            self._size += size

        # The reader keeps the body's place, never the body (that would keep every failed
        # batch's rows in memory after all).
        def load() -> list[SaleRow]:
            with self._lock:
                handle.seek(offset)
                data = handle.read(size)
            rows: list[SaleRow] = json.loads(data)["sales"]
            return rows

        return load
