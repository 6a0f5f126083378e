"""Every public method raises the SDK's own errors, never an ``ExceptionGroup`` (issue 21,
point 1): each method of the client (found on the client, not listed by hand) and each raw
twin, under each kind of failure a server or network produces."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import httpx
import pytest

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async._tasks import first_failure, task_group
from pleasurestock_async.errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    InternalServerError,
    NotFoundError,
    PleasureStockError,
    RateLimitError,
    SalesSyncError,
    SalesUploadError,
    StateFileError,
)
from pleasurestock_async.sandbox import Sandbox
from pleasurestock_async.types import SalesSyncResult, SalesUploadResult

from .calls import CALLS, UUID, public_methods, raw_twin
from .conftest import BASE, KEY
from .sandbox_server import serve

Answer = Callable[[httpx.Request], httpx.Response]


def _status(code: int) -> Answer:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(code, json={"success": False, "error": "x", "message": "no"})

    return answer


def _unreadable(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=b"<html>not the API</html>")


def _refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused", request=request)


def _timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("no answer", request=request)


FAILURES: dict[str, tuple[Answer, type[PleasureStockError]]] = {
    "401": (_status(401), AuthenticationError),
    "404": (_status(404), NotFoundError),
    "429": (_status(429), RateLimitError),
    "500": (_status(500), InternalServerError),
    "unreadable": (_unreadable, APIResponseValidationError),
    "refused": (_refused, APIConnectionError),
    "timeout": (_timeout, APITimeoutError),
}

CLIENT = AsyncPleasureStock(KEY, base_url=BASE)
METHODS = [name for name, _, _ in public_methods(CLIENT)]
TWINS = [name for name in METHODS if raw_twin(CLIENT, name) is not None]

# A failed batch of an upload or a sync is recorded in its result (the run goes on), except a
# refused key, which stops the run: then the error carries the result.
STOPS = {"sales.upload": SalesUploadError, "sales.sync": SalesSyncError}
RESULTS = {"sales.upload": SalesUploadResult, "sales.sync": SalesSyncResult}
# The state methods send nothing: whatever the server would do, a state that does not exist
# (each test has a fresh directory) is their own error.
LOCAL = {"sales.state_status", "sales.rebind_state"}


CONCURRENT = {"products.get_many", "sales.upload", "sales.sync"}
"""The methods that run tasks side by side: on trio in the quick tier too."""


def _params(names: list[str]) -> list[object]:
    return [
        pytest.param(name, marks=pytest.mark.concurrency) if name in CONCURRENT else name
        for name in names
    ]


def test_the_table_covers_every_public_method() -> None:
    assert sorted(CALLS) == sorted(METHODS)
    assert len(METHODS) == 15 and "products.get_many" in METHODS


def _failing(answer: Answer, fails: Callable[[httpx.Request], bool]) -> httpx.AsyncClient:
    def handle(request: httpx.Request) -> httpx.Response:
        if fails(request):
            return answer(request)
        if request.url.params.get("ids"):  # get_many's batch query: nothing found
            page = {"page": 1, "limit": 2, "total": 0, "pages": 0}
            return httpx.Response(200, json={"success": True, "data": [], "pagination": page})
        raise AssertionError(f"unexpected request {request.method} {request.url}")

    return httpx.AsyncClient(transport=httpx.MockTransport(handle))


@pytest.fixture
def client_for() -> Callable[..., AsyncPleasureStock]:
    def make(answer: Answer, fails: Callable[[httpx.Request], bool]) -> AsyncPleasureStock:
        return AsyncPleasureStock(
            KEY,
            base_url=BASE,
            rate_limits=None,
            max_retries=0,
            max_rate_limit_wait=0,
            http_client=_failing(answer, fails),
        )

    return make


async def _outcome(call: Callable[[], Awaitable[object]]) -> object:
    try:
        return await call()
    except BaseException as exc:  # the kind of what escapes is the point of these tests
        return exc


def _expect(name: str, failure: str, outcome: object) -> None:
    _, expected = FAILURES[failure]
    assert not isinstance(outcome, BaseExceptionGroup), f"{name} leaked {outcome!r}"
    if name in LOCAL:
        assert type(outcome) is StateFileError, outcome
        return
    if name in STOPS:
        if failure == "401":
            assert isinstance(outcome, SalesUploadError | SalesSyncError)
            assert type(outcome) is STOPS[name] and outcome.reason == "authentication"
        else:  # the failed batch is in the result, which says the run is not ok
            assert isinstance(outcome, SalesUploadResult | SalesSyncResult)
            assert type(outcome) is RESULTS[name] and not outcome.ok, outcome
        return
    assert type(outcome) is expected, f"{name} under {failure}: {outcome!r}"


@pytest.mark.parametrize("failure", list(FAILURES))
@pytest.mark.parametrize("name", _params(METHODS))
async def test_every_method_raises_the_sdk_error_of_each_failure(
    client_for: Callable[..., AsyncPleasureStock], tmp_path: Path, name: str, failure: str
) -> None:
    answer, _ = FAILURES[failure]
    async with client_for(answer, lambda request: True) as ps:
        resource = getattr(ps, name.split(".")[0])
        outcome = await _outcome(lambda: CALLS[name](resource, tmp_path))
    _expect(name, failure, outcome)


@pytest.mark.parametrize("failure", list(FAILURES))
@pytest.mark.parametrize("name", _params(TWINS))
async def test_every_raw_twin_raises_the_sdk_error_of_each_failure(
    client_for: Callable[..., AsyncPleasureStock], tmp_path: Path, name: str, failure: str
) -> None:
    answer, _ = FAILURES[failure]
    async with client_for(answer, lambda request: True) as ps:
        twins = getattr(ps.with_raw_response, name.split(".")[0])
        outcome = await _outcome(lambda: CALLS[name](twins, tmp_path))
    _expect(name, failure, outcome)


@pytest.mark.concurrency
@pytest.mark.parametrize("failure", [f for f in FAILURES if f != "404"])
async def test_get_many_raises_a_failure_of_its_detail_fallback(
    client_for: Callable[..., AsyncPleasureStock], failure: str
) -> None:
    """The list answers (without the UUID's product); the detail request for the UUID fails:
    a 404 there means "missing", anything else is raised as itself."""
    answer, expected = FAILURES[failure]
    async with client_for(answer, lambda request: "ids" not in request.url.params) as ps:
        outcome = await _outcome(lambda: ps.products.get_many(["ps_1234567890", UUID]))
    assert type(outcome) is expected, outcome


@pytest.mark.concurrency
async def test_get_many_takes_a_404_of_its_detail_fallback_as_missing(
    client_for: Callable[..., AsyncPleasureStock],
) -> None:
    answer, _ = FAILURES["404"]
    async with client_for(answer, lambda request: "ids" not in request.url.params) as ps:
        batch = await ps.products.get_many(["ps_1234567890", UUID])
    assert batch.products == [] and batch.missing == ["ps_1234567890", UUID]


def test_get_many_with_a_wrong_key_over_http_raises_authentication_error() -> None:
    """The issue's reproduction: the HTTP sandbox, a key it does not know."""
    import anyio

    sandbox = Sandbox(rate_limits=None, products=20)

    async def main(base: str) -> object:
        async with AsyncPleasureStock("pk_not_a_key_of_this_sandbox", base_url=base) as ps:
            return await _outcome(
                lambda: ps.products.get_many(["ps_vj31ucxsab", UUID, "ps_w2as53xl1z"])
            )

    with serve(sandbox) as base:
        outcome = anyio.run(main, base)
    assert type(outcome) is AuthenticationError
    assert isinstance(outcome, APIStatusError) and outcome.status_code == 401


@pytest.mark.concurrency
async def test_a_task_group_raises_what_failed_not_a_group() -> None:
    async def fails(exc: BaseException) -> None:
        raise exc

    async def run() -> None:
        async with task_group() as tg:
            tg.start_soon(fails, _error(AuthenticationError, 401))
            tg.start_soon(anyio.sleep_forever)  # cancelled by the failure
            await anyio.sleep_forever()

    with pytest.raises(AuthenticationError) as raised:
        await run()
    assert not hasattr(raised.value, "__notes__")  # cancellations are not failures


async def test_an_interrupt_wins_over_errors_and_nesting_is_flattened() -> None:
    inner = BaseExceptionGroup("inner", [KeyboardInterrupt(), ValueError("x")])
    group = BaseExceptionGroup("outer", [RuntimeError("y"), inner])
    first = first_failure(group)
    assert type(first) is KeyboardInterrupt
    assert first.__notes__ == ["2 concurrent task(s) failed too: RuntimeError, ValueError"]


def _error(cls: type[APIStatusError], status: int) -> APIStatusError:
    """An SDK error as the pipeline makes it for an answer of ``status``."""
    request = httpx.Request("GET", BASE + "/products")
    response = httpx.Response(status, json={"error": "x"}, request=request)
    return cls("failed", response=response, body={"error": "x"})
