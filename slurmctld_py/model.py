"""The controller's in-memory mirror of the database: jobs, runs and nodes.

These are the controller's private, mutable working records (the database row is the durable
copy; every change goes through the store in the same transaction). The solver never sees them:
it gets frozen snapshots built from them (see scheduler.py).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field


class JobState(enum.StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUSPENDED = "SUSPENDED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"
    TIMEOUT = "TIMEOUT"
    NODE_FAIL = "NODE_FAIL"
    PREEMPTED = "PREEMPTED"
    BOOT_FAIL = "BOOT_FAIL"
    DEADLINE = "DEADLINE"
    OUT_OF_MEMORY = "OUT_OF_MEMORY"

    @property
    def is_finished(self) -> bool:
        return self not in (JobState.PENDING, JobState.RUNNING, JobState.SUSPENDED)


ACTIVE_RUN_STATES = ("launching", "running")


@dataclass(slots=True)
class Allocation:
    node: str
    cpus: int
    memory_mb: int
    gpus: tuple[int, ...] = ()

    def to_json(self) -> dict:
        return {"node": self.node, "cpus": self.cpus, "memory_mb": self.memory_mb, "gpus": list(self.gpus)}

    @classmethod
    def from_json(cls, d: dict) -> "Allocation":
        return cls(d["node"], int(d["cpus"]), int(d["memory_mb"]), tuple(d.get("gpus", ())))


@dataclass(slots=True)
class Run:
    """One attempt at running a job. Resources are held while the run is active."""

    job_id: int
    attempt: int
    state: str                       # launching | running | ended
    allocations: list[Allocation]
    start_time: float
    batch_host: str
    end_time: float | None = None
    outcome: str = ""

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_RUN_STATES


@dataclass(slots=True)
class Job:
    """A job as the controller tracks it; field names follow the `jobs` table."""

    job_id: int
    uid: int
    gid: int
    user_name: str
    group_name: str
    name: str
    partition: str
    req_partitions: str
    account: str
    qos: str
    state: JobState
    spec: dict
    script: str
    submit_time: float
    reason: str = "None"
    eligible_time: float | None = None
    start_time: float | None = None
    end_time: float | None = None
    time_limit_min: int | None = None
    priority: int = 0
    nice: int = 0
    held: bool = False
    hold_reason: str = ""
    exit_code: int = 0
    exit_signal: int = 0
    derived_exit_code: int = 0
    nodes: str = ""
    num_nodes: int = 1
    num_cpus: int = 1
    num_tasks: int = 1
    req_tres: str = ""
    alloc_tres: str = ""
    work_dir: str = ""
    stdout: str = ""
    stderr: str = ""
    restarts: int = 0
    requeue: bool = True
    cancelled_by: int | None = None
    current_attempt: int = 0
    dependency: str = ""
    comment: str = ""
    submit_line: str = ""
    array_job_id: int = 0              # the array this job belongs to (0 = none)
    array_task_id: int | None = None   # its index; None on an array's pending record
    array_task_str: str = ""           # pending record: the indices not started yet (Slurm's text)
    array_max_tasks: int = 0           # the array's throttle (%N, 0 = none)
    # not persisted: derived at run time
    completing: bool = False          # ended in the controller's eyes, processes not yet gone
    run: Run | None = None            # the active (or completing) run
    reason_detail: str = ""
    expected_start: float | None = None
    expected_nodes: str = ""          # where the backfill plan expects it to start (squeue %Y)
    version: int = 0                  # bumped on every change the scheduler's request cache must see
    dependency_shown: str = ""        # the unmet part of `dependency`, as squeue %E shows it
    dependency_state: str = ""        # '' (none or satisfied), 'Dependency', 'DependencyNeverSatisfied'
    array_pending: list[int] | None = None   # pending record: array_task_str as sorted indices

    @property
    def is_array_pending_record(self) -> bool:
        """The record holding an array's tasks that have not started yet."""
        return self.array_job_id != 0 and self.array_task_id is None

    @property
    def is_active(self) -> bool:
        return not self.state.is_finished or self.completing


@dataclass(slots=True)
class Node:
    """A node as configured, plus what its agent last said and what an admin set."""

    name: str
    cpus: int
    memory_mb: int
    gpu_types: tuple[str, ...]        # one entry per GPU index
    partitions: list[str]
    features: tuple[str, ...] = ()
    weight: int = 1
    admin_state: str = "UP"           # UP | DOWN | DRAIN (set by scontrol or config)
    reason: str = ""
    reason_time: float = 0.0
    reason_uid: int = 0
    registered: bool = False          # an agent has registered since the controller started
    responding: bool = False
    last_heartbeat: float = 0.0
    boot_time: float = 0.0
    agent_start_time: float = 0.0
    hostname: str = ""
    arch: str = ""
    os: str = ""
    version: str = ""
    last_busy_time: float = 0.0       # when it last had work (a run started or ended here)
    runs: dict[tuple[int, int], Run] = field(default_factory=dict)   # active runs holding resources here
