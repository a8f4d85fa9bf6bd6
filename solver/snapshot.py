"""Frozen inputs of one scheduling decision.

The controller builds a `ClusterSnapshot` from its in-memory state; the solver reads nothing
else. Memory is in MiB, times are Unix seconds (float), time limits are seconds (None means
unlimited).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field


class NodeState(enum.StrEnum):
    """Base availability of a node as the solver sees it (allocation is derived from usage)."""

    UP = "UP"          # responding and schedulable
    DOWN = "DOWN"      # not responding or set down by an admin
    DRAIN = "DRAIN"    # admin drain: runs what it has, takes nothing new


class PartitionState(enum.StrEnum):
    UP = "UP"
    DOWN = "DOWN"      # takes submissions, starts nothing
    DRAIN = "DRAIN"    # takes no submissions, starts what is queued
    INACTIVE = "INACTIVE"


@dataclass(frozen=True, slots=True)
class GpuDevice:
    """One GPU on a node: its global index on the node and its type ('' when untyped), with
    where it sits when gres.conf says so: `numa`, an id shared by the GPUs bound to the same
    cores (Cores=), and `links`, its NVLink counts to every GPU of the node by index (Links=;
    -1 for itself, 0 for none)."""

    index: int
    type: str = ""
    numa: int = -1                       # -1: not declared
    links: tuple[int, ...] = ()          # empty: not declared


@dataclass(frozen=True, slots=True)
class NodeView:
    name: str
    cpus: int
    memory_mb: int
    gpus: tuple[GpuDevice, ...] = ()
    state: NodeState = NodeState.UP
    features: frozenset[str] = frozenset()
    weight: int = 1


@dataclass(frozen=True, slots=True)
class PartitionView:
    name: str
    nodes: tuple[str, ...]
    state: PartitionState = PartitionState.UP
    max_time: float | None = None        # seconds; None = UNLIMITED
    default_time: float | None = None    # seconds; None = fall back to max_time
    max_nodes: int | None = None
    priority_tier: int = 1
    priority_job_factor: int = 1
    is_default: bool = False


@dataclass(frozen=True, slots=True)
class NodeAllocation:
    """What one job holds on one node."""

    node: str
    cpus: int
    memory_mb: int
    gpus: tuple[int, ...] = ()           # GpuDevice.index values


@dataclass(frozen=True, slots=True)
class RunningJob:
    job_id: int
    partition: str
    allocations: tuple[NodeAllocation, ...]
    start_time: float
    end_time: float | None               # start + time limit; None when unlimited
    user: str = ""
    account: str = ""


@dataclass(frozen=True, slots=True)
class JobRequest:
    """A pending job's resource request, as the controller validated it at submit."""

    job_id: int
    user: str
    submit_time: float
    partitions: tuple[str, ...]          # in the order the user gave them
    min_nodes: int = 1
    max_nodes: int | None = None         # -N min-max top (None = min_nodes); with --gpus and no
                                         # -N, the most nodes the GPUs may spread over
    ntasks: int = 1
    cpus_per_task: int = 1
    ntasks_per_node: int | None = None
    mem_per_node_mb: int | None = None   # --mem (0 = all memory of each node)
    mem_per_cpu_mb: int | None = None    # --mem-per-cpu
    gpus_per_node: int = 0               # from --gres=gpu:N or --gpus-per-node
    gpu_type: str = ""                   # '' = any type
    gpus_total: int = 0                  # --gpus/-G N (whole job)
    time_limit: float | None = None      # seconds; None = take the partition default
    exclusive: bool = False
    nodelist: tuple[str, ...] = ()       # -w: required nodes
    exclude: tuple[str, ...] = ()        # -x
    features: tuple[str, ...] = ()       # -C, AND of feature names
    constraint: str = ""                 # -C as Slurm writes it: a&b, a|b, [a|b] (with features)
    gpus_per_task: int = 0               # --gpus-per-task
    ntasks_given: bool = True            # -n given; else one task (or --ntasks-per-node) per node
    held: bool = False                   # user or admin hold
    hold_reason: str = ""                # 'JobHeldUser' / 'JobHeldAdmin' when held
    begin_time: float = 0.0              # --begin; 0 = eligible now
    nice: int = 0
    account: str = ""
    qos: str = ""
    admin_priority: int | None = None    # --priority / scontrol update priority: fixed value
    dependency_reason: str = ""          # 'Dependency' or 'DependencyNeverSatisfied' when blocked
    site_factor: int = 0                 # scontrol update SiteFactor= (added as is, no weight)
    eligible_time: float | None = None   # when it became eligible (release, dependency met):
                                         # the age factor accrues from here, as Slurm's AccrueTime


@dataclass(frozen=True, slots=True)
class SchedulingPolicy:
    """Scheduler and priority settings from slurm.conf that shape decisions."""

    backfill: bool = True
    reservation_depth: int = 1           # EASY; conservative = very large
    # SchedulerParameters bf_*: None = not set. bf_window (seconds): no reservation or forecast
    # starts later than now + window; bf_resolution (seconds): the timeline rounds the ends of
    # work up to it; bf_max_job_test: backfill looks at only the first N jobs left waiting.
    bf_window: float | None = None
    bf_resolution: float | None = None
    bf_max_job_test: int | None = None
    priority_weight_age: int = 0
    priority_weight_job_size: int = 0
    priority_weight_partition: int = 0
    priority_weight_fairshare: int = 0
    priority_weight_qos: int = 0
    priority_weight_assoc: int = 0
    priority_weight_tres: tuple[tuple[str, float], ...] = ()   # ('cpu', 1000.0), ('gres/gpu', ..)
    priority_max_age: float = 7 * 86400.0
    priority_favor_small: bool = False
    priority_flags: frozenset[str] = frozenset()  # NO_NORMAL_QOS, SMALL_RELATIVE_TO_TIME, ...
    default_mem_per_cpu_mb: int | None = None   # DefMemPerCPU; None = whole node when no --mem


@dataclass(frozen=True, slots=True)
class PriorityInputs:
    """Accounting values the priority formula reads, keyed by (user, account) or QOS name.

    The fair-share factors come from `solver.fairshare` over the association tree; the controller
    recomputes them every PriorityCalcPeriod, as Slurm does, not on every scheduling pass."""

    fairshare: dict[tuple[str, str], float] = field(default_factory=dict)
    assoc_priority: dict[tuple[str, str], int] = field(default_factory=dict)
    qos_priority: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ClusterSnapshot:
    now: float
    nodes: tuple[NodeView, ...]
    partitions: tuple[PartitionView, ...]
    running: tuple[RunningJob, ...] = ()
    pending: tuple[JobRequest, ...] = ()
    policy: SchedulingPolicy = field(default_factory=SchedulingPolicy)
    priority_inputs: PriorityInputs = field(default_factory=PriorityInputs)
