"""Listings: ``await`` a listing for one page, ``async for`` over it for every item.

Every page has ``data`` (the items) and ``pagination`` (the server's numbers), and knows its
own way on: :meth:`AsyncPage.has_next_page` and :meth:`AsyncPage.get_next_page`. Products page
by number (:class:`PageNumberPage`), orders by limit and offset (:class:`OffsetPage`).

A walk never runs away: it stops after the last page or at an empty one, raises
:class:`~pleasurestock_async.errors.PaginationError` when a page does not advance (the server
repeats itself), and stops at the number of pages the first answer announced plus a margin.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .errors import PaginationError

if TYPE_CHECKING:
    from .types.orders import OffsetPagination
    from .types.products import PagePagination

__all__ = ["AsyncPage", "AsyncPaginator", "OffsetPage", "PageNumberPage"]

T = TypeVar("T")
PageT = TypeVar("PageT", bound="AsyncPage[Any]")
Params = dict[str, Any]
Fetch = Callable[[Params], Awaitable[PageT]]

_MARGIN = 0.1
"""A walk may take this share more pages than the first answer announced (plus 2), for a
listing that grows while it is walked."""


class AsyncPage(ABC, Generic[T]):
    """One page of a listing: ``data`` and the way to the next page."""

    data: list[T]

    def __init__(self, data: list[T], params: Params, fetch: Fetch[Any]) -> None:
        self.data = data
        self._params = params
        self._fetch = fetch

    @abstractmethod
    def next_page_params(self) -> Params | None:
        """The query of the next page, or None on the last page."""

    @abstractmethod
    def pages_announced(self) -> int:
        """How many pages the listing had, as this page tells it."""

    @abstractmethod
    def _position(self) -> int:
        """Where the server says this page starts (page number or offset)."""

    @abstractmethod
    def _asked_position(self) -> int:
        """Where the request asked this page to start."""

    def has_next_page(self) -> bool:
        """Whether another page follows (this one is not empty and not the last)."""
        return bool(self.data) and self.next_page_params() is not None

    async def get_next_page(self: PageT) -> PageT:
        """Fetch the next page. Raises :class:`PaginationError` on the last page or when the
        server does not advance."""
        params = self.next_page_params()
        if not self.data or params is None:
            raise PaginationError("this is the last page: check has_next_page() first")
        page: PageT = await self._fetch(params)
        page._check_advanced(self)
        return page

    def _check_advanced(self, previous: AsyncPage[T]) -> None:
        if self._position() != self._asked_position() or (
            self.data
            and len(self.data) == len(previous.data)
            and self.data[0] == previous.data[0]
            and self.data[-1] == previous.data[-1]
        ):
            raise PaginationError(
                f"the server repeated a page (asked to start at {self._asked_position()}, it "
                f"answered from {self._position()} with the same items): stopping here"
            )

    async def iter_pages(self: PageT) -> AsyncIterator[PageT]:
        """This page and every page after it."""
        page = self
        cap = self.pages_announced() + 2 + int(self.pages_announced() * _MARGIN)
        walked = 1
        yield page
        while page.has_next_page():
            walked += 1
            if walked > cap:
                raise PaginationError(
                    f"the listing went on past {cap} pages although its first page announced "
                    f"{self.pages_announced()}: stopping here"
                )
            page = await page.get_next_page()
            yield page

    async def __aiter__(self) -> AsyncIterator[T]:
        """Every item of this page and of every page after it."""
        async for page in self.iter_pages():
            for item in page.data:
                yield item

    def __repr__(self) -> str:
        return f"<{type(self).__name__} items={len(self.data)} pagination={self._pagination()!r}>"

    @abstractmethod
    def _pagination(self) -> object: ...


class PageNumberPage(AsyncPage[T]):
    """A page of a listing numbered from 1 (``pagination``: page, limit, total, pages)."""

    def __init__(
        self, data: list[T], pagination: PagePagination, params: Params, fetch: Fetch[Any]
    ) -> None:
        super().__init__(data, params, fetch)
        self.pagination = pagination

    def next_page_params(self) -> Params | None:
        # The latest page's own numbers decide, so a catalogue that grows or shrinks mid-walk
        # ends the walk where the server now says it ends.
        if self.pagination.page >= self.pagination.pages:
            return None
        return {**self._params, "page": self.pagination.page + 1}

    def pages_announced(self) -> int:
        return self.pagination.pages

    def _position(self) -> int:
        return self.pagination.page

    def _asked_position(self) -> int:
        return int(self._params.get("page", 1))

    def _pagination(self) -> object:
        return self.pagination


class OffsetPage(AsyncPage[T]):
    """A page of a listing by limit and offset (``pagination``: total, limit, offset)."""

    def __init__(
        self, data: list[T], pagination: OffsetPagination, params: Params, fetch: Fetch[Any]
    ) -> None:
        super().__init__(data, params, fetch)
        self.pagination = pagination

    def next_page_params(self) -> Params | None:
        offset = self.pagination.offset + len(self.data)
        return None if offset >= self.pagination.total else {**self._params, "offset": offset}

    def pages_announced(self) -> int:
        limit = max(1, self.pagination.limit)
        return -(-self.pagination.total // limit)

    def _position(self) -> int:
        return self.pagination.offset

    def _asked_position(self) -> int:
        return int(self._params.get("offset", 0))

    def _pagination(self) -> object:
        return self.pagination


class AsyncPaginator(Generic[PageT, T]):
    """A lazily fetched listing.

    ``await listing`` fetches the one page its arguments name. ``async for item in listing``
    walks every item of every page, and ``async for page in listing.pages()`` every page;
    walking asks for the largest page size the API allows unless the caller chose one.
    Nothing is fetched until one of these is used.
    """

    def __init__(
        self,
        fetch: Fetch[PageT],
        params: Mapping[str, Any],
        *,
        walk_defaults: Mapping[str, Any] | None = None,
    ) -> None:
        self._fetch = fetch
        self._params = dict(params)
        self._walk_params = {**(walk_defaults or {}), **self._params}

    def __await__(self) -> Generator[Any, None, PageT]:
        return self._fetch(dict(self._params)).__await__()

    async def pages(self) -> AsyncIterator[PageT]:
        """Every page in order, from the first (or the one asked for)."""
        first = await self._fetch(dict(self._walk_params))
        async for page in first.iter_pages():
            yield page

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.data:
                yield item
