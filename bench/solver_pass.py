"""Time one solve() on a large cluster: 1,000 nodes x 8 GPUs, 5,000 running, 10,000 pending.

Run: .venv/bin/python bench/solver_pass.py [--repeat N] [--seed S] [--quick]
Prints the time of each pass and how many jobs it started. Three queues are measured: "mixed"
(random sizes; the cluster fills and partitions block early), "small" (1-GPU jobs that mostly
fit, so most of the queue goes through placement: the expensive case) and "trace" (sizes and
time limits of the SDSC-SP2 log, one processor read as one GPU: 1 to 128 GPUs, 8 CPUs and
64 GB per GPU, on 1 to 16 nodes). Each is timed main pass only (backfill off), with EASY
backfill and with conservative backfill (every blocked job reserved); then EASY backfill on
1k / 10k / 50k pending jobs of the mixed queue (skipped with --quick). Running jobs end at
start + a random time limit (1 h to 2 days), so the timeline has thousands of distinct end
times; mixed pending jobs ask for 10 min to 2 days (a quarter give none: partition default).
Times are wall-clock, best of N, with the CPU time of that run beside them.
"""
from __future__ import annotations

import argparse
import gzip
import math
import random
import time
from pathlib import Path

from solver import (
    ClusterSnapshot, GpuDevice, JobRequest, NodeAllocation, NodeView, PartitionView, RunningJob,
    SchedulingPolicy, solve,
)

NOW = 1_700_000_000.0
NODES, GPUS, CPUS, MEM = 1000, 8, 64, 512_000


def cluster() -> tuple[tuple[NodeView, ...], tuple[PartitionView, ...]]:
    gpus = tuple(GpuDevice(g, "a100") for g in range(GPUS))
    nodes = tuple(NodeView(f"gpu{i:04d}", CPUS, MEM, gpus) for i in range(NODES))
    names = tuple(n.name for n in nodes)
    parts = (PartitionView("gpu", names, is_default=True, max_time=7 * 86400.0),
             PartitionView("short", names[: NODES // 2], priority_tier=2, max_time=3600.0),
             PartitionView("big", names[NODES // 2:]))
    return nodes, parts


def running(rng: random.Random) -> tuple[RunningJob, ...]:
    """5,000 jobs of 1 GPU, 8 CPUs, 64 GB spread over the first 700 nodes (7-8 per node, so
    those are nearly full); the other 300 nodes are idle."""
    jobs = []
    for i in range(5000):
        node = f"gpu{i % 700:04d}"
        alloc = NodeAllocation(node, 8, 64_000, (i // 700,))
        start = NOW - rng.randint(0, 3600)
        end = start + rng.choice((3600, 4 * 3600, 86400, 2 * 86400)) + rng.randint(0, 3600)
        jobs.append(RunningJob(100_000 + i, "gpu", (alloc,), start, float(end)))
    return tuple(jobs)


def pending(rng: random.Random, kind: str, count: int = 10_000) -> tuple[JobRequest, ...]:
    jobs = []
    for i in range(count):
        if kind == "small":
            shape = dict(gpus_per_node=1, cpus_per_task=2, mem_per_node_mb=8000)
        else:
            shape = dict(gpus_per_node=rng.choice((0, 1, 1, 2, 4)),
                         cpus_per_task=rng.choice((1, 4, 8)),
                         min_nodes=rng.choice((1, 1, 1, 1, 2)),
                         mem_per_node_mb=rng.choice((4000, 32000)))
        jobs.append(JobRequest(
            job_id=i + 1, user=f"u{rng.randint(1, 50)}", submit_time=NOW - rng.randint(0, 86400),
            partitions=rng.choice((("gpu",), ("gpu",), ("short", "gpu"), ("big",))),
            time_limit=rng.choice((None, 600.0, 3600.0, 4 * 3600.0, 86400.0, 2 * 86400.0)),
            **shape))
    return tuple(jobs)


TRACE = Path(__file__).resolve().parents[2] / "shared" / "traces" / "SDSC-SP2-1998-4.2-cln.swf.gz"


def trace_pending(rng: random.Random, count: int = 10_000) -> tuple[JobRequest, ...]:
    """`count` jobs of the SDSC-SP2 log (from its start): requested processors as GPUs, spread
    over as few 8-GPU nodes as hold them, requested time as the limit."""
    jobs = []
    with gzip.open(TRACE, "rt") as lines:
        for line in lines:
            if line.startswith(";") or not line.strip():
                continue
            f = line.split()
            gpus = int(f[7]) if int(f[7]) > 0 else int(f[4])
            limit = float(f[8])
            if gpus <= 0 or limit <= 0:
                continue
            node_count = math.ceil(gpus / GPUS)
            per_node = math.ceil(gpus / node_count)
            jobs.append(JobRequest(
                job_id=len(jobs) + 1, user=f"u{f[11]}", submit_time=NOW - rng.randint(0, 86400),
                partitions=rng.choice((("gpu",), ("gpu",), ("short", "gpu"), ("big",))),
                min_nodes=node_count, ntasks=node_count, cpus_per_task=8 * per_node,
                gpus_per_node=per_node, mem_per_node_mb=64_000 * per_node, time_limit=limit))
            if len(jobs) == count:
                break
    return tuple(jobs)


def timed(snap: ClusterSnapshot, repeat: int):
    best, cpu, plan = float("inf"), 0.0, None
    for _ in range(repeat):
        began, began_cpu = time.perf_counter(), time.process_time()
        plan = solve(snap)
        took = time.perf_counter() - began
        if took < best:
            best, cpu = took, time.process_time() - began_cpu
    return best, cpu, plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="skip the scaling runs")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    nodes, parts = cluster()
    busy = running(rng)
    weights = dict(priority_weight_age=1000, priority_weight_job_size=100,
                   priority_weight_partition=500)
    policies = {"main only": SchedulingPolicy(backfill=False, **weights),
                "easy": SchedulingPolicy(**weights),
                "conservative": SchedulingPolicy(reservation_depth=10**9, **weights)}
    for kind in ("mixed", "small", "trace"):
        if kind == "trace" and not TRACE.exists():
            print(f"solve trace: skipped, {TRACE} not found")
            continue
        queue = trace_pending(random.Random(args.seed)) if kind == "trace" else pending(rng, kind)
        for label, policy in policies.items():
            snap = ClusterSnapshot(NOW, nodes, parts, busy, queue, policy)
            best, cpu, plan = timed(snap, args.repeat)
            reserved = sum(d.reserved for d in plan.pending)
            forecast = sum(d.expected_start is not None for d in plan.pending)
            print(f"solve {kind:5s} {label:12s}: {best * 1000:7.1f} ms (cpu {cpu * 1000:6.1f})  "
                  f"({len(nodes)} nodes x {GPUS} GPUs, {len(busy)} running, {len(queue)} "
                  f"pending, {len(plan.starts)} started, {reserved} reserved, {forecast} with a "
                  f"forecast)")
    if args.quick:
        return
    for count in (1_000, 10_000, 50_000):
        queue = pending(rng, "mixed", count)
        snap = ClusterSnapshot(NOW, nodes, parts, busy, queue, policies["easy"])
        best, cpu, plan = timed(snap, args.repeat)
        print(f"scaling mixed easy {count:6d} pending: {best * 1000:7.1f} ms "
              f"(cpu {cpu * 1000:6.1f})  ({len(plan.starts)} started)")


if __name__ == "__main__":
    main()
