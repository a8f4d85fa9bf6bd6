"""Hypothesis properties of solve() on random clusters and queues."""
from __future__ import annotations

import math
import os
import random
from collections import Counter, defaultdict
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver import (
    JobRequest, NodeAllocation, NodeState, PartitionState, Reason, RunningJob, SchedulingPolicy,
    solve,
)
from solver.shape import parse_constraint
from tests.solver.builders import NOW, node, partition, snapshot

GPU_TYPES = ("", "a100", "v100")
CONSTRAINTS = ("",) * 6 + ("ib|big", "[ib|big]", "ib&big", "(ib|big)&ib", "big")
# SOLVER_EXAMPLES=5000 runs a deeper search by hand (about 30 s).
SETTINGS = settings(max_examples=int(os.environ.get("SOLVER_EXAMPLES", "300")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _with_topology(rng: random.Random, view):
    """Half the GPU nodes declare where their GPUs sit (NUMA pairs, NVLinks between pairs)."""
    if not view.gpus or rng.random() < 0.5:
        return view
    count = len(view.gpus)
    gpus = tuple(replace(g, numa=g.index // 2 if rng.random() < 0.8 else -1,
                         links=tuple(-1 if j == g.index else int(j // 2 == g.index // 2)
                                     for j in range(count)) if rng.random() < 0.5 else ())
                 for g in view.gpus)
    return replace(view, gpus=gpus)


def build_cluster(rng: random.Random, node_count: int, part_count: int):
    views = tuple(_with_topology(rng,
        node(f"n{i}", cpus=rng.randint(1, 16), mem=rng.choice((1000, 4000, 16000)),
             gpus=rng.choice((0, 0, 2, 4)), gpu_type=rng.choice(GPU_TYPES),
             state=rng.choice((NodeState.UP,) * 4 + (NodeState.DOWN, NodeState.DRAIN)),
             features=tuple(f for f in ("ib", "big") if rng.random() < 0.4),
             weight=rng.randint(1, 3)))
        for i in range(node_count))
    parts = tuple(
        partition(f"p{p}", tuple(rng.sample(views, rng.randint(1, node_count))),
                  state=rng.choice((PartitionState.UP,) * 4 + tuple(PartitionState)),
                  max_time=rng.choice((None, 3600.0)), max_nodes=rng.choice((None, 2)),
                  priority_tier=rng.randint(1, 2), default_time=rng.choice((None, 600.0)))
        for p in range(part_count))
    return views, parts


def running_jobs(rng: random.Random, views, count: int) -> tuple[RunningJob, ...]:
    """Valid running jobs: random slices of what is free, on any node (even DOWN ones)."""
    free = {v.name: [v.cpus, v.memory_mb, [g.index for g in v.gpus]] for v in views}
    jobs = []
    for job_id in range(1000, 1000 + count):
        name = rng.choice(views).name
        cpus, mem, gpus = free[name]
        if cpus == 0:
            continue
        take = (rng.randint(1, cpus), rng.randint(0, mem),
                tuple(rng.sample(gpus, rng.randint(0, len(gpus)))))
        free[name] = [cpus - take[0], mem - take[1], [g for g in gpus if g not in take[2]]]
        jobs.append(RunningJob(job_id, "p0", (NodeAllocation(name, *take),), NOW - 10, None))
    return tuple(jobs)


def random_job(rng: random.Random, job_id: int, views, parts) -> JobRequest:
    mem_choice = rng.choice(("node", "cpu", "zero", "none"))
    names = [v.name for v in views]
    job = JobRequest(
        job_id=job_id, user="u", submit_time=NOW - rng.randint(0, 10_000),
        partitions=tuple(rng.sample([p.name for p in parts] + ["ghost"], rng.randint(1, 2))),
        min_nodes=rng.randint(1, 3), ntasks=rng.randint(1, 8), cpus_per_task=rng.randint(1, 3),
        mem_per_node_mb=(rng.choice((100, 2000, 8000)) if mem_choice == "node"
                         else 0 if mem_choice == "zero" else None),
        mem_per_cpu_mb=rng.choice((100, 1000)) if mem_choice == "cpu" else None,
        gpus_per_node=rng.choice((0, 0, 1, 2)), gpu_type=rng.choice(GPU_TYPES),
        gpus_total=rng.choice((0, 0, 3)), time_limit=rng.choice((None, 60.0, 7200.0)),
        exclusive=rng.random() < 0.3,
        nodelist=tuple(rng.sample(names, 1)) if rng.random() < 0.2 else (),
        exclude=tuple(rng.sample(names, 1)) if rng.random() < 0.2 else (),
        features=tuple(f for f in ("ib", "big") if rng.random() < 0.15),
        held=rng.random() < 0.1, begin_time=NOW + 100 if rng.random() < 0.1 else 0.0,
        nice=rng.choice((0, 0, 50)),
        max_nodes=rng.choice((None, None, None, 2, 4)),
        ntasks_given=rng.random() < 0.8,
        ntasks_per_node=rng.choice((None, None, None, 2)),
        gpus_per_task=rng.choice((0, 0, 0, 1)),
        constraint=rng.choice(CONSTRAINTS),
    )
    if not job.ntasks_given:   # as the controller counts them: one (or --ntasks-per-node) a node
        job = replace(job, ntasks=job.min_nodes * (job.ntasks_per_node or 1))
    return job


@st.composite
def scenarios(draw):
    """Hypothesis draws the sizes and a seed; the seed spells out the details (fast to generate)."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    views, parts = build_cluster(rng, draw(st.integers(1, 6)), draw(st.integers(1, 3)))
    busy = running_jobs(rng, views, draw(st.integers(0, 8)))
    pending = tuple(random_job(rng, i, views, parts) for i in range(1, draw(st.integers(0, 12)) + 1))
    policy = SchedulingPolicy(
        priority_weight_age=rng.choice((0, 1000)), priority_weight_job_size=rng.choice((0, 100)),
        priority_weight_partition=rng.choice((0, 500)),
        default_mem_per_cpu_mb=rng.choice((None, 500)),
    )
    return snapshot(views, parts, pending=pending, running_jobs=busy, policy=policy)


@SETTINGS
@given(scenarios())
def test_never_oversubscribes(snap):
    plan = solve(snap)
    by_name = {v.name: v for v in snap.nodes}
    parts = {p.name: p for p in snap.partitions}
    wanted = {j.job_id: j for j in snap.pending}
    cpus, mem, gpus = Counter(), Counter(), defaultdict(list)
    for alloc in [a for r in snap.running for a in r.allocations] + [
            a for s in plan.starts for a in s.allocations]:
        cpus[alloc.node] += alloc.cpus
        mem[alloc.node] += alloc.memory_mb
        gpus[alloc.node].extend(alloc.gpus)
    for name, view in by_name.items():
        assert cpus[name] <= view.cpus
        assert mem[name] <= view.memory_mb
        assert len(gpus[name]) == len(set(gpus[name]))
        assert set(gpus[name]) <= {g.index for g in view.gpus}
    for start in plan.starts:
        job = wanted[start.job_id]
        assert start.partition in job.partitions
        assert parts[start.partition].state in (PartitionState.UP, PartitionState.DRAIN)
        names = [a.node for a in start.allocations]
        assert len(names) == len(set(names)) >= job.min_nodes
        assert len(names) <= max(job.min_nodes, job.max_nodes or 0, len(set(job.nodelist)))
        max_nodes = parts[start.partition].max_nodes
        assert max_nodes is None or len(names) <= max(max_nodes, len(set(job.nodelist)))
        assert set(job.nodelist) <= set(names)
        assert not set(job.exclude) & set(names)
        every, per_node_or, same_one = parse_constraint(job.constraint)
        if same_one:   # one of the features, the same on every node
            assert any(all(f in by_name[n].features for n in names) for f in same_one)
        for alloc in start.allocations:
            view = by_name[alloc.node]
            assert view.state is NodeState.UP and alloc.node in parts[start.partition].nodes
            assert set(job.features) | every <= view.features
            assert all(choice & view.features for choice in per_node_or)
            if job.gpu_type and not job.exclusive:  # exclusive takes every GPU of the node
                assert all(g.type == job.gpu_type for g in view.gpus if g.index in alloc.gpus)


@SETTINGS
@given(scenarios())
def test_every_job_decided_once_and_deterministic(snap):
    plan = solve(snap)
    ids = [j.job_id for j in snap.pending]
    decided = [s.job_id for s in plan.starts] + [d.job_id for d in plan.pending]
    assert sorted(decided) == sorted(ids)
    assert sorted(j for j, _ in plan.priorities) == sorted(ids)
    assert all(isinstance(d.reason, Reason) and d.reason is not Reason.NONE for d in plan.pending)
    priorities = dict(plan.priorities)
    assert all(d.priority == priorities[d.job_id] for d in plan.pending)
    assert solve(snap) == plan
    # The queue's order in the snapshot does not matter either.
    shuffled = type(snap)(now=snap.now, nodes=snap.nodes, partitions=snap.partitions,
                          running=snap.running, pending=snap.pending[::-1], policy=snap.policy)
    again = solve(shuffled)
    assert (again.starts, again.pending) == (plan.starts, plan.pending)


def _fits_idle(job: JobRequest, snap) -> bool:
    """Independent oracle: could `job` start on the idle cluster in one of its partitions, with
    some node count of its -N range and some feature of its matching OR?"""
    by_name = {v.name: v for v in snap.nodes}
    least = max(job.min_nodes, len(set(job.nodelist)))
    most = max(job.max_nodes or 0, least)
    if job.ntasks_given and not job.ntasks_per_node:
        most = min(most, max(job.ntasks, least))
    every, per_node_or, same_one = parse_constraint(job.constraint)
    every = every | set(job.features)
    for part in snap.partitions:
        if part.name not in job.partitions or part.state not in (PartitionState.UP, PartitionState.DRAIN):
            continue
        if part.max_time is not None and job.time_limit is not None and job.time_limit > part.max_time:
            continue
        if part.max_nodes is not None and job.min_nodes > part.max_nodes:
            continue
        limit = len(set(part.nodes)) if part.max_nodes is None else min(len(set(part.nodes)),
                                                                         part.max_nodes)
        spread = (job.gpus_total and not job.gpus_per_node and not job.gpus_per_task
                  and most > least)
        # --gpus over a node range: any split, at least one GPU a node, the per-node CPUs of
        # the least node count; so one count (the least) decides which nodes are good.
        counts = [least] if spread else range(least, max(least, min(most, limit)) + 1)
        for count in counts:
            tasks = job.ntasks_per_node or math.ceil(job.ntasks / count)
            cpus = tasks * job.cpus_per_task
            if job.gpus_per_node:
                gpus = job.gpus_per_node
            elif job.gpus_per_task:
                gpus = tasks * job.gpus_per_task
            elif spread:
                gpus = 1
            else:
                gpus = math.ceil(job.gpus_total / count)
            for feature in same_one or (None,):
                good = set()
                for name in part.nodes:
                    v = by_name[name]
                    granted = v.cpus if job.exclusive else cpus
                    if job.mem_per_node_mb:
                        need_mem = job.mem_per_node_mb
                    elif job.mem_per_node_mb is None and job.mem_per_cpu_mb is not None:
                        need_mem = job.mem_per_cpu_mb * granted
                    elif job.mem_per_node_mb is None and snap.policy.default_mem_per_cpu_mb is not None:
                        need_mem = snap.policy.default_mem_per_cpu_mb * granted
                    else:
                        need_mem = v.memory_mb
                    typed = [g for g in v.gpus if not job.gpu_type or g.type == job.gpu_type]
                    has = v.features
                    if (v.state is NodeState.UP and name not in job.exclude and every <= has
                            and all(choice & has for choice in per_node_or)
                            and (feature is None or feature in has)
                            and v.cpus >= granted and v.memory_mb >= need_mem
                            and len(typed) >= gpus):
                        good.add(name)
                if not set(job.nodelist) <= good or len(good) < count:
                    continue
                if spread:
                    typed = {n: sum(1 for g in by_name[n].gpus
                                    if not job.gpu_type or g.type == job.gpu_type) for n in good}
                    most_here = max(min(most, limit), least)
                    others = sorted((typed[n] for n in good if n not in job.nodelist), reverse=True)
                    room = sum(typed[n] for n in set(job.nodelist)) + sum(
                        others[: max(most_here - len(set(job.nodelist)), 0)])
                    if room < job.gpus_total or job.gpus_total < least:
                        continue
                return True
    return False


@SETTINGS
@given(st.integers(0, 2**32), st.integers(1, 6), st.integers(1, 3), st.sampled_from((None, 500)))
def test_a_job_that_fits_an_idle_cluster_starts(seed, node_count, part_count, default_mem):
    rng = random.Random(seed)
    views, parts = build_cluster(rng, node_count, part_count)
    job = random_job(rng, 1, views, parts)
    job = JobRequest(**{**{f: getattr(job, f) for f in job.__slots__},
                        "held": False, "begin_time": 0.0})
    snap = snapshot(views, parts, pending=(job,),
                    policy=SchedulingPolicy(default_mem_per_cpu_mb=default_mem))
    plan = solve(snap)
    if _fits_idle(job, snap):
        assert [s.job_id for s in plan.starts] == [1], plan.pending
    else:
        assert plan.starts == ()
