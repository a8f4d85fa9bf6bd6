"""UsageLedger: decayed usage charged per association, and fair-share derived from it."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from accounting.associations import UsageRow
from slurmctld_py.associations import Association, Qos
from slurmctld_py.fairshare import UsageLedger

WEEK = 7 * 86400


@dataclass
class _Part:
    name: str
    tres_billing_weights: str = ""


@dataclass
class _Config:
    partitions: list = field(default_factory=lambda: [_Part("cpu"), _Part("gpu", "CPU=1,GRES/gpu=10")])
    priority_decay_half_life: int = WEEK
    priority_calc_period: int = 300
    priority_usage_reset_period: str = "NONE"
    priority_flags: tuple = ()
    fair_share_dampening_factor: int = 1


@dataclass
class _Alloc:
    node: str
    cpus: int
    memory_mb: int
    gpus: tuple = ()


class _Registry:
    version = 1

    def __init__(self, assocs):
        self._assocs = tuple(assocs)

    def associations(self):
        return self._assocs

    def qos(self):
        return {"normal": Qos("normal", 0, 1.0, frozenset()), "high": Qos("high", 100, 2.0, frozenset())}


def _assoc(id_, account, user="", parent="root", shares=1):
    return Association(id_, account, user, "", parent if account != "root" or user else "", shares,
                       None, (), "")


REGISTRY = _Registry([
    _assoc(1, "root", parent=""), _assoc(2, "a"), _assoc(3, "b"),
    _assoc(10, "a", "alice"), _assoc(11, "b", "bob"),
])


def _ledger(**config) -> UsageLedger:
    ledger = UsageLedger(_Config(**config))
    ledger.restore({}, 1000.0)
    return ledger


def _start(ledger, job_id, assoc_id, start, cpus=2, partition="cpu", gpus=(), usage_factor=1.0):
    ledger.run_started(job_id=job_id, attempt=1, assoc_id=assoc_id, start=start, partition=partition,
                       allocations=[_Alloc("n1", cpus, 100, gpus)], usage_factor=usage_factor,
                       time_limit_end=start + 3600)


def test_running_job_charges_cpu_seconds_without_decay():
    ledger = _ledger(priority_decay_half_life=0)
    _start(ledger, 1, 10, 1000.0, cpus=2)
    rows = ledger.tick(1300.0, {(1, 1)})
    assert {r.assoc_id: r.usage_raw for r in rows} == {10: 600.0}
    ledger.run_ended(1, 1, 1400.0)
    ledger.tick(1600.0, set())
    assert ledger.usage[10] == 800.0      # charged up to its end, not to the tick
    assert ledger.tick(1900.0, set())[0].usage_raw == 800.0   # and never again


def test_usage_decays_by_the_half_life():
    ledger = _ledger()
    ledger.usage = {10: 1000.0}
    ledger.tick(1000.0 + WEEK, set())
    assert ledger.usage[10] == pytest.approx(500.0, rel=2e-3)


def test_billing_weights_and_qos_usage_factor():
    ledger = _ledger(priority_decay_half_life=0)
    _start(ledger, 1, 10, 1000.0, cpus=1, partition="gpu", gpus=(0, 1), usage_factor=2.0)
    ledger.tick(1010.0, {(1, 1)})
    assert ledger.usage[10] == (1 + 2 * 10) * 10 * 2.0


def test_a_run_that_vanished_without_an_end_stops_being_charged():
    ledger = _ledger(priority_decay_half_life=0)
    _start(ledger, 1, 10, 1000.0, cpus=1)
    ledger.tick(1100.0, set())       # not active any more: ends at this tick
    ledger.tick(1200.0, set())
    assert ledger.usage[10] == 100.0


def test_restore_keeps_usage_and_charges_from_the_last_tick():
    ledger = UsageLedger(_Config(priority_decay_half_life=0))
    ledger.restore({10: UsageRow(10, 50.0, {}, 2000.0)}, 2100.0)
    _start(ledger, 1, 10, 1500.0, cpus=1)     # started before the last saved tick
    ledger.tick(2100.0, {(1, 1)})
    assert ledger.usage[10] == 150.0          # 50 stored + 100 s since the last tick only


def test_reset_period_now_clears_usage_at_start():
    ledger = UsageLedger(_Config(priority_usage_reset_period="NOW"))
    ledger.restore({10: UsageRow(10, 50.0, {}, 2000.0)}, 2100.0)
    assert ledger.usage[10] == 0.0


def test_fairshare_factors_follow_usage_and_are_cached_per_generation():
    ledger = _ledger(priority_decay_half_life=0)
    _start(ledger, 1, 10, 1000.0, cpus=4)
    ledger.tick(1100.0, {(1, 1)})
    inputs = ledger.priority_inputs(REGISTRY)
    assert inputs.fairshare[("bob", "b")] == 1.0 and inputs.fairshare[("alice", "a")] == 0.5
    assert inputs.qos_priority == {"normal": 0, "high": 100}
    assert ledger.fairshare(REGISTRY) is ledger.fairshare(REGISTRY)


def test_classic_when_no_fair_tree_flag():
    ledger = _ledger(priority_flags=("NO_FAIR_TREE",))
    assert not ledger.fair_tree
    ledger.usage = {10: 100.0}
    result = ledger.fairshare(REGISTRY)
    # alice: S=0.5, UE=1.0 -> 2^-2 = 0.25; bob: no usage -> 1.0
    assert result.factor("alice", "a") == 0.25 and result.factor("bob", "b") == 1.0


def test_tres_run_minutes_of_running_jobs():
    ledger = _ledger()
    _start(ledger, 1, 10, 1000.0, cpus=2)
    assert ledger.tres_run_minutes(1000.0 + 1800)[10]["cpu"] == pytest.approx(2 * 30)


def test_priority_inputs_are_rebuilt_only_when_usage_or_tree_changed():
    ledger = _ledger()
    first = ledger.priority_inputs(REGISTRY)
    assert ledger.priority_inputs(REGISTRY) is first
    ledger.tick(1300.0, set())
    assert ledger.priority_inputs(REGISTRY) is not first
