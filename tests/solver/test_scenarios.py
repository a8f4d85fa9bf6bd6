"""Table-driven scenarios of the main pass: reasons, blocking, placement rules."""
from __future__ import annotations

import pytest

from solver import NodeState, PartitionState, Reason, SchedulingPolicy, solve
from tests.solver.builders import (
    NOW, decision, job, node, nodes, partition, reasons, running, snapshot, start_of, started,
)


# --- reasons before placement -------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"held": True, "hold_reason": "JobHeldUser"}, Reason.JOB_HELD_USER),
    ({"held": True, "hold_reason": "JobHeldAdmin"}, Reason.JOB_HELD_ADMIN),
    ({"held": True}, Reason.JOB_HELD_USER),
    ({"begin_time": NOW + 60}, Reason.BEGIN_TIME),
    ({"dependency_reason": "Dependency"}, Reason.DEPENDENCY),
    ({"dependency_reason": "DependencyNeverSatisfied"}, Reason.DEPENDENCY_NEVER_SATISFIED),
    ({"time_limit": 7200.0}, Reason.PARTITION_TIME_LIMIT),
    ({"min_nodes": 3}, Reason.PARTITION_NODE_LIMIT),
])
def test_ineligible_jobs_wait_with_their_reason(kwargs, reason):
    ns = nodes("n", 4)
    snap = snapshot(ns, (partition("cpu", ns, max_time=3600.0, max_nodes=2),),
                    pending=(job(1, **kwargs),))
    plan = solve(snap)
    assert plan.starts == ()
    assert reasons(plan) == {1: reason}


def test_begin_time_in_the_past_is_eligible():
    plan = solve(snapshot(nodes("n", 1), pending=(job(1, begin_time=NOW - 1),)))
    assert started(plan) == {1: ("n1",)}


@pytest.mark.parametrize(("states", "reason"), [
    ((PartitionState.DOWN,), Reason.PARTITION_DOWN),
    ((PartitionState.INACTIVE,), Reason.PARTITION_INACTIVE),
    ((PartitionState.INACTIVE, PartitionState.DOWN), Reason.PARTITION_DOWN),
])
def test_partition_down_or_inactive(states, reason):
    ns = nodes("n", 1)
    parts = tuple(partition(f"p{i}", ns, state=s) for i, s in enumerate(states))
    plan = solve(snapshot(ns, parts, pending=(job(1, tuple(p.name for p in parts)),)))
    assert reasons(plan) == {1: reason}


def test_unknown_partition_is_down_with_detail():
    plan = solve(snapshot(nodes("n", 1), pending=(job(1, "nope"),)))
    assert reasons(plan) == {1: Reason.PARTITION_DOWN}
    assert "nope" in decision(plan, 1).detail


def test_drained_partition_still_starts_queued_jobs():
    ns = nodes("n", 1)
    plan = solve(snapshot(ns, (partition("cpu", ns, state=PartitionState.DRAIN),),
                          pending=(job(1),)))
    assert started(plan) == {1: ("n1",)}


def test_required_node_down_is_req_node_not_avail():
    ns = (node("n1"), node("n2", state=NodeState.DOWN))
    plan = solve(snapshot(ns, pending=(job(1, nodelist=("n2",)), job(2))))
    assert reasons(plan) == {1: Reason.NODES_DOWN}
    assert started(plan) == {2: ("n1",)}  # not a Resources block


# --- blocking -----------------------------------------------------------------------------
# These check the main pass alone: with backfill on, a job blocked forever by work that never
# ends gets no reservation (as in Slurm, beyond bf_window), so the jobs behind it would start.
MAIN_ONLY = SchedulingPolicy(backfill=False)


def test_blocked_partition_gives_priority_to_lower_jobs():
    ns = nodes("n", 2)
    other = nodes("m", 1)
    parts = (partition("cpu", ns), partition("other", other))
    pending = (
        job(1, ntasks=8, admin_priority=100),            # takes n1
        job(2, min_nodes=2, ntasks=16, admin_priority=90),  # needs both nodes: Resources
        job(3, ntasks=1, admin_priority=80),             # would fit n2 but partition is blocked
        job(4, "other", ntasks=1, admin_priority=70),    # other partition unaffected
    )
    plan = solve(snapshot(ns + other, parts, pending=pending, policy=MAIN_ONLY))
    assert started(plan) == {1: ("n1",), 4: ("m1",)}
    assert reasons(plan) == {2: Reason.RESOURCES, 3: Reason.PRIORITY}
    assert "needs 2 node(s)" in decision(plan, 2).detail
    assert decision(plan, 3).detail == "waits behind job 2 in partition cpu"


def test_impossible_job_does_not_block_its_partition():
    # one node wider than any node: Resources, with the diagnosis, and the partition moves on
    plan = solve(snapshot(nodes("n", 2), pending=(job(1, cpus_per_task=9, admin_priority=9), job(2))))
    assert reasons(plan) == {1: Reason.RESOURCES}
    assert "can never run" in decision(plan, 1).detail
    assert 2 in started(plan)


def test_more_than_the_partition_has_waits_with_partition_config():
    # Slurm 22.05 here (cpu = 2 nodes x 8 CPUs): `sbatch -n 64`, `-n 17`, `-N 3` were accepted
    # and pend with Reason PartitionConfig; lower-priority work still starts.
    plan = solve(snapshot(nodes("n", 2), pending=(
        job(1, ntasks=64, admin_priority=9), job(2, min_nodes=3, ntasks=3, admin_priority=8),
        job(3, ntasks=17, admin_priority=7), job(4))))
    assert reasons(plan) == {1: Reason.PARTITION_CONFIG, 2: Reason.PARTITION_CONFIG,
                             3: Reason.PARTITION_CONFIG}
    assert decision(plan, 1).detail == "asks 1 node(s) and 64 CPU(s); partition cpu has 2 node(s) and 16 CPU(s)"
    assert 4 in started(plan)


def test_running_jobs_are_taken_into_account():
    ns = nodes("n", 2)
    busy = (running(10, ("n1", 6, 1000)), running(11, ("n2", 8, 1000)))
    plan = solve(snapshot(ns, running_jobs=busy, pending=(job(1, ntasks=4), job(2, ntasks=2)),
                          policy=MAIN_ONLY))
    assert reasons(plan) == {1: Reason.RESOURCES, 2: Reason.PRIORITY}
    assert decision(plan, 1).detail == "needs 4 cpu per node; most free: 2 on n1"


# --- placement ----------------------------------------------------------------------------

def test_gpu_indices_lowest_free_and_packing():
    ns = (node("g1", gpus=4), node("g2", gpus=4))
    busy = (running(10, ("g2", 1, 100, (0, 2)), partition="cpu"),)
    plan = solve(snapshot(ns, running_jobs=busy, pending=(job(1, gpus_per_node=2),
                                                          job(2, gpus_per_node=1))))
    # g2 has 2 free (fewest that fit): job 1 packs there on GPUs 1 and 3.
    assert start_of(plan, 1).allocations[0].node == "g2"
    assert start_of(plan, 1).allocations[0].gpus == (1, 3)
    assert start_of(plan, 2).allocations[0].node == "g1"
    assert start_of(plan, 2).allocations[0].gpus == (0,)


def test_gpu_type_and_shortage_detail():
    ns = (node("g1", gpu_types=("a100", "v100", "a100", "v100")), node("g2", gpus=2, gpu_type="v100"))
    plan = solve(snapshot(ns, pending=(job(1, gpus_per_node=2, gpu_type="a100"),
                                       job(2, gpus_per_node=1, gpu_type="a100"),
                                       job(3, gpus_per_node=3, gpu_type="v100"))))
    assert start_of(plan, 1).allocations[0].gpus == (0, 2)
    assert reasons(plan)[2] == Reason.RESOURCES
    assert decision(plan, 2).detail == "needs 1 a100 gpu per node; most free: 0 on g1"
    assert "can never run" in decision(plan, 3).detail


def test_gpus_total_on_one_node_and_split_over_nodes():
    ns = nodes("g", 3, gpus=4)
    plan = solve(snapshot(ns, pending=(job(1, gpus_total=3), job(2, gpus_total=3, min_nodes=2))))
    assert [len(a.gpus) for a in start_of(plan, 1).allocations] == [3]
    # Every node must have ceil(3/2) free (g1 has only 1 left); the first node takes the extra.
    assert [(a.node, len(a.gpus)) for a in start_of(plan, 2).allocations] == [("g2", 2), ("g3", 1)]


def test_cpu_jobs_prefer_nodes_without_gpus():
    ns = (node("g1", gpus=2), node("c1"))
    plan = solve(snapshot(ns, pending=(job(1), job(2, ntasks=8), job(3))))
    assert started(plan) == {1: ("c1",), 2: ("g1",), 3: ("c1",)}


def test_weight_then_partition_order():
    ns = (node("a", weight=5), node("b", weight=1), node("c", weight=1))
    parts = (partition("cpu", ("c", "a", "b")),)
    plan = solve(snapshot(ns, parts, pending=(job(1, exclusive=True), job(2, exclusive=True),
                                              job(3, exclusive=True))))
    assert started(plan) == {1: ("c",), 2: ("b",), 3: ("a",)}


@pytest.mark.parametrize(("kwargs", "policy", "memory", "fits_second"), [
    ({"mem_per_node_mb": 4000}, SchedulingPolicy(), 4000, True),
    ({"mem_per_node_mb": None, "mem_per_cpu_mb": 1000, "ntasks": 2}, SchedulingPolicy(), 2000, True),
    ({"mem_per_node_mb": 0}, SchedulingPolicy(), 16000, False),
    # No --mem and no DefMemPerCPU: Slurm gives the whole node's memory.
    ({"mem_per_node_mb": None}, SchedulingPolicy(), 16000, False),
    ({"mem_per_node_mb": None, "ntasks": 3}, SchedulingPolicy(default_mem_per_cpu_mb=500),
     1500, True),
])
def test_memory_rules(kwargs, policy, memory, fits_second):
    plan = solve(snapshot(nodes("n", 1), pending=(job(1, **kwargs), job(2, **kwargs)), policy=policy))
    assert start_of(plan, 1).allocations[0].memory_mb == memory
    assert (2 in started(plan)) is fits_second


def test_whole_node_memory_waits_for_an_empty_node():
    busy = (running(10, ("n1", 1, 10)),)
    plan = solve(snapshot(nodes("n", 1), running_jobs=busy, pending=(job(1, mem_per_node_mb=None),)))
    assert reasons(plan) == {1: Reason.RESOURCES}
    assert "all memory" in decision(plan, 1).detail


def test_exclusive_takes_all_cpus_and_gpus():
    ns = (node("g1", cpus=16, gpus=4),)
    plan = solve(snapshot(ns, pending=(job(1, exclusive=True, mem_per_cpu_mb=100, mem_per_node_mb=None),
                                       job(2))))
    alloc = start_of(plan, 1).allocations[0]
    assert (alloc.cpus, alloc.memory_mb, alloc.gpus) == (16, 1600, (0, 1, 2, 3))
    assert reasons(plan) == {2: Reason.RESOURCES}


def test_exclusive_needs_an_idle_node():
    busy = (running(10, ("n1", 1, 10)),)
    plan = solve(snapshot(nodes("n", 2), running_jobs=busy, pending=(job(1, exclusive=True),)))
    assert started(plan) == {1: ("n2",)}


def test_nodelist_exclude_and_features():
    ns = (node("n1", features=("ib",)), node("n2"), node("n3", features=("ib", "big")), node("n4"))
    plan = solve(snapshot(ns, pending=(
        job(1, nodelist=("n4",), exclusive=True),
        job(2, exclude=("n1", "n2", "n4"), exclusive=True),
        job(3, features=("ib",), exclusive=True),
        job(4, min_nodes=2, nodelist=("n2",), exclusive=True),
        job(5, features=("gpu",)),
    )))
    assert started(plan) == {1: ("n4",), 2: ("n3",), 3: ("n1",)}
    assert reasons(plan) == {4: Reason.RESOURCES, 5: Reason.RESOURCES}
    assert "can never run" in decision(plan, 5).detail


def test_nodelist_counts_as_node_count_and_is_placed_first():
    plan = solve(snapshot(nodes("n", 3), pending=(job(1, nodelist=("n3", "n2")),)))
    assert started(plan) == {1: ("n3", "n2")}


def test_required_node_outside_partition_never_fits():
    ns = nodes("n", 2)
    plan = solve(snapshot(ns, (partition("cpu", ns[:1]),), pending=(job(1, nodelist=("n2",)),)))
    assert reasons(plan) == {1: Reason.RESOURCES}


def test_down_and_drained_nodes_take_nothing_new():
    ns = (node("n1", state=NodeState.DOWN), node("n2", state=NodeState.DRAIN), node("n3"))
    plan = solve(snapshot(ns, pending=(job(1, exclusive=True), job(2))))
    assert started(plan) == {1: ("n3",)}
    assert reasons(plan) == {2: Reason.RESOURCES}


def test_multi_node_job_gets_one_allocation_per_node():
    plan = solve(snapshot(nodes("n", 4), pending=(job(1, min_nodes=3, ntasks=6, cpus_per_task=2),)))
    allocs = start_of(plan, 1).allocations
    assert [(a.node, a.cpus) for a in allocs] == [("n1", 4), ("n2", 4), ("n3", 4)]


# --- partitions and time limits -----------------------------------------------------------

def test_multi_partition_starts_in_first_that_fits_by_tier_then_given_order():
    a, b, c = node("a1"), node("b1"), node("c1")
    parts = (partition("pa", (a,)), partition("pb", (b,)), partition("pc", (c,), priority_tier=5))
    plan = solve(snapshot((a, b, c), parts, pending=(
        job(1, ("pa", "pb", "pc"), exclusive=True),
        job(2, ("pa", "pb", "pc"), exclusive=True),
        job(3, ("pb", "pa"), exclusive=True),
        job(4, ("pa", "pb"), exclusive=True),
    )))
    assert {s.job_id: s.partition for s in plan.starts} == {1: "pc", 2: "pa", 3: "pb"}
    assert reasons(plan) == {4: Reason.RESOURCES}


@pytest.mark.parametrize(("job_limit", "default", "max_time", "expected"), [
    (600.0, 1200.0, 3600.0, 600.0),
    (None, 1200.0, 3600.0, 1200.0),
    (None, None, 3600.0, 3600.0),
    (None, None, None, None),
    (7200.0, None, None, 7200.0),
])
def test_time_limit_fill_in(job_limit, default, max_time, expected):
    ns = nodes("n", 1)
    snap = snapshot(ns, (partition("cpu", ns, default_time=default, max_time=max_time),),
                    pending=(job(1, time_limit=job_limit),))
    assert start_of(solve(snap), 1).time_limit == expected


def test_time_limit_filters_partitions_of_a_multi_partition_job():
    ns = nodes("n", 2)
    parts = (partition("short", ns[:1], max_time=60.0), partition("long", ns[1:]))
    plan = solve(snapshot(ns, parts, pending=(job(1, ("short", "long"), time_limit=600.0),)))
    assert {s.partition for s in plan.starts} == {"long"}
