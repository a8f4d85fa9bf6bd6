"""Slurm's multifactor priority and the order in which the main pass considers jobs.

priority = floor(W_age*age + W_jobsize*size + W_partition*partition) - nice, at least 1; a held
job has priority 0 and `admin_priority` (--priority, scontrol update) replaces the formula.
Slurm truncates the weighted sum to an integer (observed on Slurm 22.05 here: 16 CPUs over 4
nodes, PriorityWeightJobSize=100, a 1-node 6-task job shows 21 for a factor of 0.21875).

Fair-share, QOS and TRES factors are not computed yet (their weights are accepted and ignored).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from solver.shape import requested_cpus
from solver.snapshot import ClusterSnapshot, JobRequest, PartitionView, SchedulingPolicy

PRIORITY_MAX = 2**32 - 1
_EPSILON = 1e-9  # keeps 0.29 * 100 from truncating to 28 through floating-point error


@dataclass(frozen=True, slots=True)
class PriorityContext:
    """Cluster-wide normalisers, computed once per snapshot."""

    now: float
    node_count: int
    cluster_cpus: int
    max_job_factor: int
    partitions: dict[str, PartitionView]
    policy: SchedulingPolicy
    # Per distinct `JobRequest.partitions` tuple: (try order, best tier, best job factor).
    _by_request: dict[tuple[str, ...], tuple[tuple[PartitionView, ...], int, int]] = field(
        default_factory=dict)

    def of_request(self, names: tuple[str, ...]) -> tuple[tuple[PartitionView, ...], int, int]:
        """The job's existing partitions, highest PriorityTier first then in the order given,
        with the best tier and best PriorityJobFactor among them."""
        found = self._by_request.get(names)
        if found is None:
            known = [self.partitions[n] for n in dict.fromkeys(names) if n in self.partitions]
            order = tuple(sorted(known, key=lambda p: -p.priority_tier))  # stable: given order
            found = self._by_request[names] = (
                order, max((p.priority_tier for p in known), default=0),
                max((p.priority_job_factor for p in known), default=0))
        return found

    @classmethod
    def of(cls, snapshot: ClusterSnapshot) -> PriorityContext:
        return cls(
            now=snapshot.now,
            node_count=len(snapshot.nodes),
            cluster_cpus=sum(n.cpus for n in snapshot.nodes),
            max_job_factor=max((p.priority_job_factor for p in snapshot.partitions), default=0),
            partitions={p.name: p for p in snapshot.partitions},
            policy=snapshot.policy,
        )


def job_priority(job: JobRequest, ctx: PriorityContext) -> int:
    if job.held:
        return 0
    if job.admin_priority is not None:
        return max(0, min(job.admin_priority, PRIORITY_MAX))
    policy = ctx.policy
    total = 0.0
    if policy.priority_weight_age:
        eligible = max(job.submit_time, job.begin_time)
        age = max(0.0, ctx.now - eligible)
        max_age = policy.priority_max_age
        factor = 1.0 if max_age <= 0 else min(age, max_age) / max_age
        total += policy.priority_weight_age * factor
    if policy.priority_weight_job_size:
        size = _size_factor(job, ctx, policy.priority_favor_small)
        total += policy.priority_weight_job_size * size
    if policy.priority_weight_partition and ctx.max_job_factor > 0:
        # A job queued in several partitions carries its best partition's factor.
        best = ctx.of_request(job.partitions)[2]
        total += policy.priority_weight_partition * best / ctx.max_job_factor
    priority = math.floor(total + _EPSILON) - job.nice
    return max(1, min(priority, PRIORITY_MAX))


def _size_factor(job: JobRequest, ctx: PriorityContext, favor_small: bool) -> float:
    if ctx.node_count <= 0 or ctx.cluster_cpus <= 0:
        return 0.0
    nodes = max(job.min_nodes, 1)
    cpus = requested_cpus(job)
    if favor_small:
        factor = ((ctx.node_count - nodes) / ctx.node_count
                  + (ctx.cluster_cpus - cpus) / ctx.cluster_cpus) / 2
    else:
        factor = (nodes / ctx.node_count + cpus / ctx.cluster_cpus) / 2
    return min(max(factor, 0.0), 1.0)


def partition_try_order(job: JobRequest, ctx: PriorityContext) -> tuple[PartitionView, ...]:
    """The job's existing partitions, highest PriorityTier first, then in the order given."""
    return ctx.of_request(job.partitions)[0]


def scheduling_order(
    jobs: tuple[JobRequest, ...], priorities: dict[int, int], ctx: PriorityContext,
) -> list[JobRequest]:
    """PriorityTier (of the job's best partition), then priority, submit time, job id."""
    def key(job: JobRequest) -> tuple[int, int, float, int]:
        tier = ctx.of_request(job.partitions)[1]
        return (-tier, -priorities[job.job_id], job.submit_time, job.job_id)
    return sorted(jobs, key=key)
