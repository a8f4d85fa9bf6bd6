"""Usage decay (PriorityDecayHalfLife) and usage resets (PriorityUsageResetPeriod).

Slurm applies, every PriorityCalcPeriod, a per-second decay D = 1 - ln2/half_life raised to the
seconds elapsed: stored usage is multiplied by D^dt, and a job running through the interval adds
dt * D^dt * billable TRES * QOS UsageFactor (`priority_multifactor.c`, reference §3.2). A half
life of 0 means no decay (usage then only goes away with the reset period).
"""
from __future__ import annotations

import time

_LN2 = 0.693  # Slurm's constant, not math.log(2): decayed numbers must match its own


def decay_multiplier(elapsed_s: float, half_life_s: float) -> float:
    if half_life_s <= 0 or elapsed_s <= 0:
        return 1.0
    return (1.0 - _LN2 / half_life_s) ** elapsed_s


def decayed(usage: float, elapsed_s: float, half_life_s: float) -> float:
    return usage * decay_multiplier(elapsed_s, half_life_s)


def run_usage(elapsed_s: float, billable: float, half_life_s: float,
              usage_factor: float = 1.0) -> float:
    """Usage a job adds for `elapsed_s` seconds of running at `billable` TRES."""
    if elapsed_s <= 0:
        return 0.0
    return elapsed_s * decay_multiplier(elapsed_s, half_life_s) * billable * usage_factor


def next_reset(after: float, period: str) -> float | None:
    """The first usage-reset instant strictly after `after` (local time, as Slurm), or None.

    DAILY: midnight; WEEKLY: Sunday midnight; MONTHLY: the 1st; QUARTERLY: Jan/Apr/Jul/Oct 1st;
    YEARLY: Jan 1st. NONE never resets; NOW resets once at start-up (the caller's job)."""
    period = period.upper()
    if period in ("NONE", "NOW", ""):
        return None
    t = time.localtime(after)
    year, month, day = t.tm_year, t.tm_mon, t.tm_mday
    if period == "DAILY":
        candidate = _local(year, month, day + 1)
    elif period == "WEEKLY":
        days_to_sunday = (6 - t.tm_wday) % 7 or 7   # tm_wday: Monday=0 .. Sunday=6
        candidate = _local(year, month, day + days_to_sunday)
    elif period == "MONTHLY":
        candidate = _local(year, month + 1, 1)
    elif period == "QUARTERLY":
        quarter_start = ((month - 1) // 3) * 3 + 1
        candidate = _local(year, quarter_start + 3, 1)
    elif period == "YEARLY":
        candidate = _local(year + 1, 1, 1)
    else:
        raise ValueError(f"unknown PriorityUsageResetPeriod {period!r}")
    return candidate


def _local(year: int, month: int, day: int) -> float:
    """Local midnight of a date whose month/day may overflow (normalised by mktime)."""
    while month > 12:
        month -= 12
        year += 1
    return time.mktime((year, month, day, 0, 0, 0, 0, 0, -1))

