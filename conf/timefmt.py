"""Slurm time strings: durations (`--time`, MaxTime, ...) and points in time (`--begin`, `sacct -S`).

Durations follow Slurm's time_str2secs: `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S`, where a
field may exceed its usual range (`1:60:15` is 2 h 15 s); `-1`/`INFINITE`/`UNLIMITED` (any case)
mean unlimited and come back as None. Anything else, including surrounding spaces, raises
`TimeFormatError`.

Timestamps follow sbatch --begin as observed on Slurm 22.05 (`sbatch --test-only --begin=...`):
whitespace-separated tokens, at most one date and one time of day, in either order.
"""

from __future__ import annotations

import datetime as dt
import re

from conf.errors import TimeFormatError

__all__ = [
    "TimeFormatError",
    "format_duration",
    "format_duration_compact",
    "format_timestamp",
    "parse_duration",
    "parse_minutes",
    "parse_timestamp",
]

_UNLIMITED_WORDS = frozenset({"-1", "infinite", "unlimited"})
_WITH_DAYS = re.compile(r"(\d+)-(\d+)(?::(\d+)(?::(\d+))?)?", re.ASCII)
_WITHOUT_DAYS = re.compile(r"(\d+)(?::(\d+)(?::(\d+))?)?", re.ASCII)


def parse_duration(text: str) -> int | None:
    """Seconds in a Slurm duration string; None means unlimited."""
    if text.lower() in _UNLIMITED_WORDS:
        return None
    if match := _WITH_DAYS.fullmatch(text):
        days, hours, minutes, seconds = (int(part) if part else 0 for part in match.groups())
    elif match := _WITHOUT_DAYS.fullmatch(text):
        first, second, third = match.groups()
        if third is not None:  # H:M:S
            days, hours, minutes, seconds = 0, int(first), int(second), int(third)
        else:  # M or M:S
            days, hours, minutes, seconds = 0, 0, int(first), int(second or 0)
    else:
        raise TimeFormatError(f"Invalid time specification: {text!r}")
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def parse_minutes(text: str) -> int | None:
    """Whole minutes, seconds rounded up as Slurm's time_str2mins does; None means unlimited."""
    seconds = parse_duration(text)
    return None if seconds is None else -(-seconds // 60)


def format_duration(seconds: int | None) -> str:
    """scontrol/sacct style: `00:05:00`, `1-00:00:00`, `UNLIMITED` for None."""
    if seconds is None:
        return "UNLIMITED"
    if seconds < 0:
        raise ValueError(f"negative duration: {seconds}")
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}-{clock}" if days else clock


def format_duration_compact(seconds: int | None) -> str:
    """squeue/sinfo style: `0:05`, `1:02:03`, `1-00:00:00`; `UNLIMITED` for None (sinfo says `infinite`)."""
    if seconds is None:
        return "UNLIMITED"
    if seconds < 0:
        raise ValueError(f"negative duration: {seconds}")
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}-{hours:02d}:{minutes:02d}:{secs:02d}"
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def format_timestamp(epoch: float | None) -> str:
    """Local time as `%FT%T` (`2025-01-01T10:00:00`); 0 or None prints `Unknown` as Slurm does."""
    if not epoch:
        return "Unknown"
    return dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%dT%H:%M:%S")


# --- points in time --------------------------------------------------------------------------

# timestamp patterns are compiled on first use (re caches them): the commands import this module
# on every call, mostly for durations
_NOW_FORM = r"(?ia)now\s*(?:([+-])\s*(\d+)\s*([a-z]*))?"
_UNIT_SECONDS = {
    "": 1, "second": 1, "seconds": 1, "minute": 60, "minutes": 60, "hour": 3600, "hours": 3600,
    "day": 86400, "days": 86400, "week": 604800, "weeks": 604800,
}  # fmt: skip
_NAMED_TIMES = {
    "midnight": (0, 0, 0), "noon": (12, 0, 0), "elevenses": (11, 0, 0), "fika": (15, 0, 0),
    "teatime": (16, 0, 0),
}  # fmt: skip
_CLOCK = r"(?ia)(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(am|pm)?"
_ISO = r"(?a)(\d{4})-(\d{2})-(\d{2})(?:T(\d{1,2}):(\d{2})(?::(\d{2}))?)?"
_DATE_MMDDYY = r"(?a)(\d{2})(\d{2})(\d{2})?"
_DATE_SEPARATED = r"(?a)(\d{1,2})([/.])(\d{1,2})(?:\2(\d{2}))?"


def parse_timestamp(text: str, now: float) -> float:
    """Epoch seconds that a `--begin`/`-S` string denotes, relative to `now` (epoch seconds)."""
    try:
        return _parse_timestamp(text, now)
    except (OverflowError, ValueError) as error:  # year 0, an offset of 10**30 weeks, ...
        if isinstance(error, TimeFormatError):
            raise
        raise TimeFormatError(f"Invalid time specification: {text!r}: {error}") from None


def _parse_timestamp(text: str, now: float) -> float:
    stripped = text.strip()
    if match := re.fullmatch(_NOW_FORM, stripped):
        sign, count, unit = match.groups()
        if sign is None:
            return now
        if unit.lower() not in _UNIT_SECONDS:
            raise TimeFormatError(f"Invalid time specification: {text!r}: unknown unit {unit!r}")
        offset = int(count) * _UNIT_SECONDS[unit.lower()]
        return float(now + offset if sign == "+" else now - offset)
    # AM/PM may stand apart from its clock ("3:00:00 AM"): glue it on before splitting
    tokens = re.sub(r"\s+(am|pm)\b", r"\1", stripped, flags=re.IGNORECASE | re.ASCII).split()
    if not tokens:
        raise TimeFormatError(f"Invalid time specification: {text!r}")
    current = dt.datetime.fromtimestamp(now)
    parsed = _Parsed(text)
    for token in tokens:
        parsed.take(token, current)
    return parsed.resolve(current).timestamp()


class _Parsed:
    """The date and time of day found so far in a timestamp string."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.date: dt.date | None = None
        self.year_given = False
        self.relative_day = False  # "today"/"tomorrow": no rolling forward
        self.clock: tuple[int, int, int] | None = None

    def fail(self, why: str) -> TimeFormatError:
        return TimeFormatError(f"Invalid time specification: {self.text!r}: {why}")

    def set_date(self, year: int, month: int, day: int, *, year_given: bool, relative: bool = False) -> None:
        if self.date is not None:
            raise self.fail("more than one date")
        if not (1 <= month <= 12 and 1 <= day <= 31):
            raise self.fail("no such date")
        # like mktime, an overflowing day rolls into the next month (02/30 is March 2nd)
        self.date = dt.date(year, month, 1) + dt.timedelta(days=day - 1)
        self.year_given = year_given
        self.relative_day = relative

    def set_clock(self, hours: int, minutes: int, seconds: int) -> None:
        if self.clock is not None:
            raise self.fail("more than one time of day")
        if hours > 23 or minutes > 59 or seconds > 59:
            raise self.fail("no such time of day")
        self.clock = (hours, minutes, seconds)

    def take(self, token: str, current: dt.datetime) -> None:
        lower = token.lower()
        if lower in _NAMED_TIMES:
            self.set_clock(*_NAMED_TIMES[lower])
        elif lower in ("today", "tomorrow"):
            day = current.date() + dt.timedelta(days=1 if lower == "tomorrow" else 0)
            self.set_date(day.year, day.month, day.day, year_given=True, relative=True)
        elif match := re.fullmatch(_CLOCK, token):
            hours, minutes = int(match.group(1)), int(match.group(2))
            seconds = int(match.group(3) or 0)
            if meridiem := match.group(4):
                if not 1 <= hours <= 12 and not (hours == 0 and meridiem.lower() == "am"):
                    raise self.fail("hour out of range for AM/PM")
                hours = hours % 12 + (12 if meridiem.lower() == "pm" else 0)
            self.set_clock(hours, minutes, seconds)
        elif match := re.fullmatch(_ISO, token):
            year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3))
            self.set_date(year, month, day, year_given=True)
            if match.group(4) is not None:
                self.set_clock(int(match.group(4)), int(match.group(5)), int(match.group(6) or 0))
        elif match := re.fullmatch(_DATE_MMDDYY, token):
            month, day, year = match.groups()
            self._set_short_date(int(month), int(day), year, current)
        elif match := re.fullmatch(_DATE_SEPARATED, token):
            self._set_short_date(int(match.group(1)), int(match.group(3)), match.group(4), current)
        else:
            raise self.fail(f"unrecognised {token!r}")

    def _set_short_date(self, month: int, day: int, year: str | None, current: dt.datetime) -> None:
        if year is None:
            self.set_date(current.year, month, day, year_given=False)
        else:
            self.set_date(2000 + int(year), month, day, year_given=True)

    def resolve(self, current: dt.datetime) -> dt.datetime:
        if self.date is None and self.clock is None:
            raise self.fail("no date or time")
        if self.clock is None and self.relative_day and self.date == current.date():
            return current  # a bare "today" means now
        hours, minutes, seconds = self.clock or (0, 0, 0)
        if self.date is None:
            moment = current.replace(hour=hours, minute=minutes, second=seconds, microsecond=0)
            # a time of day already past means tomorrow
            return moment + dt.timedelta(days=1) if moment < current else moment
        moment = dt.datetime.combine(self.date, dt.time(hours, minutes, seconds))
        if not self.year_given and moment < current:
            # MM/DD already past this year means next year (02/29 may have to move on further)
            return _next_year(moment)
        return moment


def _next_year(moment: dt.datetime) -> dt.datetime:
    try:
        return moment.replace(year=moment.year + 1)
    except ValueError:  # February 29th
        return moment.replace(year=moment.year + 1, month=3, day=1)
