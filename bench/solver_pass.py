"""Time one solve() on a large cluster: 1,000 nodes x 8 GPUs, 5,000 running, 10,000 pending.

Run: .venv/bin/python bench/solver_pass.py [--repeat N] [--seed S]
Prints the time of each pass and how many jobs it started. Two queues are measured: "mixed"
(random sizes; the cluster fills and partitions block early) and "small" (1-GPU jobs that mostly
fit, so most of the queue goes through placement: the expensive case).
"""
from __future__ import annotations

import argparse
import random
import time

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
        jobs.append(RunningJob(100_000 + i, "gpu", (alloc,), NOW - rng.randint(0, 3600), None))
    return tuple(jobs)


def pending(rng: random.Random, kind: str) -> tuple[JobRequest, ...]:
    jobs = []
    for i in range(10_000):
        if kind == "small":
            shape = dict(gpus_per_node=1, cpus_per_task=2, mem_per_node_mb=8000)
        else:
            shape = dict(gpus_per_node=rng.choice((0, 1, 1, 2, 4)),
                         cpus_per_task=rng.choice((1, 4, 8)),
                         min_nodes=rng.choice((1, 1, 1, 1, 2)),
                         mem_per_node_mb=rng.choice((4000, 32000)))
        jobs.append(JobRequest(
            job_id=i + 1, user=f"u{rng.randint(1, 50)}", submit_time=NOW - rng.randint(0, 86400),
            partitions=rng.choice((("gpu",), ("gpu",), ("short", "gpu"), ("big",))), **shape))
    return tuple(jobs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    nodes, parts = cluster()
    busy = running(rng)
    policy = SchedulingPolicy(priority_weight_age=1000, priority_weight_job_size=100,
                              priority_weight_partition=500)
    for kind in ("mixed", "small"):
        snap = ClusterSnapshot(NOW, nodes, parts, busy, pending(rng, kind), policy)
        best = float("inf")
        for _ in range(args.repeat):
            began = time.perf_counter()
            plan = solve(snap)
            best = min(best, time.perf_counter() - began)
        print(f"solve {kind:5s}: {best * 1000:7.1f} ms  ({len(nodes)} nodes x {GPUS} GPUs, "
              f"{len(busy)} running, {len(snap.pending)} pending, {len(plan.starts)} started)")


if __name__ == "__main__":
    main()
