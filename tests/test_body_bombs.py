"""Issue 20, item 2: an answer is inflated with a bound on memory, whatever its encodings.

A stacked bomb (``Content-Encoding: gzip, gzip``) of a few kilobytes holds hundreds of
megabytes; the client refuses it past ``max_response_bytes`` having held about that much, no
more. Peak memory is measured in a child process, from outside: its ``VmHWM`` in
``/proc/<pid>/status``, read once it is done and before it exits (``ru_maxrss`` would carry
the test process's own size over from the fork).
"""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
import zlib
from pathlib import Path

import httpx
import pytest

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async.errors import APIResponseValidationError

from .conftest import BASE, KEY

ROOT = Path(__file__).parent.parent

PEAK_LIMIT_MB = 100
"""The issue's bound on peak memory while reading any encoded answer."""

BOMB_MB = 256
"""What the bombs inflate to: far past the default bound (32 MiB) and the peak limit."""


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _deflate(data: bytes) -> bytes:
    return zlib.compress(data)


def _zeros_gzip(megabytes: int) -> bytes:
    """gzip of ``megabytes`` MiB of zeros, built a MiB at a time (never all in memory)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1 << 20)
    return b"".join([packer.compress(block) for _ in range(megabytes)] + [packer.flush()])


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Bomb files: ``gzip`` (256 MiB of zeros, 250 KB) and ``gzip, gzip`` (2 KB)."""
    folder = tmp_path_factory.mktemp("bombs")
    single = _zeros_gzip(BOMB_MB)
    (folder / "gzip").write_bytes(single)
    (folder / "gzip, gzip").write_bytes(_gzip(single))
    return folder


CHILD = """
import sys
import anyio, httpx
from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async.errors import APIResponseValidationError

body = open(sys.argv[1], "rb").read()
encoding = sys.argv[2]

def answer(request):
    # one chunk holding the whole bomb: the worst case for a decoder without a bound
    return httpx.Response(200, stream=httpx.ByteStream(body),
                          headers={"Content-Encoding": encoding,
                                   "Content-Type": "application/json"})

async def main():
    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    async with AsyncPleasureStock("pk_test_bomb_key_0123456789", base_url=sys.argv[3],
                                  rate_limits=None, max_retries=0, http_client=http) as ps:
        try:
            await ps.products.get("ps_vj31ucxsab")
        except APIResponseValidationError as exc:
            print("refused:", exc)
    await http.aclose()

anyio.run(main)
print("done", flush=True)
sys.stdin.read()  # until the test has read this process's peak memory
"""


def _peak_of_child(bomb: Path, encoding: str) -> tuple[float, str]:
    """Run the client in a fresh process against ``bomb``: its peak RSS (MB) and output."""
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(bomb), encoding, BASE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    ) as child:
        assert child.stdin is not None and child.stdout is not None
        lines = []
        for raw in child.stdout:
            lines.append(raw.decode())
            if raw.startswith(b"done"):
                break
        status = Path(f"/proc/{child.pid}/status").read_text()
        child.stdin.close()
        lines.append(child.stdout.read().decode())
        assert child.wait(timeout=60) == 0, "".join(lines)
    peak = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    assert peak is not None, status
    return int(peak.group(1)) / 1024, "".join(lines)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak memory: /proc")
def test_2_a_stacked_bomb_is_refused_with_peak_memory_under_100_mb(bombs: Path) -> None:
    peak, output = _peak_of_child(bombs / "gzip, gzip", "gzip, gzip")
    assert "refused:" in output and "larger than max_response_bytes=33,554,432" in output
    assert peak < PEAK_LIMIT_MB, f"peak RSS {peak:.0f} MB reading a stacked bomb"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak memory: /proc")
@pytest.mark.parametrize("encoding", ["gzip", "x-gzip"])
def test_2_a_single_bomb_in_one_chunk_stays_under_100_mb(bombs: Path, encoding: str) -> None:
    peak, output = _peak_of_child(bombs / "gzip", encoding)
    assert "refused:" in output
    assert peak < PEAK_LIMIT_MB, f"peak RSS {peak:.0f} MB reading a {encoding} bomb"


# -- through the client ----------------------------------------------------------------------------


async def test_a_stacked_encoding_answer_is_read_and_parsed() -> None:
    payload = (
        b'{"success": true, "data": {"internal_id": "ps_vj31ucxsab", "sku": "SL2505044-XCM",'
        b' "price": "8.00", "currency": "USD"}}'
    )

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["Accept-Encoding"] == "gzip, deflate"
        return httpx.Response(
            200,
            stream=httpx.ByteStream(_gzip(_deflate(payload))),
            headers={"Content-Encoding": "deflate, gzip", "Content-Type": "application/json"},
        )

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limits=None, http_client=http) as ps:
        product = await ps.products.get("ps_vj31ucxsab")
    await http.aclose()
    assert product.internal_id == "ps_vj31ucxsab"


async def test_a_stacked_bomb_through_the_client_is_an_unreadable_answer() -> None:
    bomb = _gzip(_zeros_gzip(64))
    calls = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(
            200, stream=httpx.ByteStream(bomb), headers={"Content-Encoding": "gzip, gzip"}
        )

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    async with AsyncPleasureStock(
        KEY, base_url=BASE, rate_limits=None, http_client=http, max_response_bytes=1 << 20
    ) as ps:
        with pytest.raises(APIResponseValidationError, match="larger than max_response_bytes"):
            await ps.sales.submit([{"internal_id": "ps_vj31ucxsab", "date": "2025-11-03",
                                    "quantity": 1}])  # fmt: skip
    await http.aclose()
    assert calls == 1  # a POST whose 2xx could not be read is not resent
