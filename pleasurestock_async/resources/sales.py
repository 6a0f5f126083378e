"""``POST /sales``: one request, or a whole upload of any size."""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Mapping, Sequence
from os import PathLike
from typing import Any

from .._sales_codec import MAX_BATCH, encode_sales, validate_rows
from ..errors import InputError, InputErrorDetail
from ..types.sales import SaleRecord, SalesSubmitResult
from ..uploads import OnInvalid, ProgressCallback, SaleInput, SalesUploadResult, upload_sales
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

    async def upload(
        self,
        records: Iterable[SaleInput] | AsyncIterable[SaleInput],
        *,
        chunk_size: int = MAX_BATCH,
        concurrency: int = 4,
        on_invalid: OnInvalid = "raise",
        progress: ProgressCallback | None = None,
        journal: str | PathLike[str] | None = None,
        resend_unknown: bool = False,
        merge_duplicates: bool = False,
    ) -> SalesUploadResult:
        """Upload any number of records: validated as read, sent in batches of ``chunk_size``
        by ``concurrency`` tasks, memory bounded by about ``concurrency * chunk_size`` records.

        ``records`` is a list, iterable or async iterable of :class:`SaleRecord` or dicts.
        ``on_invalid="raise"`` stops before the batch holding an invalid record is sent and
        raises :class:`SalesUploadError` (with ``.result``); ``"skip"`` leaves it out and lists
        it in ``result.rejected``. ``progress`` is called as batches finish.

        ``journal`` names an SQLite file that makes reruns exactly-once: batches the server
        acknowledged are skipped, those never sent are sent, and those that may have arrived
        (a crash or timeout mid-request) are listed in ``unresolved_batches`` and resent only
        with ``resend_unknown=True``. Rerun with the same input in the same order.

        ``merge_duplicates`` combines rows of one product and day within a batch as the server
        would (quantity summed, stock_on_hand maximum): fewer records, same stored result; the
        server's per-record errors then point at the first merged row.
        """
        return await upload_sales(
            self,
            records,
            chunk_size=chunk_size,
            concurrency=concurrency,
            on_invalid=on_invalid,
            progress=progress,
            journal=journal,
            resend_unknown=resend_unknown,
            merge_duplicates=merge_duplicates,
        )
