"""What one pending job needs from each node it runs on.

A `JobRequest` speaks in Slurm's options (--ntasks, --mem, --gres, ...); placement wants a
per-node demand. Deriving it once per job keeps the Slurm rules (task spreading, the memory
defaults, --gpus over several nodes) in one place, and the shape is hashable so the "could this
ever run?" answer can be cached for the many jobs that ask for the same thing.
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from solver.snapshot import JobRequest, SchedulingPolicy


class MemoryRule(enum.StrEnum):
    PER_NODE = "per_node"    # --mem=N: N MiB on every node
    PER_CPU = "per_cpu"      # --mem-per-cpu (or DefMemPerCPU): N MiB per allocated CPU
    WHOLE_NODE = "whole"     # --mem=0, or no memory option and no DefMemPerCPU (Slurm's default)


@dataclass(frozen=True, slots=True)
class NodeShape:
    node_count: int
    cpus: int                        # per node; ignored when exclusive (the node's CPUs are taken)
    exclusive: bool
    memory_rule: MemoryRule
    memory_mb: int                   # per node (PER_NODE) or per CPU (PER_CPU); 0 for WHOLE_NODE
    gpus: int                        # needed free on every chosen node
    gpus_total: int                  # exact job total when --gpus is split over nodes; 0 otherwise
    gpu_type: str
    features: frozenset[str]
    required: tuple[str, ...]        # -w nodes, deduplicated, in the order given
    excluded: frozenset[str]

    def memory_for(self, cpus: int, node_memory_mb: int) -> int:
        """MiB this job takes on a node of `node_memory_mb` when given `cpus` CPUs there."""
        if self.memory_rule is MemoryRule.PER_NODE:
            return self.memory_mb
        if self.memory_rule is MemoryRule.PER_CPU:
            return self.memory_mb * cpus
        return node_memory_mb

    def gpus_on(self, position: int) -> int:
        """GPUs the job gets on its `position`-th chosen node (a --gpus total is split evenly,
        the first nodes taking the remainder)."""
        if not self.gpus_total:
            return self.gpus
        base, extra = divmod(self.gpus_total, self.node_count)
        return base + (1 if position < extra else 0)

    def describe(self) -> str:
        """The per-node demand in words, for pending-reason details."""
        parts = ["whole node" if self.exclusive else f"{self.cpus} cpu"]
        if self.memory_rule is MemoryRule.PER_NODE:
            parts.append(f"{self.memory_mb}M mem")
        elif self.memory_rule is MemoryRule.PER_CPU:
            parts.append(f"{self.memory_mb}M mem per cpu")
        else:
            parts.append("all mem")
        if self.gpus:
            parts.append(f"{self.gpus} gpu" + (f":{self.gpu_type}" if self.gpu_type else ""))
        return ", ".join(parts) + " per node"


def shape_key(job: JobRequest) -> tuple:
    """The request fields `shape_of` reads: jobs with equal keys have equal shapes."""
    return (job.min_nodes, job.ntasks, job.cpus_per_task, job.ntasks_per_node,
            job.mem_per_node_mb, job.mem_per_cpu_mb, job.gpus_per_node, job.gpu_type,
            job.gpus_total, job.exclusive, job.nodelist, job.exclude, job.features)


def shape_of(job: JobRequest, policy: SchedulingPolicy) -> NodeShape:
    required = tuple(dict.fromkeys(job.nodelist))
    # -w with more nodes than -N raises the node count, as in Slurm.
    node_count = max(job.min_nodes, len(required), 1)
    tasks_per_node = job.ntasks_per_node or math.ceil(max(job.ntasks, 1) / node_count)
    cpus = max(tasks_per_node * max(job.cpus_per_task, 1), 1)

    if job.mem_per_node_mb == 0:
        rule, memory = MemoryRule.WHOLE_NODE, 0
    elif job.mem_per_node_mb is not None:
        rule, memory = MemoryRule.PER_NODE, job.mem_per_node_mb
    elif job.mem_per_cpu_mb is not None:
        rule, memory = MemoryRule.PER_CPU, job.mem_per_cpu_mb
    elif policy.default_mem_per_cpu_mb is not None:
        rule, memory = MemoryRule.PER_CPU, policy.default_mem_per_cpu_mb
    else:
        # Without DefMemPerCPU, CR_Core_Memory gives a job without --mem all of each node's memory.
        rule, memory = MemoryRule.WHOLE_NODE, 0

    gpus, gpus_total = job.gpus_per_node, 0
    if not gpus and job.gpus_total:
        if node_count == 1:
            gpus = job.gpus_total
        else:
            gpus, gpus_total = math.ceil(job.gpus_total / node_count), job.gpus_total

    return NodeShape(
        node_count=node_count, cpus=cpus, exclusive=job.exclusive, memory_rule=rule,
        memory_mb=memory, gpus=gpus, gpus_total=gpus_total, gpu_type=job.gpu_type,
        features=frozenset(job.features), required=required, excluded=frozenset(job.exclude),
    )


def requested_cpus(job: JobRequest) -> int:
    """CPUs the job asks for in total (what the job-size priority factor weighs)."""
    per_task = max(job.cpus_per_task, 1)
    total = max(job.ntasks, 1) * per_task
    if job.ntasks_per_node:
        total = max(total, job.ntasks_per_node * max(job.min_nodes, 1) * per_task)
    return total
