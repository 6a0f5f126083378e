"""Reading a page of 1000 products into models, against ``json.loads`` and orjson of the same
bytes (plain dicts, no types). The page comes from the sandbox with every optional part asked
for (category, TCC, TSP): money as strings and numbers, timestamps, images.

The SDK's figure is the pipeline's own reading: the key scrubbed out of the bytes, then
``ProductPage`` read from JSON (tolerant mode, the default; strict is the same call when the
page is valid). Run alone: ``python -m benchmarks.bench_parse``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import anyio
import httpx
import orjson

from pleasurestock_async._apikey import ApiKey
from pleasurestock_async._parse import read_model
from pleasurestock_async.sandbox import DEMO_API_KEY, Sandbox
from pleasurestock_async.types import ProductPage

from ._common import Row, interleaved, median, ratio_row


async def page_bytes(count: int = 1000) -> bytes:
    """A real ``GET /products`` answer of ``count`` products from the in-process sandbox."""
    sandbox = Sandbox(rate_limits=None, products=count)
    async with httpx.AsyncClient(transport=sandbox.transport()) as http:
        response = await http.get(
            "http://sandbox.localhost/api/v1/products",
            params={
                "limit": count,
                "includeCategory": "true",
                "includeTcc": "true",
                "includeTsp": "true",
            },
            headers={"X-API-Key": DEMO_API_KEY},
        )
    response.raise_for_status()
    return response.content


def _per_call(work: Callable[[], object], rounds: int) -> Callable[[], float]:
    def run() -> float:
        start = time.perf_counter()
        for _ in range(rounds):
            work()
        return (time.perf_counter() - start) / rounds

    return run


def run(quick: bool = False) -> list[Row]:
    content = anyio.run(page_bytes)
    key = ApiKey(DEMO_API_KEY)

    def sdk() -> ProductPage:
        body = key.scrub_bytes(content)
        return read_model(ProductPage, body, strict=False, what="bench", scrub=key.scrub)

    page = sdk()
    assert len(page.data) == 1000 and page.data[0].tsp_value is not None
    n = 7 if quick else 15
    rounds = 5
    times = interleaved(
        {
            "sdk": _per_call(sdk, rounds),
            "json": _per_call(lambda: json.loads(content), rounds),
            "orjson": _per_call(lambda: orjson.loads(content), rounds),
        },
        n,
    )
    sdk_t, json_t, orjson_t = (median(times[k]) for k in ("sdk", "json", "orjson"))
    what = f"parse a 1000-product page ({len(content) / 1e6:.2f} MB) into models"
    return [
        ratio_row(what, sdk_t, json_t, "json.loads", unit="ms", scale=1e3, limit=1.3, n=n),
        ratio_row(what, sdk_t, orjson_t, "orjson.loads", unit="ms", scale=1e3, limit=None, n=n),
    ]


if __name__ == "__main__":
    from ._common import print_table

    print_table(run())
