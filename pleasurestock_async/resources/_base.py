"""What every resource shares: the client's request pipeline."""

from __future__ import annotations

from .._http import HTTPPipeline

__all__ = ["Resource"]


class Resource:
    """A group of endpoints. Thin: validates the arguments, names the endpoint, and leaves
    the rest to the pipeline."""

    def __init__(self, http: HTTPPipeline) -> None:
        self._http = http
