"""Slurm's own backfill scenarios, in the spirit of its unit test (SLURM_REFERENCE §4.2:
testsuite/slurm_unit/backfill/backfill_test.c, 32 nodes x 4 cores, CR_Core) and of the example in
the backfill plugin's header, written for this solver and worked out by hand; plus the bf_*
SchedulerParameters this solver honours. Times are offsets from NOW in seconds."""
from __future__ import annotations

import random

import pytest

from solver import Reason, SchedulingPolicy, solve
from tests.solver.builders import NOW, decision, job, nodes, reasons, running, snapshot, started

EASY = SchedulingPolicy()
CONSERVATIVE = SchedulingPolicy(reservation_depth=1_000_000)


def _cluster():
    """32 nodes of 4 cores; memory is not a consumable (CR_Core): jobs ask for 1 MiB."""
    return nodes("n", 32, cpus=4, mem=1000)


def _whole_nodes(job_id: int, count: int, limit: float, priority: int):
    return job(job_id, min_nodes=count, ntasks=4 * count, time_limit=limit,
               admin_priority=priority, mem_per_node_mb=1)


@pytest.mark.parametrize("policy", [EASY, CONSERVATIVE])
def test_one_node_job_runs_32_node_job_waits_31_node_short_job_backfills(policy):
    pending = (_whole_nodes(1, 1, 3600.0, 300), _whole_nodes(2, 32, 3600.0, 200),
               _whole_nodes(3, 31, 300.0, 100))
    plan = solve(snapshot(_cluster(), pending=pending, policy=policy))
    assert set(started(plan)) == {1, 3}
    assert "n1" in started(plan)[1] and "n1" not in started(plan)[3]
    assert reasons(plan) == {2: Reason.RESOURCES}
    head = decision(plan, 2)
    assert head.reserved and head.expected_start == NOW + 3600     # when job 1 ends
    assert len(head.expected_nodes) == 32


def test_31_node_job_too_long_to_backfill_waits_behind_the_32_node_job():
    pending = (_whole_nodes(1, 1, 3600.0, 300), _whole_nodes(2, 32, 3600.0, 200),
               _whole_nodes(3, 31, 3601.0, 100))
    plan = solve(snapshot(_cluster(), pending=pending, policy=EASY))
    assert set(started(plan)) == {1}
    assert reasons(plan) == {2: Reason.RESOURCES, 3: Reason.PRIORITY}
    assert decision(plan, 3).expected_start == NOW + 7200     # after job 2


def _ticket_20847_plan(policy, seed: int):
    """Busy nodes ending at staggered times; a queue of whole-node jobs of mixed sizes and one
    common limit, in priority order (higher job id, lower priority)."""
    rng = random.Random(seed)
    views = _cluster()
    busy = tuple(running(100 + i, (v.name, 4, 1), end=NOW + rng.choice((60, 600, 1800, 3600)))
                 for i, v in enumerate(views) if rng.random() < 0.8)
    pending = tuple(_whole_nodes(i, rng.choice((1, 2, 4, 8, 16, 24, 31, 32)), 1200.0, 1000 - i)
                    for i in range(1, 25))
    return pending, solve(snapshot(views, pending=pending, running_jobs=busy, policy=policy))


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("policy", [EASY, CONSERVATIVE])
def test_ticket_20847_no_lower_priority_job_of_as_many_nodes_starts_earlier(policy, seed):
    pending, plan = _ticket_20847_plan(policy, seed)
    size = {j.job_id: j.min_nodes for j in pending}
    start = {s.job_id: NOW for s in plan.starts}
    start.update({d.job_id: d.expected_start for d in plan.pending if d.expected_start is not None})
    assert all(d.expected_start is not None for d in plan.pending)   # everything ends
    for high in size:
        for low in size:
            if low > high and size[low] >= size[high]:
                assert start[low] >= start[high], (high, low, start[high], start[low])


def test_ticket_20847_by_hand():
    # 4 nodes: n1 busy until +100, n2 until +200, n3 until +300, n4 idle. Conservative.
    views = nodes("n", 4, cpus=4, mem=1000)
    busy = (running(10, ("n1", 4, 1), end=NOW + 100), running(11, ("n2", 4, 1), end=NOW + 200),
            running(12, ("n3", 4, 1), end=NOW + 300))
    pending = (
        _whole_nodes(1, 2, 1000.0, 50),   # n1 + n4 at +100, until +1100
        _whole_nodes(2, 3, 1000.0, 40),   # needs 3 of the 2 left until +1100: at +1100
        _whole_nodes(3, 1, 50.0, 30),     # n4 until +50, before job 1 needs it: starts now
        _whole_nodes(4, 2, 500.0, 20),    # n2 + n3 from +300 to +800: reserved there
        _whole_nodes(5, 3, 100.0, 10),    # as big as job 2: never ahead of it
    )
    plan = solve(snapshot(views, pending=pending, running_jobs=busy, policy=CONSERVATIVE))
    assert started(plan) == {3: ("n4",)}
    expected = {d.job_id: (d.expected_start - NOW, d.expected_nodes) for d in plan.pending}
    assert expected == {1: (100, ("n1", "n4")), 2: (1100, ("n1", "n2", "n3")),
                        4: (300, ("n2", "n3")), 5: (2100, ("n1", "n2", "n3"))}


def test_plugin_header_example_backfills_around_a_required_node():
    # lx[01-08], a job on lx[01-04]. The first job needs five nodes including lx05; the next
    # needs any three for longer than the first will wait: it may start only on lx[06-08].
    views = nodes("lx0", 8, cpus=4, mem=1000)
    busy = tuple(running(10 + i, (f"lx0{i}", 4, 1), end=NOW + 600) for i in range(1, 5))
    pending = (job(1, min_nodes=5, nodelist=("lx05",), ntasks=20, time_limit=600.0,
                   admin_priority=9, mem_per_node_mb=1),
               _whole_nodes(2, 3, 3600.0, 8))
    plan = solve(snapshot(views, pending=pending, running_jobs=busy, policy=EASY))
    assert started(plan) == {2: ("lx06", "lx07", "lx08")}
    head = decision(plan, 1)
    assert head.expected_start == NOW + 600 and head.expected_nodes[0] == "lx05"


@pytest.mark.parametrize("policy", [EASY, CONSERVATIVE])
def test_bf_max_job_test_500_of_1000(policy):
    # Every node busy for an hour; 1,000 one-node jobs. Backfill looks at the first 500 only:
    # job 500 gets an expected start, job 501 does not.
    busy = tuple(running(5000 + i, (v.name, 4, 1), end=NOW + 3600)
                 for i, v in enumerate(_cluster()))
    pending = tuple(job(i, ntasks=4, time_limit=600.0, submit=NOW - 10_000 + i, mem_per_node_mb=1)
                    for i in range(1, 1001))
    bounded = SchedulingPolicy(reservation_depth=policy.reservation_depth, bf_max_job_test=500)
    plan = solve(snapshot(_cluster(), pending=pending, running_jobs=busy, policy=bounded))
    assert plan.starts == ()
    assert decision(plan, 500).expected_start is not None
    assert decision(plan, 501).expected_start is None
    assert all((decision(plan, i).expected_start is None) == (i > 500) for i in range(1, 1001))
    full = solve(snapshot(_cluster(), pending=pending, running_jobs=busy, policy=policy))
    assert decision(full, 1000).expected_start is not None


def test_bf_window_limits_reservations_and_forecasts():
    busy = (running(10, ("n1", 8, 100), end=NOW + 7200),)
    pending = (job(1, min_nodes=2, ntasks=16, time_limit=600.0, admin_priority=9),
               job(2, ntasks=8, admin_priority=8))
    wide = solve(snapshot(nodes("n", 2), pending=pending, running_jobs=busy, policy=EASY))
    assert decision(wide, 1).reserved and started(wide) == {}
    # bf_window=60 (one hour): job 1 cannot be planned, so nothing protects it from job 2.
    narrow = solve(snapshot(nodes("n", 2), pending=pending, running_jobs=busy,
                            policy=SchedulingPolicy(bf_window=3600.0)))
    assert decision(narrow, 1).expected_start is None and not decision(narrow, 1).reserved
    assert started(narrow) == {2: ("n2",)}


def test_bf_resolution_rounds_ends_up():
    busy = (running(10, ("n1", 8, 100), end=NOW + 130),)
    pending = (job(1, min_nodes=2, ntasks=16, time_limit=600.0, admin_priority=9),
               job(2, ntasks=8, time_limit=150.0, admin_priority=8))
    exact = solve(snapshot(nodes("n", 2), pending=pending, running_jobs=busy, policy=EASY))
    assert decision(exact, 1).expected_start == NOW + 130 and started(exact) == {}
    # bf_resolution=60: job 1's start rounds up to +180, so job 2 (150 s) now fits before it.
    coarse = solve(snapshot(nodes("n", 2), pending=pending, running_jobs=busy,
                            policy=SchedulingPolicy(bf_resolution=60.0)))
    assert decision(coarse, 1).expected_start == NOW + 180
    assert started(coarse) == {2: ("n2",)}
