"""One timestamp form for credentials: what is written is what every reader accepts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caiep.schemas.formats import is_date_time_stamp
from caiep.timestamps import XSD_DATETIME, format_timestamp, is_xsd_datetime
from caiep.verifier.dates import parse_datetime


def test_timestamps_are_utc_seconds_with_z() -> None:
    paris = timezone(timedelta(hours=1))
    assert (
        format_timestamp(datetime(2026, 11, 26, 10, 30, 5, 999_999, tzinfo=paris)) == "2026-11-26T09:30:05Z"
    )


def test_a_naive_time_names_no_instant() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_timestamp(datetime(2026, 11, 26, 9, 30))


@given(st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)))
def test_every_written_timestamp_is_read_back_by_schema_and_verifier(moment: datetime) -> None:
    text = format_timestamp(moment)
    assert is_xsd_datetime(text)
    assert is_date_time_stamp(text)
    assert parse_datetime(text, field="validFrom", required=True) == moment.replace(microsecond=0)


@pytest.mark.parametrize(
    "value",
    ["2026-11-26T09:30:00Z", "2026-11-26T09:30:00.25+14:00", "2026-11-26T09:30:00", "-0044-03-15T12:00:00Z"],
)
def test_xsd_datetimes(value: str) -> None:
    assert is_xsd_datetime(value)


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-26",
        "2026-11-26 09:30:00Z",
        "2026-11-26T09:30Z",
        "26-11-26T09:30:00Z",
        "٢٠٢٦-11-26T09:30:00Z",
        2026,
    ],
)
def test_not_xsd_datetimes(value: object) -> None:
    assert not is_xsd_datetime(value)


def test_the_groups_let_readers_narrow_the_form() -> None:
    match = XSD_DATETIME.fullmatch("2026-11-26T09:30:00-05:30")
    assert match is not None
    assert (match["year"], match["zone"], match["offset_hour"], match["offset_minute"]) == (
        "2026",
        "-05:30",
        "05",
        "30",
    )
    assert not is_date_time_stamp("2026-11-26T09:30:00")  # RFC 3339 wants the zone
    assert not is_date_time_stamp("12026-11-26T09:30:00Z")  # and four digits of year
