"""Hypothesis properties of backfill on random clusters and queues.

The central one replays time: start the plan's starts, let every job run exactly its time limit,
and check that at each reserved job's expected start the cluster holds everything active then
(running jobs, started jobs, reservations begun and not yet over) with that job included.
"""
from __future__ import annotations

import os
import random
from collections import Counter, defaultdict
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver import NodeState, PartitionState, Reason, RunningJob, SchedulingPolicy, solve
from solver.backfill import applied_time_limit
from solver.shape import shape_of
from tests.solver.builders import NOW, snapshot
from tests.solver.test_properties import build_cluster, random_job, running_jobs

SETTINGS = settings(max_examples=int(os.environ.get("SOLVER_EXAMPLES", "200")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
INF = float("inf")


@st.composite
def scenarios(draw):
    """Busy clusters (mostly UP nodes and partitions, finite ends, jobs with limits) so that
    jobs block, reservations are made and backfill has room to act; the odd held, begin-time,
    constrained or unlimited job stays in the mix."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    views, parts = build_cluster(rng, draw(st.integers(1, 6)), draw(st.integers(1, 3)))
    views = tuple(v if rng.random() < 0.2 else replace(v, state=NodeState.UP) for v in views)
    parts = tuple(p if rng.random() < 0.2 else replace(p, state=PartitionState.UP)
                  for p in parts)
    busy = tuple(
        RunningJob(r.job_id, r.partition, r.allocations, r.start_time,
                   rng.choice((None, NOW - 5, NOW + 60, NOW + 600, NOW + rng.randint(1, 9000),
                               NOW + rng.randint(1, 9000))))
        for r in running_jobs(rng, views, draw(st.integers(0, 10))))
    pending = []
    for job_id in range(1, draw(st.integers(0, 16)) + 1):
        job = random_job(rng, job_id, views, parts)
        if rng.random() < 0.8:
            job = replace(job, held=False, begin_time=0.0, nodelist=(), exclude=(), features=(),
                          partitions=tuple(p for p in job.partitions if p != "ghost") or ("p0",),
                          time_limit=rng.choice((job.time_limit, 60.0, 300.0, 1800.0, 5000.0)))
        pending.append(job)
    policy = SchedulingPolicy(
        backfill=True, reservation_depth=rng.choice((1, 1, 3, 1_000_000)),
        priority_weight_age=rng.choice((0, 1000)), priority_weight_job_size=rng.choice((0, 100)),
        default_mem_per_cpu_mb=rng.choice((None, 500)))
    return snapshot(views, parts, pending=tuple(pending), running_jobs=busy, policy=policy)


def _check_node(view, cpus: int, mem: int, used_gpus: list[int], typed: Counter, untyped: int):
    """The node holds these CPUs, MiB, concrete GPU indices and counted GPU demands at once."""
    assert cpus <= view.cpus and mem <= view.memory_mb
    assert len(used_gpus) == len(set(used_gpus))
    assert set(used_gpus) <= {g.index for g in view.gpus}
    type_of = {g.index: g.type for g in view.gpus}
    used_by_type = Counter(type_of[g] for g in used_gpus)
    capacity = Counter(g.type for g in view.gpus)
    for gpu_type, count in typed.items():
        assert used_by_type[gpu_type] + count <= capacity[gpu_type]
    assert len(used_gpus) + sum(typed.values()) + untyped <= len(view.gpus)


@SETTINGS
@given(scenarios())
def test_never_oversubscribes_now(snap):
    plan = solve(snap)
    by_name = {v.name: v for v in snap.nodes}
    parts = {p.name: p for p in snap.partitions}
    cpus, mem, gpus = Counter(), Counter(), defaultdict(list)
    for alloc in [a for r in snap.running for a in r.allocations] + [
            a for s in plan.starts for a in s.allocations]:
        cpus[alloc.node] += alloc.cpus
        mem[alloc.node] += alloc.memory_mb
        gpus[alloc.node].extend(alloc.gpus)
    for name, view in by_name.items():
        _check_node(view, cpus[name], mem[name], gpus[name], Counter(), 0)
    for start in plan.starts:
        assert parts[start.partition].state in (PartitionState.UP, PartitionState.DRAIN)
        assert all(by_name[a.node].state is NodeState.UP for a in start.allocations)


@SETTINGS
@given(scenarios())
def test_backfill_never_delays_a_reservation(snap):
    plan = solve(snap)
    by_name = {v.name: v for v in snap.nodes}
    parts = {p.name: p for p in snap.partitions}
    jobs = {j.job_id: j for j in snap.pending}
    # (begin, end, node, cpus, mem, concrete gpus, counted typed gpus, counted untyped gpus)
    holds = []
    for r in snap.running:
        for a in r.allocations:
            holds.append((r.start_time, INF if r.end_time is None else r.end_time,
                          a.node, a.cpus, a.memory_mb, a.gpus, Counter(), 0))
    for s in plan.starts:
        end = INF if s.time_limit is None else snap.now + s.time_limit
        for a in s.allocations:
            holds.append((snap.now, end, a.node, a.cpus, a.memory_mb, a.gpus, Counter(), 0))
    reserved = [d for d in plan.pending if d.reserved]
    for d in reserved:
        job = jobs[d.job_id]
        part = parts[d.expected_partition]
        assert d.reason is Reason.RESOURCES and d.expected_start >= snap.now
        # The variant of the request (node count of a -N range, feature of a [a|b]) it has.
        shape = next(v for v in shape_of(job, snap.policy).variants(len(snap.nodes))
                     if v.node_count == len(d.expected_nodes)
                     and all(v.features <= by_name[n].features for n in d.expected_nodes))
        assert len(d.expected_nodes) == len(set(d.expected_nodes)) == shape.node_count
        assert set(shape.required) <= set(d.expected_nodes)
        limit = applied_time_limit(job, part)
        end = INF if limit is None else d.expected_start + limit
        for position, name in enumerate(d.expected_nodes):
            view = by_name[name]
            assert name in part.nodes and view.state is NodeState.UP
            assert name not in job.exclude and set(job.features) <= view.features
            assert all(choice & view.features for choice in shape.any_of)
            granted = view.cpus if shape.exclusive else shape.cpus
            typed, untyped = Counter(), 0
            if shape.exclusive:
                untyped = len(view.gpus)
            elif shape.gpu_type:
                typed[shape.gpu_type] = shape.gpus_on(position)
            else:
                untyped = shape.gpus_on(position)
            holds.append((d.expected_start, end, name, granted,
                          shape.memory_for(granted, view.memory_mb), (), typed, untyped))
    for d in reserved:
        at = d.expected_start
        cpus, mem, gpus = Counter(), Counter(), defaultdict(list)
        typed, untyped = defaultdict(Counter), Counter()
        for begin, end, name, c, m, concrete, counted, free_type in holds:
            if begin <= at < end:
                cpus[name] += c
                mem[name] += m
                gpus[name].extend(concrete)
                typed[name].update(counted)
                untyped[name] += free_type
        for name, view in by_name.items():
            _check_node(view, cpus[name], mem[name], gpus[name], typed[name], untyped[name])


@SETTINGS
@given(scenarios())
def test_deterministic_and_every_job_decided_with_a_reason(snap):
    plan = solve(snap)
    assert solve(snap) == plan
    ids = sorted(j.job_id for j in snap.pending)
    assert sorted([s.job_id for s in plan.starts] + [d.job_id for d in plan.pending]) == ids
    assert all(isinstance(d.reason, Reason) and d.reason is not Reason.NONE for d in plan.pending)
    reserved = [d for d in plan.pending if d.reserved]
    assert len(reserved) <= snap.policy.reservation_depth
    for d in plan.pending:
        if d.expected_start is not None:
            assert d.expected_start >= snap.now and d.expected_nodes and d.expected_partition


@SETTINGS
@given(scenarios())
def test_backfill_off_is_the_main_pass(snap):
    """With backfill off the plan is the main pass's: backfill only appends starts to it and
    never changes a decision of a job it does not reconsider."""
    on = solve(snap)
    off = solve(replace(snap, policy=replace(snap.policy, backfill=False)))
    assert on.starts[: len(off.starts)] == off.starts
    assert all(d.expected_start is None and not d.reserved and not d.expected_nodes
               for d in off.pending)
    assert on.priorities == off.priorities
    off_reason = {d.job_id: d.reason for d in off.pending}
    for d in on.pending:
        if off_reason[d.job_id] not in (Reason.RESOURCES, Reason.PRIORITY):
            assert d.reason is off_reason[d.job_id] and d.expected_start is None
