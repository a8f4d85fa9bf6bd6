"""Placement choices worked out by hand: -N ranges, --ntasks-per-node, --gpus-per-task, -C
expressions, GPUs kept together by gres.conf topology, node weights and partitions.

Where a rule was observed on the real Slurm 22.05 of this machine, the test says which command
showed it (partition gpu: n3 and n4, 8 CPUs and 4 GPUs each)."""
from __future__ import annotations

import pytest

from conf.gresconf import gpu_places, parse_gres_conf_text
from solver import GpuDevice, NodeView, Reason, SchedulingPolicy, solve
from solver.shape import ConstraintError, parse_constraint
from tests.solver.builders import (
    NOW, decision, job, node, nodes, partition, reasons, running, snapshot, start_of, started,
)

MAIN_ONLY = SchedulingPolicy(backfill=False)


def _cpus(plan, job_id):
    return [(a.node, a.cpus) for a in start_of(plan, job_id).allocations]


# --- -N min-max ---------------------------------------------------------------------------

def test_node_range_takes_as_many_nodes_as_are_free():
    # `sbatch -p gpu -N 1-2 -n 2 --mem=100` -> NODES 2, n[3-4], 2 CPUs (one task per node).
    plan = solve(snapshot(nodes("n", 3), pending=(job(1, min_nodes=1, max_nodes=2, ntasks=2),)))
    assert _cpus(plan, 1) == [("n1", 1), ("n2", 1)]


def test_node_range_never_more_nodes_than_tasks():
    # `sbatch -p gpu -N 1-2 -n 1` -> NODES 1.
    plan = solve(snapshot(nodes("n", 3), pending=(job(1, min_nodes=1, max_nodes=2, ntasks=1),)))
    assert _cpus(plan, 1) == [("n1", 1)]


def test_node_range_without_ntasks_is_one_task_per_node():
    # `sbatch -p gpu -N 1-2 --mem=100` (no -n) -> NODES 2, CPUS 2.
    plan = solve(snapshot(nodes("n", 3), pending=(
        job(1, min_nodes=1, max_nodes=2, ntasks=1, ntasks_given=False, cpus_per_task=3),)))
    assert _cpus(plan, 1) == [("n1", 3), ("n2", 3)]


def test_node_range_spreads_tasks_over_the_nodes_it_gets():
    # `sbatch -p gpu -N 1-4 -n 6` on the 2-node partition -> NODES 2, CPUS 6.
    ns = nodes("n", 2)
    plan = solve(snapshot(ns, pending=(job(1, min_nodes=1, max_nodes=4, ntasks=6),)))
    assert _cpus(plan, 1) == [("n1", 3), ("n2", 3)]


def test_node_range_with_ntasks_per_node():
    # `sbatch -p gpu -N 1-2 -n 2 --ntasks-per-node=2` -> NODES 2, CPUS 4.
    plan = solve(snapshot(nodes("n", 2), pending=(
        job(1, min_nodes=1, max_nodes=2, ntasks=2, ntasks_per_node=2),)))
    assert _cpus(plan, 1) == [("n1", 2), ("n2", 2)]


def test_node_range_shrinks_to_what_is_free_and_waits_below_its_minimum():
    busy = (running(10, ("n1", 8, 100)), running(11, ("n2", 8, 100)))
    plan = solve(snapshot(nodes("n", 4), running_jobs=busy, policy=MAIN_ONLY, pending=(
        job(1, min_nodes=2, max_nodes=4, ntasks=16, admin_priority=9),
        job(2, min_nodes=2, max_nodes=3, ntasks=2, admin_priority=8),
    )))
    assert _cpus(plan, 1) == [("n3", 8), ("n4", 8)]       # 2 of 4: 16 tasks over 2 nodes
    assert reasons(plan) == {2: Reason.RESOURCES}          # n3, n4 have no CPU left


def test_node_range_respects_partition_max_nodes():
    ns = nodes("n", 4)
    plan = solve(snapshot(ns, (partition("cpu", ns, max_nodes=3),), pending=(
        job(1, min_nodes=1, max_nodes=8, ntasks=8),)))
    assert len(start_of(plan, 1).allocations) == 3


def test_node_range_that_cannot_fit_one_node_takes_more():
    # 12 tasks never fit one 8-CPU node; the range still allows two.
    plan = solve(snapshot(nodes("n", 2), pending=(job(1, min_nodes=1, max_nodes=2, ntasks=12),)))
    assert _cpus(plan, 1) == [("n1", 6), ("n2", 6)]


def test_backfill_reserves_a_node_range_at_its_earliest_variant():
    # Both nodes busy until +600 and +1200. A -N 1-2 job (1 task per node) is reserved at +600
    # on one node rather than waiting until +1200 for two.
    busy = (running(10, ("n1", 8, 100), end=NOW + 600), running(11, ("n2", 8, 100), end=NOW + 1200))
    plan = solve(snapshot(nodes("n", 2), running_jobs=busy, pending=(
        job(1, min_nodes=1, max_nodes=2, ntasks=2, time_limit=60.0),)))
    head = decision(plan, 1)
    assert (head.reserved, head.expected_start, head.expected_nodes) == (True, NOW + 600, ("n1",))


def test_ntasks_per_node_sets_cpus_on_every_node():
    plan = solve(snapshot(nodes("n", 3), pending=(
        job(1, min_nodes=2, ntasks=4, ntasks_per_node=3, cpus_per_task=2),)))
    assert _cpus(plan, 1) == [("n1", 6), ("n2", 6)]


# --- --gpus-per-task ---------------------------------------------------------------------

def test_gpus_per_task_follows_the_tasks_on_each_node():
    # `sbatch -p gpu -n 3 --gpus-per-task=1` -> one node, GRES=gpu:3(IDX:0-2).
    ns = nodes("g", 3, gpus=4)
    plan = solve(snapshot(ns, pending=(job(1, ntasks=3, gpus_per_task=1),
                                       job(2, min_nodes=2, ntasks=3, gpus_per_task=1))))
    assert [(a.node, a.gpus) for a in start_of(plan, 1).allocations] == [("g1", (0, 1, 2))]
    # Block distribution: 2 tasks on the first node, 1 on the second (g1 has 1 GPU left).
    assert [(a.node, len(a.gpus)) for a in start_of(plan, 2).allocations] == [("g2", 2), ("g3", 1)]


# --- --gpus over the fewest nodes --------------------------------------------------------

def test_gpus_total_without_a_node_count_takes_the_fewest_nodes():
    # `sbatch -p gpu --gpus=6` with GPUs 0-1 of n3 busy -> NODES 2: n3 GRES=gpu:2(IDX:2-3),
    # n4 GRES=gpu:4(IDX:0-3). The controller passes such a job a node range of 1..6.
    ns = (node("n3", gpus=4), node("n4", gpus=4))
    busy = (running(10, ("n3", 1, 100, (0, 1))),)
    plan = solve(snapshot(ns, running_jobs=busy, pending=(
        job(1, gpus_total=6, max_nodes=6, ntasks_given=False),)))
    assert sorted((a.node, a.gpus) for a in start_of(plan, 1).allocations) == [
        ("n3", (2, 3)), ("n4", (0, 1, 2, 3))]


def test_gpus_total_spread_packs_the_last_node_and_needs_no_more_nodes_than_it_must():
    ns = (node("g1", gpus=8), node("g2", gpus=8), node("g3", gpus=8))
    busy = (running(10, ("g2", 1, 100, (0, 1, 2, 3, 4))), running(11, ("g3", 1, 100, (0,))))
    plan = solve(snapshot(ns, running_jobs=busy, pending=(
        job(1, gpus_total=10, max_nodes=10, ntasks_given=False),
        job(2, gpus_total=8, max_nodes=8, ntasks_given=False))))
    # Job 1: g1's 8, then the 2 left from g2 (3 free: the fullest node that holds 2), not g3.
    assert [(a.node, len(a.gpus)) for a in start_of(plan, 1).allocations] == [("g1", 8), ("g2", 2)]
    # Job 2: 8 GPUs; g3 has 7 free and g2 1: two nodes, none idle left to take whole.
    assert sorted((a.node, len(a.gpus)) for a in start_of(plan, 2).allocations) == [
        ("g2", 1), ("g3", 7)]


def test_gpus_total_spread_keeps_a_gpu_on_every_node_of_a_minimum():
    plan = solve(snapshot(nodes("g", 3, gpus=8), pending=(
        job(1, gpus_total=8, min_nodes=2, max_nodes=4, ntasks_given=False),)))
    assert [len(a.gpus) for a in start_of(plan, 1).allocations] == [7, 1]


def test_gpus_total_spread_that_can_never_fit_says_so():
    plan = solve(snapshot(nodes("g", 2, gpus=4), pending=(
        job(1, gpus_total=9, max_nodes=9, ntasks_given=False),)))
    assert reasons(plan) == {1: Reason.RESOURCES}
    assert "can never run" in decision(plan, 1).detail and "hold 8" in decision(plan, 1).detail


def test_gpus_total_spread_is_reserved_by_backfill():
    ns = nodes("g", 2, gpus=4)
    busy = (running(10, ("g1", 1, 100, (0, 1, 2, 3)), end=NOW + 600),)
    plan = solve(snapshot(ns, running_jobs=busy, pending=(
        job(1, gpus_total=6, max_nodes=6, ntasks_given=False, time_limit=600.0),)))
    head = decision(plan, 1)
    assert head.reserved and head.expected_start == NOW + 600
    assert sorted(head.expected_nodes) == ["g1", "g2"]


# --- constraints ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "parsed"), [
    ("", (frozenset(), frozenset(), ())),
    ("ib", (frozenset({"ib"}), frozenset(), ())),
    ("ib&big", (frozenset({"ib", "big"}), frozenset(), ())),
    ("ib,big", (frozenset({"ib", "big"}), frozenset(), ())),
    ("intel|amd", (frozenset(), frozenset({frozenset({"intel", "amd"})}), ())),
    ("(intel|amd)&ib", (frozenset({"ib"}), frozenset({frozenset({"intel", "amd"})}), ())),
    ("[rack1|rack2]&ib", (frozenset({"ib"}), frozenset(), ("rack1", "rack2"))),
])
def test_parse_constraint(text, parsed):
    assert parse_constraint(text) == parsed


@pytest.mark.parametrize("text", ["ib&", "a||b", "[a|b]&[c|d]", "a*2", "[a|b"])
def test_unreadable_constraint_is_bad_constraints(text):
    with pytest.raises(ConstraintError):
        parse_constraint(text)
    plan = solve(snapshot(nodes("n", 1), pending=(job(1, constraint=text),)))
    assert reasons(plan) == {1: Reason.BAD_CONSTRAINTS}


def test_constraint_and_or_and_matching_or():
    ns = (node("n1", features=("intel", "rack1")), node("n2", features=("amd", "rack2")),
          node("n3", features=("amd", "rack1")), node("n4", features=("arm", "rack2")))
    plan = solve(snapshot(ns, policy=MAIN_ONLY, pending=(
        job(1, constraint="intel|amd", min_nodes=3, exclusive=True, admin_priority=9),
        job(2, constraint="arm&rack2", exclusive=True, admin_priority=8),
    )))
    assert started(plan) == {1: ("n1", "n2", "n3"), 2: ("n4",)}
    # [rack1|rack2]: two nodes of one rack. rack1 has n1, n3; rack2 has n2, n4.
    busy = (running(10, ("n1", 1, 100)),)
    plan = solve(snapshot(ns, running_jobs=busy, pending=(
        job(3, constraint="[rack1|rack2]", min_nodes=2, exclusive=True),)))
    assert started(plan) == {3: ("n2", "n4")}
    plan = solve(snapshot(ns, pending=(job(4, constraint="[rack1|rack2]&amd", min_nodes=2),)))
    assert reasons(plan) == {4: Reason.RESOURCES}
    assert "can never run" in decision(plan, 4).detail


# --- GPUs kept together ------------------------------------------------------------------

GRES_CONF = """
NodeName=g[1-2] Name=gpu Type=a100 File=/dev/nvidia0 Cores=0-15 Links=-1,2,0,0
NodeName=g[1-2] Name=gpu Type=a100 File=/dev/nvidia1 Cores=0-15 Links=2,-1,0,0
NodeName=g[1-2] Name=gpu Type=a100 File=/dev/nvidia2 Cores=16-31 Links=0,0,-1,2
NodeName=g[1-2] Name=gpu Type=a100 File=/dev/nvidia3 Cores=16-31 Links=0,0,2,-1
"""


def _topology_node(name: str) -> NodeView:
    places = gpu_places(parse_gres_conf_text(GRES_CONF), name)
    gpus = tuple(GpuDevice(i, "a100", numa, links) for i, (numa, links) in enumerate(places))
    return NodeView(name, 32, 64000, gpus)


def test_gres_conf_gives_numa_and_links():
    places = gpu_places(parse_gres_conf_text(GRES_CONF), "g1")
    assert places == ((0, (-1, 2, 0, 0)), (0, (2, -1, 0, 0)), (1, (0, 0, -1, 2)),
                      (1, (0, 0, 2, -1)))
    assert gpu_places(parse_gres_conf_text(GRES_CONF), "other") == ()


def test_gpu_pair_sits_on_one_nvlink_island():
    # GPU 1 is busy: the free ones are 0 | 2, 3. A pair goes to the island (2, 3), not to the
    # lowest indices (0, 2), which sit on different islands and NUMA nodes.
    busy = (running(10, ("g1", 1, 100, (1,))),)
    plan = solve(snapshot((_topology_node("g1"),), running_jobs=busy,
                          pending=(job(1, gpus_per_node=2), job(2, gpus_per_node=1))))
    assert start_of(plan, 1).allocations[0].gpus == (2, 3)
    assert start_of(plan, 2).allocations[0].gpus == (0,)


def test_single_gpu_fills_a_half_used_island_first():
    # Best fit: GPU 2 busy, so one more GPU goes to 3 and keeps the island (0, 1) whole.
    busy = (running(10, ("g1", 1, 100, (2,))),)
    plan = solve(snapshot((_topology_node("g1"),), running_jobs=busy,
                          pending=(job(1, gpus_per_node=1), job(2, gpus_per_node=2))))
    assert start_of(plan, 1).allocations[0].gpus == (3,)
    assert start_of(plan, 2).allocations[0].gpus == (0, 1)


def test_gpu_job_prefers_the_node_where_its_gpus_sit_together():
    # Both nodes have two free GPUs; on g1 they sit on different islands (1 and 2 are busy),
    # on g2 they form the island (2, 3). The pair goes to g2; a lone GPU still packs onto g1.
    busy = (running(10, ("g1", 1, 100, (1, 2))), running(11, ("g2", 1, 100, (0, 1))))
    ns = (_topology_node("g1"), _topology_node("g2"))
    plan = solve(snapshot(ns, running_jobs=busy, pending=(job(1, gpus_per_node=2),)))
    assert [(a.node, a.gpus) for a in start_of(plan, 1).allocations] == [("g2", (2, 3))]
    plan = solve(snapshot(ns, running_jobs=busy, pending=(job(1, gpus_per_node=1),)))
    assert [(a.node, a.gpus) for a in start_of(plan, 1).allocations] == [("g1", (0,))]


def test_gres_conf_beside_slurm_conf_reaches_the_snapshot(tmp_path):
    from slurmctld_py.scheduler import GresPlaces
    (tmp_path / "gres.conf").write_text(GRES_CONF)
    places = GresPlaces().refresh(str(tmp_path / "slurm.conf"))
    assert places.of("g2")[2] == (1, (0, 0, -1, 2))
    assert GresPlaces().refresh(str(tmp_path / "nowhere" / "slurm.conf")).of("g2") == ()


def test_numa_groups_without_links():
    gpus = tuple(GpuDevice(i, "", numa=i // 2) for i in range(4))
    busy = (running(10, ("g", 1, 100, (0, 3)),),)
    plan = solve(snapshot((NodeView("g", 8, 16000, gpus),), running_jobs=busy,
                          pending=(job(1, gpus_per_node=1), job(2, gpus_per_node=1))))
    assert (start_of(plan, 1).allocations[0].gpus, start_of(plan, 2).allocations[0].gpus) == (
        (1,), (2,))


def test_three_gpus_span_the_fewest_groups():
    gpus = tuple(GpuDevice(i, "", numa=i // 2) for i in range(6))
    busy = (running(10, ("g", 1, 100, (0,)),),)
    plan = solve(snapshot((NodeView("g", 8, 16000, gpus),), running_jobs=busy,
                          pending=(job(1, gpus_per_node=3),)))
    # Free: 1 | 2, 3 | 4, 5. No group holds three: two whole pairs first, then the next.
    assert start_of(plan, 1).allocations[0].gpus == (2, 3, 4)


# --- packing and CPU-only jobs -----------------------------------------------------------

def test_gpu_jobs_pack_onto_the_fewest_nodes():
    ns = nodes("g", 3, gpus=4)
    busy = (running(10, ("g2", 1, 100, (0,))),)
    pending = tuple(job(i, gpus_per_node=1) for i in range(1, 5)) + (job(5, gpus_per_node=4),)
    plan = solve(snapshot(ns, running_jobs=busy, pending=pending))
    # One-GPU jobs fill g2 (3 free) before touching an idle node; the 4-GPU job gets g1 whole.
    assert [start_of(plan, i).allocations[0].node for i in range(1, 6)] == [
        "g2", "g2", "g2", "g1", "g3"]
    assert start_of(plan, 4).allocations[0].gpus == (0,)


def test_cpu_only_jobs_stay_off_gpu_nodes_while_cpu_nodes_are_free():
    ns = (node("g1", gpus=4), node("c1"), node("c2"), node("g2", gpus=4))
    pending = tuple(job(i, ntasks=8) for i in range(1, 5)) + (job(5, gpus_per_node=4, ntasks=1),)
    plan = solve(snapshot(ns, pending=pending))
    assert started(plan) == {1: ("c1",), 2: ("c2",), 3: ("g1",), 4: ("g2",)}
    assert reasons(plan) == {5: Reason.RESOURCES}   # every node's CPUs are taken


def test_node_weight_beats_partition_order_and_multi_partition_jobs():
    ns = (node("a1", weight=10), node("a2", weight=1), node("b1"))
    parts = (partition("pa", ("a1", "a2")), partition("pb", ("b1",)))
    plan = solve(snapshot(ns, parts, pending=(
        job(1, ("pa", "pb"), exclusive=True), job(2, ("pa", "pb"), exclusive=True),
        job(3, ("pa", "pb"), exclusive=True), job(4, ("pb", "pa"), exclusive=True))))
    assert {s.job_id: (s.partition, s.allocations[0].node) for s in plan.starts} == {
        1: ("pa", "a2"), 2: ("pa", "a1"), 3: ("pb", "b1")}
    assert reasons(plan) == {4: Reason.RESOURCES}


def test_partition_with_several_node_sets():
    # One partition over two node sets of different sizes: a job takes the set that fits it.
    ns = nodes("small", 2, cpus=4) + nodes("big", 1, cpus=32, start=1)
    plan = solve(snapshot(ns, (partition("cpu", ns),), pending=(
        job(1, ntasks=16), job(2, ntasks=4), job(3, ntasks=4), job(4, ntasks=4))))
    assert started(plan) == {1: ("big1",), 2: ("small1",), 3: ("small2",), 4: ("big1",)}
