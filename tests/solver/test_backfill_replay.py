"""Replay the first 5,000 jobs of the SDSC SP2 trace through solve() with a virtual clock.

128 single-CPU nodes, EASY backfill; each job asks for its SWF requested processors as nodes and
its requested time as limit, and runs its actual run time (cut at the limit). At every event the
cluster must hold what runs, and a job, once reserved, must start no later than the first
expected start it was given (jobs end at or before their limits, and every job has the same
priority, so nothing may push a reservation back). Every pending job has a reason, every job
is decided exactly once, an idle cluster never leaves a job waiting, and every 100th snapshot
solved twice gives the same plan. The mean wait is printed (pytest -s).
"""
from __future__ import annotations

import gzip
import heapq
from pathlib import Path

import pytest

from solver import JobRequest, NodeAllocation, Reason, RunningJob, SchedulingPolicy, solve
from tests.solver.builders import nodes, snapshot

TRACE = Path("/work/shared/traces/SDSC-SP2-1998-4.2-cln.swf.gz")
NODE_COUNT, JOB_COUNT = 128, 5000


def _trace_jobs() -> list[tuple[int, float, float, int, float]]:
    """(job id, submit, run time, processors, requested time) of the first usable jobs."""
    jobs = []
    with gzip.open(TRACE, "rt") as lines:
        for line in lines:
            if line.startswith(";") or not line.strip():
                continue
            f = line.split()
            procs = int(f[7]) if int(f[7]) > 0 else int(f[4])
            requested, runtime = float(f[8]), float(f[3])
            if procs <= 0 or procs > NODE_COUNT or requested <= 0 or runtime < 0:
                continue
            jobs.append((int(f[0]), float(f[1]), min(runtime, requested), procs, requested))
            if len(jobs) == JOB_COUNT:
                break
    return jobs


@pytest.mark.slow
@pytest.mark.skipif(not TRACE.exists(), reason="trace not available")
def test_sdsc_sp2_replay_never_oversubscribes():
    views = nodes("n", NODE_COUNT, cpus=1, mem=1000)
    trace = _trace_jobs()
    submits = sorted((submit, job_id, run, procs, limit) for job_id, submit, run, procs, limit
                     in trace)
    policy = SchedulingPolicy(reservation_depth=1)
    pending: dict[int, JobRequest] = {}
    info = {job_id: (run, submit) for job_id, submit, run, _, _ in trace}
    running: dict[int, RunningJob] = {}
    ends: list[tuple[float, int]] = []
    waits: list[float] = []
    promised: dict[int, float] = {}
    next_submit = steps = 0
    while next_submit < len(submits) or pending or running:
        candidates = [t for t in (submits[next_submit][0] if next_submit < len(submits) else None,
                                  ends[0][0] if ends else None) if t is not None]
        now = min(candidates)
        while ends and ends[0][0] <= now:
            running.pop(heapq.heappop(ends)[1])
        while next_submit < len(submits) and submits[next_submit][0] <= now:
            submit, job_id, _, procs, limit = submits[next_submit]
            pending[job_id] = JobRequest(job_id=job_id, user="u", submit_time=submit,
                                         partitions=("cpu",), min_nodes=procs, ntasks=procs,
                                         mem_per_node_mb=100, time_limit=limit)
            next_submit += 1
        snap = snapshot(views, pending=tuple(pending.values()),
                        running_jobs=tuple(running.values()), policy=policy, now=now)
        plan = solve(snap)
        steps += 1
        if steps % 100 == 0:
            assert solve(snap) == plan
        decided = [s.job_id for s in plan.starts] + [d.job_id for d in plan.pending]
        assert sorted(decided) == sorted(pending)
        assert all(d.reason is not Reason.NONE for d in plan.pending)
        if pending and not running:
            assert plan.starts, "an idle cluster left every job waiting"
        for start in plan.starts:
            run, submit = info[start.job_id]
            del pending[start.job_id]
            running[start.job_id] = RunningJob(start.job_id, "cpu", start.allocations, now,
                                               now + start.time_limit)
            heapq.heappush(ends, (now + max(run, 1.0), start.job_id))
            waits.append(now - submit)
            assert now <= promised.get(start.job_id, now)
        for decision in plan.pending:
            if decision.reserved:
                promised.setdefault(decision.job_id, decision.expected_start)
        busy = [a.node for job in running.values() for a in job.allocations]
        assert len(busy) == len(set(busy)) <= NODE_COUNT
        assert all(isinstance(a, NodeAllocation) and a.cpus == 1 for job in running.values()
                   for a in job.allocations)
        if pending and not plan.starts and not ends and next_submit >= len(submits):
            pytest.fail(f"jobs {sorted(pending)} can never start")
    assert len(waits) == len(trace)
    print(f"\nSDSC SP2 first {len(trace)} jobs, EASY, {steps} passes: "
          f"mean wait {sum(waits) / len(waits):.0f} s")
