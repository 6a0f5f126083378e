"""The body reader: every stack of encodings reads back, in any chunks, within its bound."""

from __future__ import annotations

import gzip
import zlib

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pleasurestock_async._body import MAX_LAYERS, PIECE, BodyReader, TooLargeError


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _deflate(data: bytes) -> bytes:
    return zlib.compress(data)


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


ENCODERS = {"gzip": _gzip, "deflate": _deflate}


def _encode(data: bytes, names: list[str]) -> bytes:
    for name in names:
        data = ENCODERS[name](data)
    return data


def _read(body: bytes, header: str | None, limit: int, chunk: int) -> bytes:
    reader = BodyReader(httpx.Headers({"Content-Encoding": header} if header else {}), limit)
    for start in range(0, len(body), chunk):
        reader.feed(body[start : start + chunk])
    return reader.finish()


@given(
    data=st.binary(max_size=3000) | st.builds(lambda n: b"ab" * n, st.integers(0, 200_000)),
    names=st.lists(st.sampled_from(sorted(ENCODERS)), max_size=MAX_LAYERS),
    chunk=st.integers(1, 70_000),
)
def test_every_stack_of_encodings_reads_back_whatever_the_chunks(
    data: bytes, names: list[str], chunk: int
) -> None:
    body = _encode(data, names)
    assert _read(body, ", ".join(names) or None, len(data) + 1, chunk) == data


@pytest.mark.parametrize("chunk", [1, 2, 3, 1000])
def test_deflate_without_its_zlib_header_is_read_too(chunk: int) -> None:
    data = b"raw deflate, as some servers send it " * 100
    assert _read(_raw_deflate(data), "deflate", 10**6, chunk) == data


def test_the_bound_is_exact_and_nothing_is_kept_past_it() -> None:
    data = bytes(range(256)) * 4096  # 1 MiB
    body = _gzip(data)
    assert _read(body, "gzip", len(data), 512) == data
    reader = BodyReader(httpx.Headers({"Content-Encoding": "gzip"}), len(data) - 1)
    with pytest.raises(TooLargeError, match="max_response_bytes=1,048,575"):
        reader.feed(body)
    assert reader.finish() == b""  # what it decoded was dropped


def test_one_layer_never_inflates_more_than_a_piece_at_once() -> None:
    class Counting(BodyReader):
        biggest = 0

        def _keep(self, piece: bytes) -> None:
            Counting.biggest = max(Counting.biggest, len(piece))
            super()._keep(piece)

    body = _gzip(_gzip(bytes(8 << 20)))  # one chunk of 9 KB holding 8 MiB
    reader = Counting(httpx.Headers({"Content-Encoding": "gzip, gzip"}), 16 << 20)
    reader.feed(body)
    assert len(reader.finish()) == 8 << 20
    assert Counting.biggest == PIECE


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("br", "'br' is not one the client asked for"),
        ("gzip, zstd", "'zstd' is not one the client asked for"),
        (", ".join(["gzip"] * (MAX_LAYERS + 1)), "stacks 4 content encodings"),
    ],
)
def test_encodings_the_client_did_not_ask_for_are_refused(header: str, message: str) -> None:
    with pytest.raises(httpx.DecodingError, match=message):
        BodyReader(httpx.Headers({"Content-Encoding": header}), 100)


def test_identity_is_no_layer() -> None:
    assert _read(b"plain", "identity", 10, 2) == b"plain"
    assert _read(_gzip(b"x"), "identity, gzip", 10, 2) == b"x"
