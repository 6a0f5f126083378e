"""Reading an answer's body with a bound on what it decodes to, whatever its encodings.

httpx decodes each chunk from the network whole before anyone can count it: a 64 KB chunk of
a gzip bomb is 64 MB in memory, and with stacked encodings (``Content-Encoding: gzip, gzip``)
each layer multiplies that again. Here every layer is inflated at most :data:`PIECE` bytes at
a time and the total is counted after each piece, so memory stays around the bound however the
body was built. Only the encodings the client asks for (``gzip``, ``deflate``, ``identity``)
are read; anything else is an unreadable answer.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Protocol

import httpx

__all__ = ["ACCEPT_ENCODING", "MAX_LAYERS", "PIECE", "BodyReader", "TooLargeError"]

ACCEPT_ENCODING = "gzip, deflate"
"""What the client asks servers for: the encodings :class:`BodyReader` decodes."""

PIECE = 64 * 1024
"""The most one layer inflates at a time."""

MAX_LAYERS = 3
"""Encodings one body may stack (servers use one; a long list only costs memory per layer)."""


class TooLargeError(Exception):
    """The decoded body is larger than the bound."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the answer is larger than max_response_bytes={limit:,}")


class _Layer(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]: ...

    def end(self) -> Iterator[bytes]: ...


class _Inflate:
    """gzip or deflate (zlib-wrapped, or raw as some servers send it), inflated in pieces."""

    __slots__ = ("_gzip", "_head", "_inflater")

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        # deflate: the first bytes, kept until zlib has seen its two-byte header
        self._head: bytes | None = None if gzip else b""
        self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        head = self._head
        if head is not None:
            head += data
            self._head = head if len(head) < 2 else None
        try:
            yield from self._pieces(data)
        except zlib.error as exc:
            if head is None:
                raise httpx.DecodingError(f"{self._name}: {exc}") from None
            # "deflate" without its zlib header (raw deflate): what browsers also accept
            self._head = None
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            try:
                yield from self._pieces(head)
            except zlib.error as again:
                raise httpx.DecodingError(f"{self._name}: {again}") from None

    def end(self) -> Iterator[bytes]:
        try:
            yield from self._pieces(b"")
        except zlib.error as exc:
            raise httpx.DecodingError(f"{self._name}: {exc}") from None

    @property
    def _name(self) -> str:
        return "gzip" if self._gzip else "deflate"

    def _pieces(self, data: bytes) -> Iterator[bytes]:
        inflater = self._inflater
        while True:
            piece = inflater.decompress(data, PIECE)
            if piece:
                yield piece
            data = inflater.unconsumed_tail
            # a full piece may leave output pending inside zlib even with no input left
            if not data and len(piece) < PIECE:
                return


class _Identity:
    __slots__ = ()

    def feed(self, data: bytes) -> Iterator[bytes]:
        for start in range(0, len(data), PIECE):
            yield data[start : start + PIECE]

    def end(self) -> Iterator[bytes]:
        return iter(())


def _layers(headers: httpx.Headers) -> list[_Layer]:
    """The decoders of ``Content-Encoding``, in the order they undo it (the last one applied
    first)."""
    names = [
        name.strip().lower()
        for value in headers.get_list("content-encoding")
        for name in value.split(",")
        if name.strip()
    ]
    names = [name for name in names if name != "identity"]
    if len(names) > MAX_LAYERS:
        raise httpx.DecodingError(
            f"the answer stacks {len(names)} content encodings (at most {MAX_LAYERS} are read)"
        )
    layers: list[_Layer] = []
    for name in reversed(names):
        if name in ("gzip", "x-gzip"):
            layers.append(_Inflate(gzip=True))
        elif name == "deflate":
            layers.append(_Inflate(gzip=False))
        else:
            shown = name if name.isprintable() and len(name) <= 40 else "(unreadable)"
            raise httpx.DecodingError(
                f"the answer's content encoding {shown!r} is not one the client asked for "
                f"({ACCEPT_ENCODING})"
            )
    return layers or [_Identity()]


class BodyReader:
    """Decodes a body fed chunk by chunk into at most ``limit`` bytes.

    :meth:`feed` raises :class:`TooLargeError` as soon as the decoded total passes ``limit``
    (having held at most ``limit`` plus one piece), and :class:`httpx.DecodingError` for a
    body its encodings cannot decode. :meth:`discard` drops what was read (a failed answer's
    bytes must not outlive the failure).
    """

    __slots__ = ("_chunks", "_layers", "_limit", "_size")

    def __init__(self, headers: httpx.Headers, limit: int) -> None:
        self._layers = _layers(headers)
        self._limit = limit
        self._chunks: list[bytes] = []
        self._size = 0

    def feed(self, data: bytes) -> None:
        """Decode one chunk of the body as it came from the network."""
        for piece in self._through(0, data):
            self._keep(piece)

    def finish(self) -> bytes:
        """The whole decoded body, once every chunk was fed."""
        for depth, layer in enumerate(self._layers):
            for piece in layer.end():
                for out in self._through(depth + 1, piece):
                    self._keep(out)
        content = b"".join(self._chunks)
        self._chunks = []
        return content

    def discard(self) -> None:
        """Forget what was decoded."""
        self._chunks = []
        self._size = 0

    def _through(self, depth: int, data: bytes) -> Iterator[bytes]:
        if depth == len(self._layers):
            yield data
            return
        for piece in self._layers[depth].feed(data):
            yield from self._through(depth + 1, piece)

    def _keep(self, piece: bytes) -> None:
        self._size += len(piece)
        if self._size > self._limit:
            self.discard()
            raise TooLargeError(self._limit)
        self._chunks.append(piece)
