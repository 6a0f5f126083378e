"""``POST /sales``: one request, or a whole upload of any size."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._sales_codec import MAX_BATCH, encode_sales, validate_rows
from ..errors import InputError, InputErrorDetail
from ..types.sales import SaleRecord, SalesSubmitResult
from ..uploads import upload_sales
from ._base import Resource

__all__ = ["Sales"]


class Sales(Resource):
    """Sales history, the input of smart reordering."""

    async def submit(self, records: Sequence[SaleRecord | Mapping[str, Any]]) -> SalesSubmitResult:
        """Send at most 1000 records in one ``POST /sales``; every record is validated first.

        Not idempotent: the server adds the quantities of a product and day to what it has.
        Use :meth:`upload` for more records, concurrency and crash-safe resumption.
        """
        if len(records) > MAX_BATCH:
            raise InputError(
                "sales",
                [
                    InputErrorDetail(
                        None,
                        "records",
                        f"one request carries at most {MAX_BATCH} records; "
                        "use sales.upload() for more",
                        len(records),
                    )
                ],
            )
        rows, _, bad = validate_rows(records)
        if bad:
            raise InputError("sales", bad)
        if not rows:
            raise InputError("sales", [InputErrorDetail(None, "records", "is empty", [])])
        return await self._send_batch(encode_sales(rows))

    async def _send_batch(
        self, body: bytes, *, before_send: Callable[[], None] | None = None
    ) -> SalesSubmitResult:
        return await self._http.request(
            "POST", "/sales", SalesSubmitResult, body=body, before_send=before_send
        )

    upload = upload_sales
    """Upload any number of records; see :func:`pleasurestock_async.uploads.upload_sales`."""
