"""Slurm duration and timestamp strings.

Duration goldens are Slurm's own unit test (testsuite/slurm_unit/common/parse_time-test.c).
Timestamp goldens were produced on the real Slurm 22.05 here at 2026-11-28T15:44:36 (local time) with
`sbatch --test-only --begin=TEXT --wrap=true`, which prints "Job N to start at <time>".
Where that start time was clamped to "now" (a begin time in the past), the expected value below is the
parsed time itself.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conf.timefmt import (
    TimeFormatError,
    format_duration,
    format_duration_compact,
    format_timestamp,
    parse_duration,
    parse_minutes,
    parse_timestamp,
)

DAY = 86400

DURATIONS = [
    ("-1", None),
    ("INFINITE", None),
    ("infinite", None),
    ("UNLIMITED", None),
    ("unlimited", None),
    ("Unlimited", None),
    ("0", 0),
    ("60", 3600),
    ("60:15", 3615),
    ("60:0", 3600),
    ("1:60:15", 3600 + 3600 + 15),
    ("2:60:15", 2 * 3600 + 3600 + 15),
    ("0:0:15", 15),
    ("0:60:0", 3600),
    ("0:0:0", 0),
    ("0-1:60:15", 3600 + 3600 + 15),
    ("1-1:60:15", DAY + 3600 + 3600 + 15),
    ("365-1:60:15", 365 * DAY + 3600 + 3600 + 15),
    ("365-0:0:0", 365 * DAY),
    ("2-12", 2 * DAY + 12 * 3600),
    ("2-12:30", 2 * DAY + 12 * 3600 + 30 * 60),
    ("01:00:00", 3600),
]

INVALID_DURATIONS = [
    "",
    "INVALID TIME",
    "LONG " + "-" * 200 + " INVALID TIME",
    "60:",
    "60:-10",
    "-60:10",
    "-0:-0:-0",
    " 0:0:0 ",
    "1:2:3:4",
    "1-",
    "-2",
    "1h",
    "1.5",
    "٣",
]


@pytest.mark.parametrize(("text", "seconds"), DURATIONS)
def test_parse_duration_matches_slurm_unit_test(text: str, seconds: int | None) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", INVALID_DURATIONS)
def test_invalid_durations_raise(text: str) -> None:
    with pytest.raises(TimeFormatError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("0", 0), ("0:1", 1), ("0:59", 1), ("1:00", 1), ("1:01", 2), ("1-0", 1440), ("UNLIMITED", None)],
)
def test_parse_minutes_rounds_seconds_up(text: str, minutes: int | None) -> None:
    assert parse_minutes(text) == minutes


@pytest.mark.parametrize(
    ("seconds", "long_form", "compact"),
    [
        (0, "00:00:00", "0:00"),
        (5, "00:00:05", "0:05"),
        (300, "00:05:00", "5:00"),
        (3723, "01:02:03", "1:02:03"),
        (DAY, "1-00:00:00", "1-00:00:00"),
        (DAY + 3723, "1-01:02:03", "1-01:02:03"),
        (None, "UNLIMITED", "UNLIMITED"),
    ],
)
def test_format_duration(seconds: int | None, long_form: str, compact: str) -> None:
    assert format_duration(seconds) == long_form
    assert format_duration_compact(seconds) == compact


def test_format_timestamp() -> None:
    assert format_timestamp(dt.datetime(2025, 1, 1, 10, 0, 0).timestamp()) == "2025-01-01T10:00:00"
    assert format_timestamp(0) == "Unknown"
    assert format_timestamp(None) == "Unknown"


@given(st.one_of(st.none(), st.integers(min_value=0, max_value=10**9)))
def test_format_then_parse_round_trips(seconds: int | None) -> None:
    assert parse_duration(format_duration(seconds)) == seconds
    assert parse_duration(format_duration_compact(seconds)) == seconds


@given(st.text(max_size=30))
def test_arbitrary_text_raises_only_time_format_error(text: str) -> None:
    try:
        result = parse_duration(text)
    except TimeFormatError:
        return
    assert result is None or result >= 0


@given(st.text(alphabet="0123456789:-", max_size=14))
def test_duration_grammar_never_crashes(text: str) -> None:
    try:
        parse_duration(text)
    except TimeFormatError:
        pass


# --- timestamps (sbatch --begin) -------------------------------------------------------------

NOW = dt.datetime(2026, 11, 28, 15, 44, 36)

TIMESTAMPS = [
    ("16:00", "2026-11-28T16:00:00"),
    ("16:00:00", "2026-11-28T16:00:00"),
    ("23:59:59", "2026-11-28T23:59:59"),
    ("15:00", "2026-11-29T15:00:00"),
    ("1:05", "2026-11-29T01:05:00"),
    ("00:00", "2026-11-29T00:00:00"),
    (" 16:00", "2026-11-28T16:00:00"),
    ("4:30pm", "2026-11-28T16:30:00"),
    ("04:30:15PM", "2026-11-28T16:30:15"),
    ("12:00am", "2026-11-29T00:00:00"),
    ("12:00pm", "2026-11-29T12:00:00"),
    ("0:00am", "2026-11-29T00:00:00"),
    ("12:00 pm", "2026-11-29T12:00:00"),
    ("3:00:00 AM", "2026-11-29T03:00:00"),
    ("noon", "2026-11-29T12:00:00"),
    ("Noon", "2026-11-29T12:00:00"),
    ("midnight", "2026-11-29T00:00:00"),
    ("teatime", "2026-11-28T16:00:00"),
    ("fika", "2026-11-29T15:00:00"),
    ("elevenses", "2026-11-29T11:00:00"),  # newer Slurm; 22.05 lacks it
    ("today", "2026-11-28T15:44:36"),
    ("tomorrow", "2026-11-29T00:00:00"),
    ("now", "2026-11-28T15:44:36"),
    ("now+1", "2026-11-28T15:44:37"),
    ("now+60", "2026-11-28T15:45:36"),
    ("now+1hour", "2026-11-28T16:44:36"),
    ("NOW+1HOUR", "2026-11-28T16:44:36"),
    ("now+1hours", "2026-11-28T16:44:36"),
    ("now+2minutes", "2026-11-28T15:46:36"),
    ("now+1minute", "2026-11-28T15:45:36"),
    ("now+1day", "2026-11-29T15:44:36"),
    ("now+1week", "2026-12-05T15:44:36"),
    ("now+3weeks", "2026-12-19T15:44:36"),
    ("now + 1 hour", "2026-11-28T16:44:36"),
    ("now+1 hour", "2026-11-28T16:44:36"),
    ("now +1hour", "2026-11-28T16:44:36"),
    ("now-1hour", "2026-11-28T14:44:36"),  # sbatch shows the clamped "now"
    ("2030-01-20T12:34:00", "2030-01-20T12:34:00"),
    ("2030-01-20T12:34", "2030-01-20T12:34:00"),
    ("2030-01-20", "2030-01-20T00:00:00"),
    ("2030-01-20 12:34", "2030-01-20T12:34:00"),
    ("2020-01-01", "2020-01-01T00:00:00"),  # sbatch shows the clamped "now"
    ("2030-02-30", "2030-03-02T00:00:00"),
    ("1225", "2026-12-25T00:00:00"),
    ("122530", "2030-12-25T00:00:00"),
    ("010130", "2030-01-01T00:00:00"),
    ("0101", "2027-01-01T00:00:00"),
    ("1128", "2027-11-28T00:00:00"),
    ("1127", "2027-11-27T00:00:00"),
    ("1128 16:00", "2026-11-28T16:00:00"),
    ("12/25", "2026-12-25T00:00:00"),
    ("1/2", "2027-01-02T00:00:00"),
    ("02/30", "2027-03-02T00:00:00"),
    ("12/25/30", "2030-12-25T00:00:00"),
    ("11/28/26", "2026-11-28T00:00:00"),  # sbatch shows the clamped "now"
    ("12.25", "2026-12-25T00:00:00"),
    ("12.25.30", "2030-12-25T00:00:00"),
    ("12/25 16:00", "2026-12-25T16:00:00"),
    ("16:00 12/25", "2026-12-25T16:00:00"),
    ("1225 noon", "2026-12-25T12:00:00"),
    ("noon 1225", "2026-12-25T12:00:00"),
    ("16:00 tomorrow", "2026-11-29T16:00:00"),
    ("tomorrow 16:00", "2026-11-29T16:00:00"),
    ("noon tomorrow", "2026-11-29T12:00:00"),
    ("today 16:00", "2026-11-28T16:00:00"),
    ("15:00 today", "2026-11-28T15:00:00"),  # sbatch shows the clamped "now"
]

# every one of these is "Invalid --begin specification" in sbatch 22.05
INVALID_TIMESTAMPS = [
    "4pm", "now+2min", "now+1h", "now+1s", "now+1m", "now+1d", "now+1w", "now+1sec", "garbage",
    "25:00", "12:61", "1301", "2030-13-01", "2030-01-20T25:00", "1:5", "13:00pm", "2030-1-2",
    "2030-01-20T12:34:00Z", "tomorrow+1hour", "now+1hour+1hour", "12-25", "noon+1hour", "now+",
    "now+x", "20300120", "1/2/3", "01/02/2030", "16:00:60", "2030-01-20T12", "", "   ",
    "noon midnight", "1225 1226",
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), TIMESTAMPS)
def test_parse_timestamp_matches_sbatch_begin(text: str, expected: str) -> None:
    parsed = parse_timestamp(text, NOW.timestamp())
    assert dt.datetime.fromtimestamp(parsed).isoformat() == expected


@pytest.mark.parametrize("text", INVALID_TIMESTAMPS)
def test_invalid_timestamps_raise(text: str) -> None:
    with pytest.raises(TimeFormatError):
        parse_timestamp(text, NOW.timestamp())


def test_leap_day_without_year_moves_to_a_real_date() -> None:
    now = dt.datetime(2028, 3, 1, 12, 0, 0).timestamp()
    assert dt.datetime.fromtimestamp(parse_timestamp("02/29", now)).isoformat() == "2029-03-01T00:00:00"


@given(st.text(max_size=25))
def test_arbitrary_timestamp_text_raises_only_time_format_error(text: str) -> None:
    try:
        parse_timestamp(text, NOW.timestamp())
    except TimeFormatError:
        pass


@given(st.from_regex(r"(now ?[+-] ?[0-9]{1,25} ?(weeks|days)?|00[0-9]{2}-[0-9]{2}-[0-9]{2})", fullmatch=True))
def test_extreme_numbers_raise_only_time_format_error(text: str) -> None:
    try:
        parse_timestamp(text, NOW.timestamp())
    except TimeFormatError:
        pass
