"""What one pending job needs from each node it runs on.

A `JobRequest` speaks in Slurm's options (--ntasks, --mem, --gres, ...); placement wants a
per-node demand. Deriving it once per job keeps the Slurm rules (task spreading, the memory
defaults, --gpus over several nodes, -C expressions) in one place, and the shape is hashable so
the "could this ever run?" answer can be cached for the many jobs that ask for the same thing.

A shape may leave two choices to placement, each spelled out by `variants`: a node-count range
(-N min-max: as many nodes as are free, as Slurm does) and a matching OR (-C "[a|b]": every node
with the same one of the features).
"""
from __future__ import annotations

import enum
import functools
import math
import re
from dataclasses import dataclass, replace
from operator import attrgetter

from solver.snapshot import JobRequest, SchedulingPolicy


class MemoryRule(enum.StrEnum):
    PER_NODE = "per_node"    # --mem=N: N MiB on every node
    PER_CPU = "per_cpu"      # --mem-per-cpu (or DefMemPerCPU): N MiB per allocated CPU
    WHOLE_NODE = "whole"     # --mem=0, or no memory option and no DefMemPerCPU (Slurm's default)


class ConstraintError(ValueError):
    """A -C expression this scheduler cannot read (the job waits with BadConstraints)."""


@dataclass(frozen=True, slots=True)
class Tasks:
    """How tasks, and GPUs per task, follow the node count (what a -N range re-derives)."""

    ntasks: int
    given: bool                  # -n given; else one task (or ntasks_per_node) per node
    cpus_per_task: int
    per_node: int                # --ntasks-per-node, 0 = unset
    gpus_per_task: int

    def per_node_on(self, node_count: int) -> int:
        """Tasks on the busiest node when the job has `node_count` nodes (without -n the
        controller counts one task per node of the least count, so more nodes: still one)."""
        if self.per_node:
            return self.per_node
        return math.ceil(max(self.ntasks, 1) / node_count)

    def on(self, position: int, node_count: int) -> int:
        """Tasks on the `position`-th node (block distribution: the first nodes take more)."""
        if self.per_node or not self.given:
            return self.per_node_on(node_count)
        base, extra = divmod(max(self.ntasks, 1), node_count)
        return base + (1 if position < extra else 0)


@dataclass(frozen=True, slots=True)
class NodeShape:
    node_count: int                  # nodes (the least of a -N range)
    cpus: int                        # per node; ignored when exclusive (the node's CPUs are taken)
    exclusive: bool
    memory_rule: MemoryRule
    memory_mb: int                   # per node (PER_NODE) or per CPU (PER_CPU); 0 for WHOLE_NODE
    gpus: int                        # needed free on every chosen node
    gpus_total: int                  # exact job total when --gpus is split over nodes; 0 otherwise
    gpu_type: str
    features: frozenset[str]         # every node has all of these
    required: tuple[str, ...]        # -w nodes, deduplicated, in the order given
    excluded: frozenset[str]
    any_of: frozenset[frozenset[str]] = frozenset()   # every node has one of each set (a|b)
    one_of: tuple[str, ...] = ()     # every node has the same one of these ([a|b])
    max_node_count: int = 0          # -N range top; 0 = node_count
    tasks: Tasks | None = None       # set when a range re-derives the per-node demand
    # --gpus=N over a node range (no -N: any count): the N GPUs go to as few nodes as hold them,
    # unevenly; `gpus` is then 1, the least on each node. Placement handles it itself; the
    # variants (for backfill's timeline) split the GPUs evenly, which never holds too little.
    gpus_spread: bool = False

    def memory_for(self, cpus: int, node_memory_mb: int) -> int:
        """MiB this job takes on a node of `node_memory_mb` when given `cpus` CPUs there."""
        if self.memory_rule is MemoryRule.PER_NODE:
            return self.memory_mb
        if self.memory_rule is MemoryRule.PER_CPU:
            return self.memory_mb * cpus
        return node_memory_mb

    def gpus_on(self, position: int) -> int:
        """GPUs the job gets on its `position`-th chosen node (a --gpus total is split evenly,
        the first nodes taking the remainder; --gpus-per-task follows the tasks there)."""
        if self.tasks is not None and self.tasks.gpus_per_task:
            return self.tasks.on(position, self.node_count) * self.tasks.gpus_per_task
        if not self.gpus_total:
            return self.gpus
        base, extra = divmod(self.gpus_total, self.node_count)
        return base + (1 if position < extra else 0)

    @property
    def is_fixed(self) -> bool:
        """No choice left to placement: one node count, no matching OR."""
        return not self.one_of and self.max_node_count <= self.node_count

    def variants(self, node_limit: int) -> tuple[NodeShape, ...]:
        """The fixed shapes this one allows, in preference order: most nodes first (at most
        `node_limit`), then each matching-OR feature in the order given."""
        if self.is_fixed:
            return (self,)
        return _variants(self, node_limit)

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


@functools.lru_cache(maxsize=4096)
def _variants(shape: NodeShape, node_limit: int) -> tuple[NodeShape, ...]:
    top = min(max(shape.max_node_count, shape.node_count), max(node_limit, shape.node_count))
    spread = shape.gpus_spread
    if spread:
        # Fewest nodes first, each with an even share of the GPUs (at most one per GPU).
        counts = range(shape.node_count, max(min(top, shape.gpus_total), shape.node_count) + 1)
        shape = replace(shape, gpus_spread=False)
    else:
        counts = range(top, shape.node_count - 1, -1)
    found = []
    for count in counts:
        sized = (shape if count == shape.node_count and not spread
                 else _with_node_count(shape, count))
        for feature in shape.one_of or (None,):
            chosen = sized if feature is None else replace(
                sized, features=sized.features | {feature})
            found.append(replace(chosen, one_of=(), max_node_count=0))
    return tuple(found)


def with_node_count(shape: NodeShape, count: int) -> NodeShape:
    """The fixed shape of `shape` on exactly `count` nodes (its per-node demand re-derived)."""
    return _with_node_count(shape, count)


def _with_node_count(shape: NodeShape, count: int) -> NodeShape:
    tasks = shape.tasks
    if tasks is None:
        return replace(shape, node_count=count)
    per_node = tasks.per_node_on(count)
    gpus = shape.gpus
    if tasks.gpus_per_task:
        gpus = per_node * tasks.gpus_per_task
    elif shape.gpus_total:
        gpus = math.ceil(shape.gpus_total / count)
    return replace(shape, node_count=count, cpus=max(per_node * tasks.cpus_per_task, 1),
                   gpus=gpus)


_SHAPE_FIELDS = ("min_nodes", "max_nodes", "ntasks", "ntasks_given", "cpus_per_task",
                 "ntasks_per_node", "mem_per_node_mb", "mem_per_cpu_mb", "gpus_per_node",
                 "gpu_type", "gpus_total", "gpus_per_task", "exclusive", "nodelist", "exclude",
                 "features", "constraint")
# The request fields `shape_of` reads: jobs with equal keys have equal shapes. An attrgetter
# builds the tuple in C: the pass computes one per pending job (tens of thousands).
shape_key = attrgetter(*_SHAPE_FIELDS)
# What decides a job's static verdict and its placement: its partitions, limit and shape.
request_key = attrgetter("partitions", "time_limit", *_SHAPE_FIELDS)


def shape_of(job: JobRequest, policy: SchedulingPolicy) -> NodeShape:
    """The job's per-node demand; raises ConstraintError for a -C it cannot read."""
    required = tuple(dict.fromkeys(job.nodelist))
    # -w with more nodes than -N raises the node count, as in Slurm.
    node_count = max(job.min_nodes, len(required), 1)
    top = max(job.max_nodes or 0, node_count)
    # --gpus-per-node wins over --gpus-per-task when both are given.
    per_task_gpus = 0 if job.gpus_per_node else max(job.gpus_per_task, 0)
    tasks = Tasks(max(job.ntasks, 1), job.ntasks_given, max(job.cpus_per_task, 1),
                  job.ntasks_per_node or 0, per_task_gpus)
    if tasks.given and not tasks.per_node:
        top = min(top, max(tasks.ntasks, node_count))   # never more nodes than tasks
    per_node = tasks.per_node_on(node_count)
    cpus = max(per_node * tasks.cpus_per_task, 1)

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

    gpus, gpus_total, spread = job.gpus_per_node, 0, False
    if per_task_gpus:
        gpus = per_node * per_task_gpus
    elif not gpus and job.gpus_total:
        if top > node_count:
            gpus, gpus_total, spread = 1, job.gpus_total, True
        elif node_count == 1:
            gpus = job.gpus_total
        else:
            gpus, gpus_total = math.ceil(job.gpus_total / node_count), job.gpus_total

    features, any_of, one_of = parse_constraint(job.constraint)
    ranged = top > node_count or per_task_gpus
    return NodeShape(
        node_count=node_count, cpus=cpus, exclusive=job.exclusive, memory_rule=rule,
        memory_mb=memory, gpus=gpus, gpus_total=gpus_total, gpu_type=job.gpu_type,
        features=frozenset(job.features) | features, required=required,
        excluded=frozenset(job.exclude), any_of=any_of, one_of=one_of,
        max_node_count=top if top > node_count else 0,
        tasks=tasks if ranged else None, gpus_spread=spread,
    )


_FEATURE = re.compile(r"[A-Za-z0-9_.:+-]+")


@functools.lru_cache(maxsize=1024)
def parse_constraint(
    text: str,
) -> tuple[frozenset[str], frozenset[frozenset[str]], tuple[str, ...]]:
    """Slurm's -C expression -> (features every node has, per-node OR sets, matching-OR
    features). Reads AND (`&`, or `,`), OR within a term (`a|b`, also parenthesised) and one
    bracketed matching OR (`[a|b]`); counts (`a*2`) and nested groups raise ConstraintError."""
    features: set[str] = set()
    any_of: set[frozenset[str]] = set()
    one_of: tuple[str, ...] = ()
    if not text.strip():
        return frozenset(), frozenset(), ()
    for term in re.split(r"[&,]", text):
        term = term.strip()
        bracketed = term.startswith("[") and term.endswith("]")
        if bracketed or (term.startswith("(") and term.endswith(")")):
            inner = term[1:-1]
        else:
            inner = term
        names = [name.strip() for name in inner.split("|")]
        if not all(_FEATURE.fullmatch(name) for name in names):
            raise ConstraintError(f"cannot read constraint {text!r}")
        if bracketed:
            if one_of:
                raise ConstraintError(f"more than one [...] group in constraint {text!r}")
            one_of = tuple(dict.fromkeys(names))
        elif len(names) == 1:
            features.add(names[0])
        else:
            any_of.add(frozenset(names))
    return frozenset(features), frozenset(any_of), one_of


def requested_cpus(job: JobRequest) -> int:
    """CPUs the job asks for in total (what the job-size priority factor weighs)."""
    per_task = max(job.cpus_per_task, 1)
    if not job.ntasks_given:   # no -n: one task (or --ntasks-per-node) on each node
        return max(job.min_nodes, 1) * max(job.ntasks_per_node or 1, 1) * per_task
    total = max(job.ntasks, 1) * per_task
    if job.ntasks_per_node:
        total = max(total, job.ntasks_per_node * max(job.min_nodes, 1) * per_task)
    return total
