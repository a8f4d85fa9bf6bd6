"""TRES billing weights and usage decay."""
from __future__ import annotations

import os
import time

import pytest

from solver.billing import AllocatedTres, billable_tres, parse_billing_weights
from solver.decay import decay_multiplier, decayed, next_reset, run_usage


def test_default_bills_cpus():
    assert billable_tres(AllocatedTres(cpus=6, memory_mb=4000, gpus=2, nodes=1), {}) == 6.0


def test_tres_doc_example_cpu_and_memory_in_gib():
    # doc/html/tres.shtml: CPU=1.0,Mem=0.25G, 1 CPU and 8 GiB -> 3
    weights = parse_billing_weights("CPU=1.0,Mem=0.25G")
    assert billable_tres(AllocatedTres(1, 8 * 1024, 0, 1), weights) == pytest.approx(3.0)


def test_gpu_weight_and_max_tres_flags():
    weights = parse_billing_weights("CPU=1,Mem=0.5G,GRES/gpu=8")
    alloc = AllocatedTres(cpus=4, memory_mb=16 * 1024, gpus=2, nodes=1)
    assert billable_tres(alloc, weights) == pytest.approx(4 + 8 + 16)
    assert billable_tres(alloc, weights, frozenset({"MAX_TRES"})) == pytest.approx(16)
    assert billable_tres(alloc, weights, frozenset({"MAX_TRES_GRES"})) == pytest.approx(8 + 16)


@pytest.mark.parametrize("bad", ["CPU", "CPU=", "=1", "Mem=abcG", "CPU=x"])
def test_bad_weights_are_rejected(bad):
    with pytest.raises(ValueError):
        parse_billing_weights(bad)


def test_one_half_life_halves_usage():
    week = 7 * 86400
    assert decayed(1000.0, week, week) == pytest.approx(500.0, rel=2e-3)
    assert decay_multiplier(0, week) == 1.0 and decay_multiplier(100, 0) == 1.0


def test_decay_composes_over_calc_periods():
    hl = 3600.0
    stepwise = 800.0
    for _ in range(12):
        stepwise = decayed(stepwise, 300, hl)
    assert stepwise == pytest.approx(decayed(800.0, 3600, hl))


def test_run_usage_is_seconds_times_billing_decayed():
    assert run_usage(300, 4, 0) == 1200.0
    assert run_usage(300, 4, 7 * 86400, usage_factor=2.0) == pytest.approx(
        300 * 4 * 2 * (1 - 0.693 / (7 * 86400)) ** 300)
    assert run_usage(0, 4, 100) == 0.0


@pytest.fixture
def utc():
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


@pytest.mark.parametrize(("period", "expected"), [
    ("DAILY", "2026-11-29 00:00"), ("WEEKLY", "2026-11-29 00:00"),   # 2026-11-28 is a Saturday
    ("MONTHLY", "2026-12-01 00:00"), ("QUARTERLY", "2027-01-01 00:00"),
    ("YEARLY", "2027-01-01 00:00"),
])
def test_next_reset_boundaries(utc, period, expected):
    after = time.mktime(time.strptime("2026-11-28 17:30", "%Y-%m-%d %H:%M"))
    got = next_reset(after, period)
    assert time.strftime("%Y-%m-%d %H:%M", time.localtime(got)) == expected


def test_weekly_from_a_sunday_is_the_next_sunday(utc):
    after = time.mktime(time.strptime("2026-11-29 00:00", "%Y-%m-%d %H:%M"))
    assert time.strftime("%Y-%m-%d", time.localtime(next_reset(after, "WEEKLY"))) == "2026-12-06"
    assert next_reset(after, "NONE") is None and next_reset(after, "NOW") is None
