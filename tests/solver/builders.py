"""Small builders for solver inputs: tests state only what matters to them."""
from __future__ import annotations

from dataclasses import replace

from solver import (
    ClusterSnapshot, GpuDevice, JobRequest, NodeAllocation, NodeState, NodeView, PartitionView,
    Plan, RunningJob, SchedulingPolicy,
)

NOW = 1_700_000_000.0


def node(name: str, cpus: int = 8, mem: int = 16000, gpus: int = 0, gpu_type: str = "",
         state: NodeState = NodeState.UP, features: tuple[str, ...] = (), weight: int = 1,
         gpu_types: tuple[str, ...] = ()) -> NodeView:
    """A node; `gpu_types` gives one type per GPU when they differ, else `gpus` of `gpu_type`."""
    devices = (tuple(GpuDevice(i, t) for i, t in enumerate(gpu_types)) if gpu_types
               else tuple(GpuDevice(i, gpu_type) for i in range(gpus)))
    return NodeView(name=name, cpus=cpus, memory_mb=mem, gpus=devices, state=state,
                    features=frozenset(features), weight=weight)


def nodes(prefix: str, count: int, start: int = 1, **kwargs) -> tuple[NodeView, ...]:
    return tuple(node(f"{prefix}{i}", **kwargs) for i in range(start, start + count))


def partition(name: str, members: tuple[NodeView, ...] | tuple[str, ...], **kwargs) -> PartitionView:
    names = tuple(m if isinstance(m, str) else m.name for m in members)
    return PartitionView(name=name, nodes=names, **kwargs)


def job(job_id: int, partitions: str | tuple[str, ...] = "cpu", *, submit: float = NOW - 100,
        user: str = "alice", **kwargs) -> JobRequest:
    """A pending job; memory defaults to 100 MiB per node so jobs share nodes unless asked."""
    kwargs.setdefault("mem_per_node_mb", 100)
    parts = (partitions,) if isinstance(partitions, str) else tuple(partitions)
    return JobRequest(job_id=job_id, user=user, submit_time=submit, partitions=parts, **kwargs)


def running(job_id: int, *allocs: tuple, partition: str = "cpu", start: float = NOW - 50,
            end: float | None = None) -> RunningJob:
    """A running job from (node, cpus, mem[, gpu indices]) tuples."""
    return RunningJob(
        job_id=job_id, partition=partition, start_time=start, end_time=end,
        allocations=tuple(NodeAllocation(a[0], a[1], a[2], tuple(a[3]) if len(a) > 3 else ())
                          for a in allocs),
    )


def snapshot(node_views: tuple[NodeView, ...], partitions: tuple[PartitionView, ...] | None = None,
             pending: tuple[JobRequest, ...] = (), running_jobs: tuple[RunningJob, ...] = (),
             policy: SchedulingPolicy | None = None, now: float = NOW) -> ClusterSnapshot:
    """A snapshot; without partitions every node is in one partition named 'cpu'."""
    if partitions is None:
        partitions = (partition("cpu", node_views, is_default=True),)
    return ClusterSnapshot(now=now, nodes=tuple(node_views), partitions=tuple(partitions),
                           running=tuple(running_jobs), pending=tuple(pending),
                           policy=policy or SchedulingPolicy())


def started(plan: Plan) -> dict[int, tuple[str, ...]]:
    """job id -> node names it starts on."""
    return {s.job_id: tuple(a.node for a in s.allocations) for s in plan.starts}


def reasons(plan: Plan) -> dict[int, str]:
    """job id -> pending reason string."""
    return {d.job_id: str(d.reason) for d in plan.pending}


def decision(plan: Plan, job_id: int):
    return next(d for d in plan.pending if d.job_id == job_id)


def start_of(plan: Plan, job_id: int):
    return next(s for s in plan.starts if s.job_id == job_id)


__all__ = ["NOW", "node", "nodes", "partition", "job", "running", "snapshot", "started",
           "reasons", "decision", "start_of", "replace"]
