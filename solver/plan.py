"""The solver's output: what to start now and why everything else waits."""
from __future__ import annotations

import enum
from dataclasses import dataclass

from solver.snapshot import NodeAllocation


class Reason(enum.StrEnum):
    """Pending reasons, spelled as Slurm prints them in squeue's NODELIST(REASON)."""

    NONE = "None"
    RESOURCES = "Resources"
    PRIORITY = "Priority"
    PARTITION_DOWN = "PartitionDown"
    PARTITION_INACTIVE = "PartitionInactive"
    PARTITION_NODE_LIMIT = "PartitionNodeLimit"
    PARTITION_TIME_LIMIT = "PartitionTimeLimit"
    NODES_DOWN = "ReqNodeNotAvail"
    BEGIN_TIME = "BeginTime"
    DEPENDENCY = "Dependency"
    DEPENDENCY_NEVER_SATISFIED = "DependencyNeverSatisfied"
    JOB_HELD_USER = "JobHeldUser"
    JOB_HELD_ADMIN = "JobHeldAdmin"
    BAD_CONSTRAINTS = "BadConstraints"
    PARTITION_CONFIG = "PartitionConfig"


@dataclass(frozen=True, slots=True)
class Start:
    """Start `job_id` now in `partition` on these allocations (one per node)."""

    job_id: int
    partition: str
    allocations: tuple[NodeAllocation, ...]
    time_limit: float | None      # seconds actually applied (partition default filled in)


@dataclass(frozen=True, slots=True)
class PendingDecision:
    """Why a job stays pending, with its priority and, when known, its expected start."""

    job_id: int
    reason: Reason
    priority: int
    expected_start: float | None = None     # backfill forecast; None = unknown
    expected_nodes: tuple[str, ...] = ()
    detail: str = ""                        # structured diagnosis in words (what is short, where)
    reserved: bool = False                  # backfill holds expected_nodes from expected_start
    expected_partition: str = ""            # where expected_start / expected_nodes apply


@dataclass(frozen=True, slots=True)
class Plan:
    starts: tuple[Start, ...]
    pending: tuple[PendingDecision, ...]
    priorities: tuple[tuple[int, int], ...] = ()   # (job_id, priority) for every pending job
    backfill_depth: int = 0       # jobs the backfill phase reconsidered (0: it did not run)
    backfilled: int = 0           # of `starts`, those backfill made (sdiag's backfilled jobs)
