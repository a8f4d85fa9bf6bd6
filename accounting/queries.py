"""sacct's query: finished and live jobs with their steps, filtered the way sacct filters.

Window semantics (observed on Slurm 22.05, `sacct -X` after a held-then-cancelled job):
- a job is in the window [start, end] when it had not finished before `start`
  (end_time NULL or >= start) and became eligible no later than `end`;
- a job that never became eligible (held, then cancelled) has eligible_time NULL: plain
  `sacct` never lists it, while `sacct -j ID` does, even with -S/-E given. So with `job_ids`
  the "no later than end" test falls back to the submit time.

A window over a long history costs two index ranges, not a table scan (see `_window`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from accounting.models import Job, Step

__all__ = ["query_accounting", "step_sort_key"]

_STEP_CHUNK = 1000

# sacct lists a job's steps as batch, extern, interactive, then srun steps by number.
_NAMED_STEP_RANK = {"batch": 0, "extern": 1, "interactive": 2}


def step_sort_key(step: Step) -> tuple[int, int, int, str]:
    """Order within a job: by attempt, then batch, extern, interactive, numeric, anything else."""
    rank = _NAMED_STEP_RANK.get(step.step_id)
    if rank is not None:
        return (step.attempt, rank, 0, "")
    if step.step_id.isdigit():
        return (step.attempt, 3, int(step.step_id), "")
    return (step.attempt, 4, 0, step.step_id)


def query_accounting(
    session: Session,
    *,
    job_ids: list[int] | None = None,
    users: list[str] | None = None,
    start: float | None = None,
    end: float | None = None,
    states: list[str] | None = None,
    names: list[str] | None = None,
    partitions: list[str] | None = None,
) -> list[tuple[Job, list[Step]]]:
    """Jobs matching every given filter, ordered by job id, each with its steps (all attempts).

    None means "no filter". `job_ids` also match array tasks by their array's id, as
    `sacct -j <array id>` lists every task. `states` match the job's current state (the caller
    picks the window sacct's -s implies). `partitions` match the partition a job ran in, or
    any one of the comma-separated list a pending job asked for.
    """
    conditions = _conditions(job_ids, users, start, end, states, names, partitions)
    jobs = list(session.scalars(select(Job).where(*conditions).order_by(Job.job_id)))
    if partitions is not None:
        jobs = [job for job in jobs if _in_partitions(job.partition, partitions)]
    if not jobs:
        return []
    # By primary-key prefix in chunks: a join on the job filter would let the planner scan
    # every step ever recorded.
    steps_by_job: dict[int, list[Step]] = defaultdict(list)
    job_ids_found = [job.job_id for job in jobs]
    for first in range(0, len(job_ids_found), _STEP_CHUNK):
        chunk = job_ids_found[first : first + _STEP_CHUNK]
        for step in session.scalars(select(Step).where(Step.job_id.in_(chunk))):
            steps_by_job[step.job_id].append(step)
    return [(job, sorted(steps_by_job.get(job.job_id, ()), key=step_sort_key)) for job in jobs]


def _conditions(
    job_ids: list[int] | None,
    users: list[str] | None,
    start: float | None,
    end: float | None,
    states: list[str] | None,
    names: list[str] | None,
    partitions: list[str] | None,
) -> list[Any]:
    conditions: list[Any] = []
    if job_ids is not None:
        ids = sorted(set(job_ids))
        conditions.append(or_(Job.job_id.in_(ids), and_(Job.array_job_id.in_(ids), Job.array_job_id != 0)))
    if users is not None:
        conditions.append(Job.user_name.in_(users))
    if states is not None:
        conditions.append(Job.state.in_(states))
    if names is not None:
        conditions.append(Job.name.in_(names))
    if partitions is not None:
        # exact names in SQL; pending multi-partition lists are narrowed in Python afterwards
        conditions.append(or_(Job.partition.in_(partitions), Job.partition.contains(",")))
    if job_ids is not None:
        # a handful of ids: the primary key finds them, the window only filters
        if start is not None:
            conditions.append(or_(Job.end_time.is_(None), Job.end_time >= start))
        if end is not None:
            conditions.append(or_(Job.eligible_time <= end, and_(Job.eligible_time.is_(None), Job.submit_time <= end)))
        return conditions
    window = _window(start, end)
    if states is not None:
        # with -s Slurm also lists jobs that never became eligible (held, then cancelled)
        never_eligible = Job.eligible_time.is_(None)
        if end is not None:
            never_eligible = and_(never_eligible, Job.submit_time <= end)
        if start is not None:
            never_eligible = and_(never_eligible, or_(Job.end_time.is_(None), Job.end_time >= start))
        window = or_(window, never_eligible)
    conditions.append(window)
    return conditions


def _window(start: float | None, end: float | None) -> Any:
    """Eligible no later than `end`, not finished before `start`, as two index ranges.

    "end_time >= start AND eligible_time <= end" alone is two half-open ranges on two
    columns: over a long history each matches half the table. But a finished job overlapping
    the window became eligible at most `longest span` (max of end_time - eligible_time, one
    probe of ix_jobs_eligible_span) before `start`, which turns the finished part into a
    closed eligible_time range; unfinished jobs (end_time NULL) are few and indexed too.
    Written as one statement so both parts read the same snapshot.
    """
    eligible_by_end = Job.eligible_time <= end if end is not None else Job.eligible_time.is_not(None)
    if start is None:
        return eligible_by_end
    longest_span = select(func.coalesce(func.max(Job.end_time - Job.eligible_time), 0.0)).scalar_subquery()
    # one second of slack absorbs float rounding between the two subtractions
    earliest_eligible = start - 1.0 - longest_span
    finished_overlapping = and_(Job.eligible_time >= earliest_eligible, Job.end_time >= start, eligible_by_end)
    unfinished = and_(Job.end_time.is_(None), Job.eligible_time.is_not(None), eligible_by_end)
    return or_(finished_overlapping, unfinished)


def _in_partitions(job_partition: str, wanted: list[str]) -> bool:
    return any(part in wanted for part in job_partition.split(","))
