"""``AsyncPaginator``: ``await`` it for one page, ``async for`` over it for every item."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping, Sequence
from typing import Any, Generic, TypeVar

__all__ = ["AsyncPaginator"]

PageT = TypeVar("PageT")
ItemT = TypeVar("ItemT")

Params = dict[str, Any]


class AsyncPaginator(Generic[PageT, ItemT]):
    """A lazily fetched listing.

    ``await paginator`` fetches the one page its arguments name. ``async for item in paginator``
    walks every item of every page, and ``async for page in paginator.pages()`` every page;
    walking asks for the largest page size the API allows unless the caller chose one.
    Nothing is fetched until one of these is used.
    """

    def __init__(
        self,
        fetch: Callable[[Params], Awaitable[PageT]],
        params: Mapping[str, Any],
        *,
        items: Callable[[PageT], Sequence[ItemT]],
        next_params: Callable[[PageT, Params], Params | None],
        walk_defaults: Mapping[str, Any] | None = None,
    ) -> None:
        self._fetch = fetch
        self._params = dict(params)
        self._items = items
        self._next_params = next_params
        self._walk_params = {**(walk_defaults or {}), **self._params}

    def __await__(self) -> Generator[Any, None, PageT]:
        return self._fetch(dict(self._params)).__await__()

    async def pages(self) -> AsyncIterator[PageT]:
        """Every page in order, stopping after the last (or at the first empty) page."""
        params: Params | None = dict(self._walk_params)
        while params is not None:
            page = await self._fetch(params)
            yield page
            if not self._items(page):
                return
            params = self._next_params(page, params)

    async def __aiter__(self) -> AsyncIterator[ItemT]:
        async for page in self.pages():
            for item in self._items(page):
                yield item
