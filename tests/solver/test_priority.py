"""Multifactor priority and scheduling order."""
from __future__ import annotations

from dataclasses import replace

import pytest

from solver import PriorityContext, PriorityInputs, SchedulingPolicy, priority_factors, solve
from tests.solver.builders import NOW, job, node, nodes, partition, snapshot

DAY = 86400.0


def priorities(snap) -> dict[int, int]:
    plan = solve(snap)
    assert dict(plan.priorities) == {d.job_id: d.priority for d in plan.pending} | {
        s.job_id: dict(plan.priorities)[s.job_id] for s in plan.starts}
    return dict(plan.priorities)


# Real Slurm 22.05 on this machine (nodes n1..n4, 8 CPUs each, PriorityWeightJobSize=100):
# `sbatch -p cpu -n 1 --begin=now+3600` then `scontrol show job` showed JOBSIZE 14 (sprio -l),
# `sbatch -p cpu -N 2 -n 16 --begin=now+3600` showed 50, and `sbatch -p cpu -N1 -n 6` showed 21:
# (nodes/4 + cpus/32)/2 * 100, truncated (21.875 -> 21).
@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"ntasks": 1}, 14),
    ({"min_nodes": 2, "ntasks": 16}, 50),
    ({"ntasks": 6}, 21),
])
def test_job_size_factor_matches_slurm(kwargs, expected):
    policy = SchedulingPolicy(priority_weight_job_size=100)
    snap = snapshot(nodes("n", 4), pending=(job(1, begin_time=NOW + 3600, **kwargs),),
                    policy=policy)
    assert priorities(snap)[1] == expected


def test_favor_small_uses_complement():
    policy = SchedulingPolicy(priority_weight_job_size=100, priority_favor_small=True)
    snap = snapshot(nodes("n", 4), pending=(job(1, ntasks=1), job(2, min_nodes=4, ntasks=32)),
                    policy=policy)
    got = priorities(snap)
    # ((4-1)/4 + (32-1)/32)/2 = 0.859375 -> 85; the whole cluster -> 0, floored at 1
    assert got == {1: 85, 2: 1}


@pytest.mark.parametrize(("age", "expected"), [
    (0.0, 1), (DAY, 142), (3.5 * DAY, 500), (7 * DAY, 1000), (30 * DAY, 1000),
])
def test_age_factor_saturates_at_max_age(age, expected):
    policy = SchedulingPolicy(priority_weight_age=1000)
    snap = snapshot(nodes("n", 1), pending=(job(1, submit=NOW - age, held=False),), policy=policy)
    assert priorities(snap)[1] == expected


def test_age_counts_from_begin_time():
    policy = SchedulingPolicy(priority_weight_age=1000, priority_max_age=1000.0)
    snap = snapshot(nodes("n", 1), policy=policy,
                    pending=(job(1, submit=NOW - 900, begin_time=NOW - 500),))
    assert priorities(snap)[1] == 500


def test_partition_factor_normalised_by_max_job_factor():
    policy = SchedulingPolicy(priority_weight_partition=1000)
    ns = nodes("n", 2)
    parts = (partition("low", ns, priority_job_factor=1), partition("high", ns, priority_job_factor=4))
    snap = snapshot(ns, parts, pending=(job(1, "low"), job(2, "high"), job(3, ("low", "high"))),
                    policy=policy)
    assert priorities(snap) == {1: 250, 2: 1000, 3: 1000}


def test_nice_held_admin_and_floor():
    policy = SchedulingPolicy(priority_weight_age=1000, priority_max_age=1000.0)
    snap = snapshot(nodes("n", 1), policy=policy, pending=(
        job(1, submit=NOW - 500, nice=100),
        job(2, submit=NOW - 500, nice=10_000),
        job(3, submit=NOW - 500, held=True, hold_reason="JobHeldUser"),
        job(4, submit=NOW - 500, admin_priority=77),
        job(5, submit=NOW - 500, admin_priority=77, held=True, hold_reason="JobHeldAdmin"),
    ))
    assert priorities(snap) == {1: 400, 2: 1, 3: 0, 4: 77, 5: 0}


def test_start_order_follows_priority_then_submit_then_id():
    # One node, each job wants the whole node: only the first in order starts.
    policy = SchedulingPolicy(priority_weight_age=1000, priority_max_age=1000.0)
    cases = [
        ((job(1, submit=NOW - 100, exclusive=True), job(2, submit=NOW - 900, exclusive=True)), 2),
        ((job(5, submit=NOW - 100, exclusive=True, admin_priority=5),
          job(6, submit=NOW - 100, exclusive=True, admin_priority=5)), 5),
        ((job(8, submit=NOW - 100, exclusive=True, admin_priority=5),
          job(7, submit=NOW - 99, exclusive=True, admin_priority=5)), 8),
    ]
    for pending, winner in cases:
        plan = solve(snapshot(nodes("n", 1), pending=pending, policy=policy))
        assert [s.job_id for s in plan.starts] == [winner]


def test_higher_priority_tier_is_considered_first():
    ns = nodes("n", 1)
    parts = (partition("low", ns, priority_tier=1), partition("high", ns, priority_tier=2))
    snap = snapshot(ns, parts, pending=(job(1, "low", exclusive=True, admin_priority=1000),
                                        job(2, "high", exclusive=True, admin_priority=1)))
    plan = solve(snap)
    assert [s.job_id for s in plan.starts] == [2]


def test_priorities_cover_every_pending_job():
    snap = snapshot((node("n1"),), pending=tuple(job(i) for i in range(1, 6)))
    plan = solve(snap)
    assert sorted(j for j, _ in plan.priorities) == [1, 2, 3, 4, 5]


# --- accounting factors: fair-share, QOS, association, TRES, site -------------------------



def _factors_of(snap, job_id):
    ctx = PriorityContext.of(snap)
    return priority_factors(next(j for j in snap.pending if j.job_id == job_id), ctx)


# Real Slurm 22.05 here (PriorityWeightFairshare=10000, PriorityWeightJobSize=100, user root
# alone in its association): `sprio` printed `FAIRSHARE 10000  JOBSIZE 14  PRIORITY 10014` for a
# 1-CPU job in partition cpu; `sprio -n` printed FAIRSHARE 1.0000000, JOBSIZE 0.1406250.
def test_fairshare_weight_times_factor_plus_size_truncates_like_slurm():
    policy = SchedulingPolicy(priority_weight_fairshare=10000, priority_weight_job_size=100)
    inputs = PriorityInputs(fairshare={("root", "root"): 1.0})
    snap = snapshot(nodes("n", 4), pending=(
        job(1, user="root", account="root", ntasks=1, cpus_per_task=1, min_nodes=1),),
        policy=policy)
    snap = replace(snap, priority_inputs=inputs)
    f = _factors_of(snap, 1)
    assert f.fairshare == 1.0 and f.job_size == 0.140625 and f.priority == 10014
    assert f.weighted(policy)["fairshare"] == 10000 and int(f.weighted(policy)["job_size"]) == 14


def test_fairshare_orders_users_by_their_factor():
    policy = SchedulingPolicy(priority_weight_fairshare=1000)
    inputs = PriorityInputs(fairshare={("alice", "a"): 0.25, ("bob", "b"): 0.75})
    snap = replace(snapshot(nodes("n", 1, cpus=1), pending=(
        job(1, user="alice", account="a"), job(2, user="bob", account="b", submit=NOW - 1))),
        policy=policy, priority_inputs=inputs)
    plan = solve(snap)
    assert dict(plan.priorities) == {1: 250, 2: 750}
    assert [s.job_id for s in plan.starts] == [2]


def test_qos_and_assoc_factors_are_normalised_by_the_maximum():
    policy = SchedulingPolicy(priority_weight_qos=1000, priority_weight_assoc=100)
    inputs = PriorityInputs(qos_priority={"normal": 0, "high": 100, "mid": 50},
                            assoc_priority={("alice", "a"): 10, ("bob", "b"): 40})
    snap = replace(snapshot(nodes("n", 2), pending=(
        job(1, user="alice", account="a", qos="mid"), job(2, user="bob", account="b", qos="high"),
        job(3, user="carol", account="c", qos="nosuch"))),
        policy=policy, priority_inputs=inputs)
    assert priorities(snap) == {1: 500 + 25, 2: 1000 + 100, 3: 1}


def test_no_normal_qos_uses_the_raw_value():
    policy = SchedulingPolicy(priority_weight_qos=10, priority_flags=frozenset({"NO_NORMAL_QOS"}))
    inputs = PriorityInputs(qos_priority={"high": 7, "top": 100})
    snap = replace(snapshot(nodes("n", 1), pending=(job(1, qos="high"),)), policy=policy,
                   priority_inputs=inputs)
    assert priorities(snap)[1] == 70


def test_tres_factor_is_request_over_partition_total():
    # 2 of the partition's 8 GPUs and 4 of its 32 CPUs: 3000*0.25 + 1000*0.125 = 875
    policy = SchedulingPolicy(priority_weight_tres=(("CPU", 1000.0), ("GRES/gpu", 3000.0)))
    snap = replace(snapshot(nodes("g", 2, cpus=16, gpus=4), pending=(
        job(1, "gpu", ntasks=4, gpus_per_node=2),)), policy=policy)
    snap = replace(snap, partitions=(partition("gpu", snap.nodes),))
    f = _factors_of(snap, 1)
    assert dict(f.tres) == {"cpu": 0.125, "gres/gpu": 0.25} and f.priority == 875
    assert f.weighted(policy)["tres"] == 875


def test_site_factor_and_nice_are_added_and_subtracted_unweighted():
    policy = SchedulingPolicy(priority_weight_fairshare=1000)
    inputs = PriorityInputs(fairshare={("alice", "a"): 0.5})
    snap = replace(snapshot(nodes("n", 1), pending=(
        job(1, account="a", site_factor=20, nice=5),)), policy=policy, priority_inputs=inputs)
    assert priorities(snap)[1] == 500 + 20 - 5


def test_small_relative_to_time_favours_short_small_jobs():
    policy = SchedulingPolicy(priority_weight_job_size=1000,
                              priority_flags=frozenset({"SMALL_RELATIVE_TO_TIME"}))
    # 4 nodes x 8 cpus: a 1-cpu job of 10 minutes: max(1, 1*8)/10/32 = 0.025 -> 25
    snap = snapshot(nodes("n", 4), pending=(job(1, ntasks=1, time_limit=600.0),), policy=policy)
    assert priorities(snap)[1] == 25


def test_age_accrues_from_eligibility_not_submission():
    # submitted a day ago, eligible (released / dependency met) an hour ago: one hour of age
    policy = SchedulingPolicy(priority_weight_age=24 * 1000, priority_max_age=DAY)
    snap = snapshot(nodes("n", 1), pending=(
        job(1, submit=NOW - DAY, eligible_time=NOW - 3600),
        job(2, submit=NOW - DAY)), policy=policy)
    assert priorities(snap) == {1: 1000, 2: 24 * 1000}
