"""Golden backfill scenarios, worked out by hand (times are offsets from NOW, in seconds)."""
from __future__ import annotations

from solver import Reason, SchedulingPolicy, solve
from tests.solver.builders import (
    NOW, decision, job, node, nodes, partition, reasons, running, snapshot, started,
)

EASY = SchedulingPolicy()
CONSERVATIVE = SchedulingPolicy(reservation_depth=1_000_000)


def test_classic_easy():
    # n1 is busy until +3600, n2 idle. The head needs both nodes: reserved at +3600 on both.
    ns = nodes("n", 2)
    busy = (running(10, ("n1", 8, 1000), end=NOW + 3600),)
    pending = (
        job(1, min_nodes=2, ntasks=16, time_limit=3600.0, admin_priority=100),
        job(2, ntasks=4, time_limit=1800.0, admin_priority=90),   # ends before +3600: backfills
        job(3, ntasks=4, time_limit=7200.0, admin_priority=80),   # would delay job 1
        job(4, ntasks=4, admin_priority=70),                      # unlimited: never ahead of it
        job(5, ntasks=1, time_limit=60.0, held=True),             # keeps its own reason
    )
    plan = solve(snapshot(ns, pending=pending, running_jobs=busy, policy=EASY))
    assert started(plan) == {2: ("n2",)}
    assert reasons(plan) == {1: Reason.RESOURCES, 3: Reason.PRIORITY, 4: Reason.PRIORITY,
                             5: Reason.JOB_HELD_USER}
    head = decision(plan, 1)
    assert head.reserved and head.expected_start == NOW + 3600
    assert head.expected_nodes == ("n1", "n2")
    # After job 1 ([3600, 7200) on both nodes), job 3 fits: it is forecast, not reserved.
    assert decision(plan, 3).expected_start == NOW + 7200 and not decision(plan, 3).reserved
    assert decision(plan, 4).expected_start == NOW + 7200
    assert decision(plan, 5).expected_start is None


def test_easy_with_backfill_off_is_the_main_pass():
    ns = nodes("n", 2)
    busy = (running(10, ("n1", 8, 1000), end=NOW + 3600),)
    pending = (job(1, min_nodes=2, ntasks=16, time_limit=3600.0, admin_priority=100),
               job(2, ntasks=4, time_limit=1800.0, admin_priority=90))
    plan = solve(snapshot(ns, pending=pending, running_jobs=busy,
                          policy=SchedulingPolicy(backfill=False)))
    assert started(plan) == {}
    assert all(d.expected_start is None and not d.reserved for d in plan.pending)


def _depth_scenario(policy):
    # One node of 8 CPUs; 4 are busy until +1000. Job 1 (6 CPUs) is reserved at +1000 for
    # [1000, 2000); job 2 needs all 8 CPUs, so its earliest start is +2000. Job 3 (2 CPUs for
    # 2500 s) fits now and beside job 1, but overlaps [2000, 3000) where job 2 needs everything.
    busy = (running(10, ("n1", 4, 1000), end=NOW + 1000),)
    pending = (job(1, ntasks=6, time_limit=1000.0, admin_priority=100),
               job(2, ntasks=8, time_limit=1000.0, admin_priority=90),
               job(3, ntasks=2, time_limit=2500.0, admin_priority=80))
    return solve(snapshot(nodes("n", 1), pending=pending, running_jobs=busy, policy=policy))


def test_easy_protects_only_the_first_blocked_job():
    plan = _depth_scenario(EASY)
    assert started(plan) == {3: ("n1",)}
    assert decision(plan, 1).reserved and decision(plan, 1).expected_start == NOW + 1000
    # Job 3 holds 2 CPUs until +2500: job 2 is pushed back to then.
    second = decision(plan, 2)
    assert not second.reserved and second.expected_start == NOW + 2500


def test_conservative_protects_every_blocked_job():
    plan = _depth_scenario(CONSERVATIVE)
    assert started(plan) == {}
    assert [(d.job_id, d.reserved, d.expected_start) for d in plan.pending] == [
        (1, True, NOW + 1000), (2, True, NOW + 2000), (3, True, NOW + 3000)]
    assert reasons(plan) == {1: Reason.RESOURCES, 2: Reason.RESOURCES, 3: Reason.RESOURCES}


def test_gpu_reservation_leaves_other_resources_to_backfill():
    ns = (node("g1", gpus=4), node("g2", gpus=4))
    busy = (running(10, ("g1", 1, 100, (0, 1, 2, 3)), end=NOW + 600),
            running(11, ("g2", 1, 100, (0, 1)), end=NOW + 1200))
    pending = (
        job(1, gpus_per_node=4, time_limit=600.0, admin_priority=100),   # g1 at +600
        job(2, gpus_per_node=3, time_limit=600.0, admin_priority=90),    # no room now
        job(3, gpus_per_node=2, time_limit=7200.0, admin_priority=80),   # g2's free pair
        job(4, ntasks=2, admin_priority=70),   # CPUs only, unlimited: job 1 needs 1 CPU of g1
    )
    plan = solve(snapshot(ns, pending=pending, running_jobs=busy, policy=EASY))
    assert started(plan) == {3: ("g2",), 4: ("g1",)}
    head = decision(plan, 1)
    assert (head.reserved, head.expected_start, head.expected_nodes) == (True, NOW + 600, ("g1",))
    assert decision(plan, 2).expected_start == NOW + 1200   # g1 after job 1
    assert reasons(plan) == {1: Reason.RESOURCES, 2: Reason.PRIORITY}


def test_multi_node_reservation():
    ns = nodes("n", 4)
    busy = (running(10, ("n1", 8, 1000), end=NOW + 100),
            running(11, ("n2", 8, 1000), end=NOW + 200),
            running(12, ("n3", 8, 1000), end=NOW + 300))
    pending = (
        job(1, min_nodes=3, exclusive=True, time_limit=1000.0, admin_priority=100),
        job(2, exclusive=True, time_limit=150.0, admin_priority=90),    # n4 until +150: fine
        job(3, exclusive=True, time_limit=1000.0, admin_priority=80),   # n4 is needed at +200
    )
    plan = solve(snapshot(ns, pending=pending, running_jobs=busy, policy=EASY))
    assert started(plan) == {2: ("n4",)}
    head = decision(plan, 1)
    assert (head.reserved, head.expected_start) == (True, NOW + 200)
    assert head.expected_nodes == ("n1", "n2", "n4")
    assert reasons(plan) == {1: Reason.RESOURCES, 3: Reason.PRIORITY}
    assert decision(plan, 3).expected_start == NOW + 300   # n3 frees at +300


def test_slurm_unit_case_31_node_job_backfills_beside_the_32_node_head():
    # From Slurm's backfill unit test (SLURM_REFERENCE §4.2): 32 nodes, job 1 holds one,
    # job 2 needs all 32, job 3 needs 31 for 5 minutes and starts now.
    ns = nodes("n", 32, cpus=4)
    busy = (running(10, ("n1", 4, 1000), end=NOW + 3600),)
    pending = (job(2, min_nodes=32, ntasks=128, time_limit=3600.0, admin_priority=100),
               job(3, min_nodes=31, ntasks=124, time_limit=300.0, admin_priority=90))
    plan = solve(snapshot(ns, pending=pending, running_jobs=busy, policy=EASY))
    assert set(started(plan)) == {3}
    assert decision(plan, 2).expected_start == NOW + 3600


def test_job_blocked_by_work_that_never_ends_gets_no_reservation():
    busy = (running(10, ("n1", 8, 1000), end=None),)
    pending = (job(1, min_nodes=2, ntasks=16, time_limit=60.0, admin_priority=100),
               job(2, ntasks=8, admin_priority=90))
    plan = solve(snapshot(nodes("n", 2), pending=pending, running_jobs=busy, policy=EASY))
    assert started(plan) == {2: ("n2",)}
    assert decision(plan, 1).expected_start is None and not decision(plan, 1).reserved


def test_partition_default_time_is_the_backfill_limit():
    ns = nodes("n", 2)
    parts = (partition("cpu", ns, default_time=600.0, max_time=86400.0),)
    busy = (running(10, ("n1", 8, 1000), end=NOW + 3600),)
    pending = (job(1, min_nodes=2, ntasks=16, admin_priority=100),
               job(2, ntasks=4, admin_priority=90))          # 600 s by default: backfills
    plan = solve(snapshot(ns, parts, pending=pending, running_jobs=busy, policy=EASY))
    assert started(plan) == {2: ("n2",)}
    assert plan.starts[0].time_limit == 600.0
