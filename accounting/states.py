"""The state vocabularies stored in the database, with Slurm's names.

Columns hold these as plain strings (a StrEnum member *is* a str), so rows written by older or
newer code stay readable; these enums are the spelling every writer should use.
"""

from __future__ import annotations

import enum

__all__ = ["ACTIVE_JOB_STATES", "ACTIVE_RUN_STATES", "JobState", "RunOutcome", "RunState"]


class JobState(enum.StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUSPENDED = "SUSPENDED"
    COMPLETING = "COMPLETING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMEOUT = "TIMEOUT"
    NODE_FAIL = "NODE_FAIL"
    PREEMPTED = "PREEMPTED"
    OUT_OF_MEMORY = "OUT_OF_MEMORY"
    BOOT_FAIL = "BOOT_FAIL"
    DEADLINE = "DEADLINE"
    REQUEUED = "REQUEUED"


#: jobs the controller must keep in memory: they can still change
ACTIVE_JOB_STATES: frozenset[str] = frozenset(
    {JobState.PENDING, JobState.RUNNING, JobState.SUSPENDED, JobState.COMPLETING, JobState.REQUEUED}
)


class RunState(enum.StrEnum):
    """Life of one attempt (`job_runs.state`)."""

    LAUNCHING = "launching"
    RUNNING = "running"
    ENDED = "ended"


#: the states the one-active-run-per-job unique index covers
ACTIVE_RUN_STATES: tuple[str, ...] = (RunState.LAUNCHING, RunState.RUNNING)


class RunOutcome(enum.StrEnum):
    """How an attempt ended (`job_runs.outcome`)."""

    EXITED = "exited"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"
    LAUNCH_FAILED = "launch_failed"
    NODE_FAIL = "node_fail"
    REQUEUED = "requeued"
