"""The collection's one clock (TFSTATE_NOW), its one time parser and its text forms."""

import datetime

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils import clock
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks import lock_info
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration import runs as migration

UTC = datetime.timezone.utc
AT = datetime.datetime(2026, 12, 8, tzinfo=UTC)


def test_tfstate_now_replaces_the_clock_and_a_bad_one_is_named():
    assert clock.now({"TFSTATE_NOW": "2026-12-08T00:00:00Z"}) == AT
    assert clock.now({"TFSTATE_NOW": "2026-12-08T01:00:00+01:00"}) == AT
    assert clock.simulated({}) is None and clock.simulated({"TFSTATE_NOW": ""}) is None
    before = datetime.datetime.now(UTC)
    real = clock.now({})
    assert real.tzinfo is not None and before <= real <= datetime.datetime.now(UTC)
    with pytest.raises(ValueError, match="TFSTATE_NOW: '2026-12-08T00:00:00' has no time zone"):
        clock.now({"TFSTATE_NOW": "2026-12-08T00:00:00"})
    with pytest.raises(ValueError, match="TFSTATE_NOW: 'tomorrow' is not an ISO 8601 time"):
        clock.simulated({"TFSTATE_NOW": "tomorrow"})


def test_the_default_environment_is_the_process_environment(monkeypatch):
    monkeypatch.setenv("TFSTATE_NOW", "2026-12-08T00:00:00Z")
    assert clock.now() == AT
    monkeypatch.delenv("TFSTATE_NOW")
    assert clock.simulated() is None


def test_every_clock_of_the_collection_moves_with_tfstate_now(monkeypatch):
    monkeypatch.setenv("TFSTATE_NOW", "2026-12-08T00:00:00Z")
    # A run's start, the lock this collection writes, and a lock's age are read on the same clock.
    assert migration.run_identity(controller_pid=1)["started"] == "2026-12-08T00:00:00Z"
    lock = lock_info.new_lock("b/k", "OperationTypeMigrate")
    assert lock["Created"] == "2026-12-08T00:00:00.000000000Z"
    assert lock_info.lock_age_seconds(lock) == 0.0
    assert lock_info.lock_age_seconds({"Created": "2026-12-07T23:59:00.5Z"}) == 59.5


def test_terraforms_created_format_with_nanoseconds_and_offsets():
    created = datetime.datetime(2026, 11, 27, 10, 27, 34, 131593, tzinfo=UTC)
    assert clock.parse_time("2026-11-27T10:27:34.131593493Z") == created
    assert clock.parse_time("2026-01-01T12:00:00+02:00") == datetime.datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert clock.parse_time("2026-01-01T12:00:00.5-03:30") == datetime.datetime(2026, 1, 1, 15, 30, 0, 500000, tzinfo=UTC)
    # Terraform's Created as this collection writes it reads back to the microsecond.
    moment = datetime.datetime(2026, 11, 27, 10, 27, 34, 131593, tzinfo=UTC)
    assert clock.parse_time(lock_info.format_created(moment)) == moment


def test_utc_text_round_trips_and_is_the_one_text_form():
    moment = datetime.datetime(2026, 11, 29, 21, 0, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    text = clock.utc_text(moment)
    assert text == "2026-11-29T20:00:00Z"
    assert clock.parse_time(text) == moment and clock.parse_time(text).tzinfo == UTC
    assert clock.compact_text(moment) == "20261129T200000Z"
    # The run's start as fleet_report names its files.
    assert clock.compact_text(clock.parse_time("2026-11-29T20:05:36Z")) == "20261129T200536Z"


@pytest.mark.parametrize("text, expected", [
    ("2026-11-27T10:00:00Z", datetime.datetime(2026, 11, 27, 10, 0, tzinfo=UTC)),
    ("2026-11-27 10:00:00", datetime.datetime(2026, 11, 27, 10, 0, tzinfo=UTC)),
    ("2026-11-27T10:00", datetime.datetime(2026, 11, 27, 10, 0, tzinfo=UTC)),
    ("2026-11-27", datetime.datetime(2026, 11, 27, tzinfo=UTC)),
    (" 2026-11-27T12:00:00+0200 ", datetime.datetime(2026, 11, 27, 10, 0, tzinfo=UTC)),
])
def test_a_time_typed_as_an_option_without_zone_is_utc(text, expected):
    assert clock.parse_time(text, assume_utc=True) == expected


@pytest.mark.parametrize("text, message", [
    ("last tuesday", "'last tuesday' is not an ISO 8601 time such as 2026-12-01T00:00:00Z"),
    ("2026-13-01T00:00:00Z", "'2026-13-01T00:00:00Z' is not an ISO 8601 time such as 2026-12-01T00:00:00Z: month"),
    ("2026-12-01T00:00:00+25:00", "is not a time zone offset"),
    ("2026-12-01T00:00:00", "'2026-12-01T00:00:00' has no time zone (write it in UTC, e.g. 2026-12-01T00:00:00Z)"),
    ("", "'' is not an ISO 8601 time"),
    (None, "None is not an ISO 8601 time"),
    (1764547200, "1764547200 is not an ISO 8601 time"),
])
def test_text_that_is_not_a_time_is_refused_naming_it(text, message):
    with pytest.raises(ValueError) as caught:
        clock.parse_time(text)
    assert message in str(caught.value)


def test_a_value_read_back_that_is_not_a_time_is_none():
    assert clock.parse_time_or_none("2026-11-29T20:00:00Z") == datetime.datetime(2026, 11, 29, 20, tzinfo=UTC)
    assert clock.parse_time_or_none("2026-11-29T20:00:00") is None  # no zone: unreadable rather than guessed
    assert clock.parse_time_or_none("soon") is None
    assert clock.parse_time_or_none(None) is None and clock.parse_time_or_none("") is None


def test_durations():
    assert clock.parse_duration("7d") == 7 * 86400
    assert clock.parse_duration("36h") == 36 * 3600
    assert clock.parse_duration(" 90 m ") == 90 * 60
    assert clock.parse_duration("2w") == 14 * 86400
    assert clock.parse_duration(2) == 2 * 86400 and clock.parse_duration("1.5") == 1.5 * 86400
    for bad in ("a week", "7 days", "", True):
        with pytest.raises(ValueError, match="is not a duration"):
            clock.parse_duration(bad)
