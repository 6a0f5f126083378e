"""One vocabulary for the two sales jobs: one error to catch, results whose shared fields mean
the same, one options object per job, and 0.2's names still working (with a warning) until
0.4."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from pleasurestock_async import SalesJobError, SalesSyncError, SalesUploadError
from pleasurestock_async.errors import InputError, InputErrorDetail
from pleasurestock_async.sandbox import Sandbox
from pleasurestock_async.types.uploads import (
    FailedBatch,
    SalesJobResult,
    SalesSyncResult,
    SalesUploadResult,
    ServerRecordError,
    SyncDay,
    UnresolvedBatch,
)
from pleasurestock_async.uploads import UploadOptions

BAD = InputErrorDetail(index=2, field="date", message="must be a date", value="x")
REFUSED = ServerRecordError(index=1, error="Product not found", expected=None, received="ps_x")


def test_one_error_catches_a_stopped_upload_and_a_stopped_sync() -> None:
    upload = SalesUploadError("stopped", reason="interrupted", result=SalesUploadResult(read=3))
    sync = SalesSyncError("stopped", reason="interrupted", result=SalesSyncResult(read=4))
    for error, read in ((upload, 3), (sync, 4)):
        with pytest.raises(SalesJobError) as caught:
            raise error
        assert caught.value.result.read == read
        assert isinstance(caught.value.result, SalesJobResult)


def test_the_fields_both_results_have_mean_the_same_with_the_same_types() -> None:
    shared = {f.name: f.type for f in dataclasses.fields(SalesJobResult)}
    for kind in (SalesUploadResult, SalesSyncResult):
        fields = {f.name: f.type for f in dataclasses.fields(kind)}
        assert {name: fields[name] for name in shared} == shared


def test_upload_result_old_names_warn_and_read_the_new_ones() -> None:
    result = SalesUploadResult(
        read=5, stored=2, invalid_records=1, input_errors=[BAD], refused=[REFUSED]
    )
    for old, new in (
        ("accepted", "stored"),
        ("invalid", "invalid_records"),
        ("rejected", "input_errors"),
        ("server_rejected", "refused"),
    ):
        with pytest.warns(DeprecationWarning, match=f"SalesUploadResult.{old} .* 0.4.*{new}"):
            assert getattr(result, old) == getattr(result, new)


def test_upload_result_takes_its_old_keywords_with_a_warning() -> None:
    with pytest.warns(DeprecationWarning, match="SalesUploadResult.accepted"):
        result = SalesUploadResult(read=2, accepted=2)  # type: ignore[call-arg]
    assert result.stored == 2 and result.ok
    with pytest.raises(TypeError, match="'accepted' and 'stored'"):
        SalesUploadResult(read=2, accepted=2, stored=2)  # type: ignore[call-arg]


def test_sync_result_old_names_warn_and_keep_their_old_shapes() -> None:
    day = SyncDay(
        internal_id="ps_x",
        date=dt.date(2025, 11, 1),
        export_quantity=1,
        export_stock=1,
        stored_quantity=None,
        stored_stock=None,
        index=1,
        batch=None,
    )
    result = SalesSyncResult(input_errors=[BAD], refused=[dataclasses.replace(REFUSED, day=day)])
    with pytest.warns(DeprecationWarning, match="SalesSyncResult.invalid .*input_errors"):
        assert result.invalid == [BAD]
    with pytest.warns(DeprecationWarning, match="SalesSyncResult.server_rejected .*refused"):
        (pair,) = result.server_rejected
    assert pair[0] == day and pair[1].received == "ps_x"


def test_batches_say_their_size_and_records_is_its_old_name() -> None:
    failed = FailedBatch(seq=0, first_index=0, last_index=9, size=10, outcome="unknown", error="e")
    held = UnresolvedBatch(
        job="j", seq=1, first_index=0, last_index=3, size=4, state="unknown", error=None
    )
    with pytest.warns(DeprecationWarning, match="FailedBatch.records .*FailedBatch.size"):
        assert failed.records == 10
    with pytest.warns(DeprecationWarning, match="UnresolvedBatch.records .*size"):
        assert held.records == 4


async def test_upload_takes_one_options_object_or_its_keywords_not_both(tmp_path: Path) -> None:
    sandbox = Sandbox(rate_limits=None, products=3)
    ids = [p.internal_id for p in sandbox.products]
    records = [{"internal_id": i, "date": "2025-11-01", "quantity": 1} for i in ids]
    journal = str(tmp_path / "sales.journal")
    settings = UploadOptions(chunk_size=2, journal=journal, job="day-1")
    async with sandbox.client() as ps:
        first = await ps.sales.upload(records, settings=settings)
        again = await ps.sales.upload(records, chunk_size=2, journal=journal, job="day-1")
        with pytest.raises(InputError, match="either settings or the separate keyword"):
            await ps.sales.upload(records, settings=settings, chunk_size=3)
    assert (first.stored, first.batches) == (3, 2)
    assert (again.stored, again.already_stored) == (0, 3)
