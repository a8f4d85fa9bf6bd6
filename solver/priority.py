"""Slurm's multifactor priority and the order in which the main pass considers jobs.

priority = site + W_age*age + W_assoc*assoc + W_fairshare*fairshare + W_jobsize*size
         + W_partition*partition + W_qos*qos + sum_t W_tres[t]*tres[t] - nice,
truncated to an integer, at least 1 (0 is a held job's), at most 2^32-1. `admin_priority`
(--priority, scontrol update Priority=) replaces the formula. Each factor is in 0..1 unless a
NO_NORMAL_* PriorityFlag asks for the raw value. Slurm truncates the weighted sum (observed on
Slurm 22.05 here: sprio shows PRIORITY 10014 for FAIRSHARE 10000 + JOBSIZE 14.06).

`priority_factors` returns the per-factor breakdown sprio prints; `job_priority` is the same sum
without building the record (it runs for every pending job on every pass).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from solver.shape import requested_cpus
from solver.snapshot import (
    ClusterSnapshot, JobRequest, PartitionView, PriorityInputs, SchedulingPolicy,
)

PRIORITY_MAX = 2**32 - 1
_EPSILON = 1e-9  # keeps 0.29 * 100 from truncating to 28 through floating-point error


@dataclass(frozen=True, slots=True)
class PriorityFactors:
    """One pending job's factors as sprio shows them: `*_factor` normalised (sprio -n), and the
    weighted values (sprio's default columns) via `weighted`."""

    job_id: int
    priority: int
    site: float
    age: float
    assoc: float
    fairshare: float
    job_size: float
    partition: float
    qos: float
    tres: tuple[tuple[str, float], ...]
    nice: int

    def weighted(self, policy: SchedulingPolicy) -> dict[str, float]:
        return {
            "site": self.site,
            "age": policy.priority_weight_age * self.age,
            "assoc": policy.priority_weight_assoc * self.assoc,
            "fairshare": policy.priority_weight_fairshare * self.fairshare,
            "job_size": policy.priority_weight_job_size * self.job_size,
            "partition": policy.priority_weight_partition * self.partition,
            "qos": policy.priority_weight_qos * self.qos,
            "tres": sum(weight * value for (_, weight), (_, value)
                        in zip(policy.priority_weight_tres, self.tres)),
        }


@dataclass(frozen=True, slots=True)
class PriorityContext:
    """Cluster-wide normalisers, computed once per snapshot."""

    now: float
    node_count: int
    cluster_cpus: int
    max_job_factor: int
    partitions: dict[str, PartitionView]
    policy: SchedulingPolicy
    inputs: PriorityInputs = field(default_factory=PriorityInputs)
    max_qos_priority: int = 0
    max_assoc_priority: int = 0
    # partition -> TRES name -> total in that partition (for the TRES factors)
    partition_tres: dict[str, dict[str, float]] = field(default_factory=dict)
    # partition -> (nodes, CPUs) it has in all (a job asking more waits with PartitionConfig)
    partition_size: dict[str, tuple[int, int]] = field(default_factory=dict)
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
        inputs = snapshot.priority_inputs
        partition_tres: dict[str, dict[str, float]] = {}
        if snapshot.policy.priority_weight_tres:
            by_name = {n.name: n for n in snapshot.nodes}
            for part in snapshot.partitions:
                members = [by_name[n] for n in dict.fromkeys(part.nodes) if n in by_name]
                partition_tres[part.name] = {
                    "cpu": float(sum(n.cpus for n in members)),
                    "mem": float(sum(n.memory_mb for n in members)),
                    "node": float(len(members)),
                    "gres/gpu": float(sum(len(n.gpus) for n in members)),
                }
        cpus_of = {n.name: n.cpus for n in snapshot.nodes}
        partition_size = {}
        for part in snapshot.partitions:
            members = [cpus_of[n] for n in dict.fromkeys(part.nodes) if n in cpus_of]
            partition_size[part.name] = (len(members), sum(members))
        return cls(
            now=snapshot.now,
            node_count=len(snapshot.nodes),
            cluster_cpus=sum(n.cpus for n in snapshot.nodes),
            max_job_factor=max((p.priority_job_factor for p in snapshot.partitions), default=0),
            partitions={p.name: p for p in snapshot.partitions},
            policy=snapshot.policy,
            inputs=inputs,
            max_qos_priority=max(inputs.qos_priority.values(), default=0),
            max_assoc_priority=max(inputs.assoc_priority.values(), default=0),
            partition_tres=partition_tres,
            partition_size=partition_size,
        )


def _normalised(value: float, maximum: float, raw: bool) -> float:
    if raw:
        return value
    return value / maximum if maximum > 0 else 0.0


def _factors(job: JobRequest, ctx: PriorityContext) -> tuple[float, float, float, float, float,
                                                             float, tuple[tuple[str, float], ...]]:
    """(age, assoc, fairshare, job_size, partition, qos, tres) as Slurm normalises them."""
    policy = ctx.policy
    flags = policy.priority_flags
    age = size = part = qos = assoc = fairshare = 0.0
    tres: tuple[tuple[str, float], ...] = ()
    if policy.priority_weight_age:
        eligible = max(job.submit_time if job.eligible_time is None else job.eligible_time,
                       job.begin_time)
        waited = max(0.0, ctx.now - eligible)
        max_age = policy.priority_max_age
        age = 1.0 if max_age <= 0 else min(waited, max_age) / max_age
    if policy.priority_weight_job_size:
        size = _size_factor(job, ctx)
    if policy.priority_weight_partition:
        # A job queued in several partitions carries its best partition's factor.
        part = _normalised(ctx.of_request(job.partitions)[2], ctx.max_job_factor,
                           "NO_NORMAL_PART" in flags)
    inputs = ctx.inputs
    if policy.priority_weight_qos and job.qos:
        qos = _normalised(inputs.qos_priority.get(job.qos, 0), ctx.max_qos_priority,
                          "NO_NORMAL_QOS" in flags)
    if policy.priority_weight_assoc:
        assoc = _normalised(inputs.assoc_priority.get((job.user, job.account), 0),
                            ctx.max_assoc_priority, "NO_NORMAL_ASSOC" in flags)
    if policy.priority_weight_fairshare:
        fairshare = inputs.fairshare.get((job.user, job.account), 0.0)
    if policy.priority_weight_tres:
        tres = _tres_factors(job, ctx, "NO_NORMAL_TRES" in flags)
    return age, assoc, fairshare, size, part, qos, tres


def _tres_factors(job: JobRequest, ctx: PriorityContext, raw: bool) -> tuple[tuple[str, float], ...]:
    """Requested count of each weighted TRES over its total in the job's best partition."""
    first = ctx.of_request(job.partitions)[0]
    totals = ctx.partition_tres.get(first[0].name, {}) if first else {}
    nodes = max(job.min_nodes, 1)
    cpus = requested_cpus(job)
    if job.mem_per_node_mb:
        mem = float(job.mem_per_node_mb * nodes)
    elif job.mem_per_cpu_mb:
        mem = float(job.mem_per_cpu_mb * cpus)
    else:
        mem = 0.0
    gpus = float(job.gpus_total or job.gpus_per_node * nodes)
    asked = {"cpu": float(cpus), "mem": mem, "node": float(nodes), "gres/gpu": gpus}
    out = []
    for name, _weight in ctx.policy.priority_weight_tres:
        key = name.lower()
        value = asked.get(key, 0.0)
        out.append((key, _normalised(value, totals.get(key, 0.0), raw)))
    return tuple(out)


def _sum(job: JobRequest, ctx: PriorityContext,
         factors: tuple[float, float, float, float, float, float, tuple[tuple[str, float], ...]],
         ) -> int:
    policy = ctx.policy
    age, assoc, fairshare, size, part, qos, tres = factors
    total = (job.site_factor + policy.priority_weight_age * age
             + policy.priority_weight_assoc * assoc
             + policy.priority_weight_fairshare * fairshare
             + policy.priority_weight_job_size * size
             + policy.priority_weight_partition * part
             + policy.priority_weight_qos * qos)
    if tres:   # one factor per weighted TRES, in the weights' order
        total += sum(weight * value for (_, weight), (_, value) in zip(policy.priority_weight_tres, tres))
    priority = math.floor(total + _EPSILON) - job.nice
    return max(1, min(priority, PRIORITY_MAX))


def job_priority(job: JobRequest, ctx: PriorityContext) -> int:
    if job.held:
        return 0
    if job.admin_priority is not None:
        return max(0, min(job.admin_priority, PRIORITY_MAX))
    return _sum(job, ctx, _factors(job, ctx))


def priority_factors(job: JobRequest, ctx: PriorityContext) -> PriorityFactors:
    factors = _factors(job, ctx)
    age, assoc, fairshare, size, part, qos, tres = factors
    return PriorityFactors(
        job_id=job.job_id, priority=job_priority(job, ctx), site=float(job.site_factor),
        age=age, assoc=assoc, fairshare=fairshare, job_size=size, partition=part, qos=qos,
        tres=tres, nice=job.nice)


def _size_factor(job: JobRequest, ctx: PriorityContext) -> float:
    if ctx.node_count <= 0 or ctx.cluster_cpus <= 0:
        return 0.0
    nodes = max(job.min_nodes, 1)
    cpus = requested_cpus(job)
    flags = ctx.policy.priority_flags
    if "SMALL_RELATIVE_TO_TIME" in flags:
        # (max(cpus, nodes*avg cpus) / time limit in minutes) / cluster cpus, as Slurm documents
        avg_cpus = ctx.cluster_cpus / ctx.node_count
        minutes = (job.time_limit or 0) / 60.0
        size = max(cpus, nodes * avg_cpus)
        factor = (size / minutes if minutes > 0 else size) / ctx.cluster_cpus
    elif ctx.policy.priority_favor_small:
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
