"""Job arrays in the controller: one pending record per array, tasks split off as they start.

As observed on Slurm 22.05 (`squeue -r`, `scontrol show job`, `sacct`):
- `sbatch --array=1-5%2` creates one job record, id 185, ArrayJobId=185, holding the indices not
  yet started (`185_[1-5%2]`).
- When task k starts it is split off into a record of its own with a new job id (204:
  `185_1`, JobIDRaw 204), unless it is the last pending index: then the pending record itself
  becomes that task (`185_5` keeps job id 185).
- At most %N tasks run at once; the rest wait with reason `JobArrayTaskLimit`.
- Cancelling a pending index just drops it (no record remains, `scontrol show job 185_7`:
  not found); cancelling the array id cancels every task, the pending record included.

Durability: the pending record's remaining indices and throttle are columns of its row
(`array_task_str`, `array_max_tasks`), and a split writes the new task row and the shrunk
remainder in the same transaction as the task's start.

The solver sees an array as up to `CANDIDATES_PER_CYCLE` identical requests, so one cycle can
start many tasks: the first carries the pending record's id, the others an id that encodes
(array, index) above every real job id (`candidate_id`).
"""
from __future__ import annotations

from dataclasses import replace

from accounting import store
from conf.arrays import INVALID_ARRAY, ArrayError, format_indices, parse_array, remove_index
from slurmctld_py.errors import RequestError
from slurmctld_py.model import Job, JobState

CANDIDATES_PER_CYCLE = 64
THROTTLE_REASON = "JobArrayTaskLimit"
_CANDIDATE_BASE = 1 << 60
_TASK_BITS = 23                      # MaxArraySize is at most 4000001 < 2**23


# ------------------------------------------------------------------------------ submit
def array_columns(spec, config) -> dict:
    """The `jobs` columns of a submitted --array ({} for a plain job); RequestError if refused."""
    text = getattr(spec, "array", "") or ""
    if not text:
        return {}
    try:
        parsed = parse_array(text, config.max_array_size)
    except ArrayError:
        raise RequestError("INVALID_ARRAY", message=INVALID_ARRAY) from None
    if parsed is None:
        return {}
    # array_job_id is the row's own id, known once ids are allocated (Controller._insert_new_jobs)
    return {"array_task_str": format_indices(parsed.tasks), "array_max_tasks": parsed.throttle}


def register(ctl, job: Job) -> None:
    """Index an array member (pending record or task) under its array id."""
    if job.array_job_id:
        ctl.array_members.setdefault(job.array_job_id, set()).add(job.job_id)


def members(ctl, array_id: int) -> list[Job]:
    """Every record of the array held in memory, by job id."""
    ids = ctl.array_members.get(array_id, ())
    return sorted((ctl.jobs[i] for i in ids if i in ctl.jobs), key=lambda j: j.job_id)


def jobs_for_ids(ctl, ids: list[int]) -> list[Job]:
    """What `squeue -j` / `scontrol show job` mean by these ids: an array id names all its
    records; any other id names its own job."""
    found: dict[int, Job] = {}
    for job_id in ids:
        if job_id in ctl.array_members:
            for job in members(ctl, job_id):
                found[job.job_id] = job
        elif job_id in ctl.jobs:
            found[job_id] = ctl.jobs[job_id]
    return list(found.values())


# ------------------------------------------------------------------------------ scheduling
def candidate_id(array_id: int, task: int) -> int:
    return _CANDIDATE_BASE + (array_id << _TASK_BITS) + task


def decode_candidate(candidate: int) -> tuple[int, int] | None:
    if candidate < _CANDIDATE_BASE:
        return None
    rest = candidate - _CANDIDATE_BASE
    return rest >> _TASK_BITS, rest & ((1 << _TASK_BITS) - 1)


def running_tasks(ctl, record: Job) -> int:
    """Tasks of the array that hold resources (what the throttle counts)."""
    return sum(1 for j in members(ctl, record.array_job_id)
               if j.job_id != record.job_id and (j.state in (JobState.RUNNING, JobState.SUSPENDED) or j.completing))


def candidates(ctl, record: Job, request) -> list:
    """The solver requests for a pending record: one per index that may start now (throttle
    and CANDIDATES_PER_CYCLE permitting); [] and reason JobArrayTaskLimit when throttled."""
    pending = record.array_pending or []
    if not pending:
        return []
    room = len(pending)
    if record.array_max_tasks:
        room = min(room, record.array_max_tasks - running_tasks(ctl, record))
        if room <= 0:
            record.reason, record.reason_detail = THROTTLE_REASON, ""
            record.expected_start, record.expected_nodes = None, ""
            return []
    room = min(room, CANDIDATES_PER_CYCLE)
    return [request] + [replace(request, job_id=candidate_id(record.job_id, task)) for task in pending[1:room]]


def resolve_start(ctl, start_job_id: int, claimed: dict[int, set[int]]) -> tuple[Job, int | None] | None:
    """(job, array index to split off or None) for a planned start, or None when it no longer
    applies. `claimed` collects the indices already taken by this batch of starts."""
    decoded = decode_candidate(start_job_id)
    if decoded is None:
        job = ctl.jobs.get(start_job_id)
        if job is None or not job.is_array_pending_record:
            return (job, None) if job is not None else None
        record, task = job, None
    else:
        record = ctl.jobs.get(decoded[0])
        if record is None or not record.is_array_pending_record:
            return None
        task = decoded[1]
    taken = claimed.setdefault(record.job_id, set())
    pending = record.array_pending or []
    if task is None:
        task = next((t for t in pending if t not in taken), None)
    if task is None or task in taken or task not in pending:
        return None
    if record.array_max_tasks and running_tasks(ctl, record) + len(taken) >= record.array_max_tasks:
        return None
    taken.add(task)
    return record, task


def split_task(ctl, s, record: Job, task: int, now: float) -> Job:
    """Take index `task` out of the pending record as a job of its own (written in `s`).
    The last pending index is the record itself, which keeps the array's job id."""
    from slurmctld_py.controller import _JOB_FIELDS, job_from_dict
    pending = record.array_pending or []
    remove_index(pending, task)
    if not pending:
        record.array_task_id, record.array_pending, record.array_task_str = task, None, ""
        store.update_job(s, record.job_id, array_task_id=task, array_task_str="")
        return record
    record.array_task_str = format_indices(pending)
    new_id = store.allocate_job_ids(s, 1, ctl.config.first_job_id)[0]
    row = {k: getattr(record, k) for k in _JOB_FIELDS}
    row.update(job_id=new_id, state=record.state.value, spec=dict(record.spec), array_task_id=task,
               array_task_str="", current_attempt=0, restarts=0)
    store.insert_jobs(s, [row])
    store.update_job(s, record.job_id, array_task_str=record.array_task_str)
    store.add_event(s, new_id, "array_task", now, array_job_id=record.job_id, task=task)
    job = job_from_dict(row)
    job.dependency_state, job.dependency_shown = record.dependency_state, record.dependency_shown
    job.priority = record.priority
    ctl.jobs[new_id] = job
    register(ctl, job)
    return job


# ------------------------------------------------------------------------------ cancel
def expand_cancel_targets(ctl, job_ids: list[int]) -> list[tuple[int, Job | None]]:
    """(id as named, job) pairs: an array id stands for every unfinished record of the array
    (or, when all have ended, for its pending record, which then reports 'already done')."""
    targets: list[tuple[int, Job | None]] = []
    for job_id in job_ids:
        if job_id in ctl.array_members:
            records = members(ctl, job_id)
            live = [j for j in records if not j.state.is_finished]
            targets.extend((job_id, j) for j in (live or records[:1]))
        else:
            targets.append((job_id, ctl.jobs.get(job_id)))
    return targets


def task_cancel_plan(ctl, caller, requests: list[dict], signal: int | None):
    """For scancel's `123_7` / `123_[1-3]` tokens: (jobs to cancel or signal as whole jobs,
    {pending record id: indices to drop}, one result per token)."""
    targets: list[tuple[int, Job]] = []
    drops: dict[int, list[int]] = {}
    results: list[dict] = []
    for req in requests:
        array_id, tasks, token = req["job_id"], req["tasks"], req.get("token", "")
        records = members(ctl, array_id)
        by_task = {j.array_task_id: j for j in records if j.array_task_id is not None}
        pending_record = next((j for j in records if j.is_array_pending_record), None)
        pending = set(pending_record.array_pending or ()) if pending_record is not None else set()
        matched_jobs = [by_task[t] for t in tasks if t in by_task]
        matched_pending = [t for t in tasks if t in pending and t not in by_task]
        code = ""
        if not matched_jobs and not matched_pending:
            code = "INVALID_JOB_ID"
        elif caller.uid != 0 and any(j.uid != caller.uid for j in [*matched_jobs, *(
                [pending_record] if matched_pending else [])]):
            code = "ACCESS_DENIED"
        elif all(j.state.is_finished for j in matched_jobs) and not (
                matched_pending and pending_record is not None and not pending_record.state.is_finished):
            code = "ALREADY_DONE"
        elif signal is not None and not any(j.state == JobState.RUNNING for j in matched_jobs):
            code = "JOB_PENDING"
        if not code:
            targets.extend((j.job_id, j) for j in matched_jobs if not j.state.is_finished)
            if signal is None and matched_pending and not pending_record.state.is_finished:
                drops.setdefault(pending_record.job_id, []).extend(matched_pending)
        results.append({"job_id": array_id, "token": token, "code": code})
    return targets, drops, results


def drop_pending(ctl, s, drops: dict[int, list[int]]) -> list[Job]:
    """Remove cancelled pending indices (written in `s`); the records left with none are
    returned for the caller to cancel whole. Observed: such a record then shows as a plain id
    (`473`, ArrayTaskId=4294967294), unlike one cancelled by the array id (`473_[0-2]`)."""
    emptied: list[Job] = []
    for record_id, tasks in drops.items():
        record = ctl.jobs[record_id]
        drop = set(tasks)
        record.array_pending = [t for t in record.array_pending or [] if t not in drop]
        record.array_task_str = format_indices(record.array_pending)
        store.update_job(s, record_id, array_task_str=record.array_task_str)
        record.version += 1
        if not record.array_pending:
            emptied.append(record)
    return emptied


# ------------------------------------------------------------------------------ dependencies
_ACTIVE = ("PENDING", "RUNNING", "SUSPENDED")


def array_facts(ctl, job_id: int):
    """What a dependency on an array id sees: not ended while any task is pending or running;
    then COMPLETED when every task completed with 0, else the first failed task's state."""
    if job_id not in ctl.array_members:
        return None
    from slurmctld_py.dependencies import Facts
    records = members(ctl, job_id)
    if not records:
        return None
    starts = [j.start_time for j in records if j.start_time]
    first_start = min(starts) if starts else None
    if any(j.state.value in _ACTIVE or j.completing for j in records):
        state = "RUNNING" if first_start is not None else "PENDING"
        return Facts(state, first_start, 0)
    failed = next((j for j in records if j.state != JobState.COMPLETED or j.exit_code), None)
    if failed is None:
        return Facts("COMPLETED", first_start, 0)
    return Facts(failed.state.value, first_start, failed.exit_code or 1)


def task_facts(ctl, array_id: int, task: int):
    """What `afterok:<array>_<task>` sees: that task's own record once it started, PENDING while
    the array's pending record still holds it, None (satisfied, as for an unknown id) else."""
    if array_id not in ctl.array_members:
        return None
    from slurmctld_py.dependencies import Facts
    for job in members(ctl, array_id):
        if job.array_task_id == task:
            state = job.state.value if not job.completing else "RUNNING"
            return Facts(state, job.start_time, job.exit_code)
        if job.is_array_pending_record and task in (job.array_pending or ()):
            return Facts("PENDING", None, 0)
    return None


def purge_check(ctl, cutoff: float):
    """job -> whether it may leave memory now: an array's records leave together, once all have
    ended before `cutoff` (dependencies on the array id need all of them until then). Each
    array is judged once per check."""
    verdicts: dict[int, bool] = {}

    def purgeable(job: Job) -> bool:
        if not job.array_job_id:
            return True
        verdict = verdicts.get(job.array_job_id)
        if verdict is None:
            verdict = verdicts[job.array_job_id] = all(
                j.state.is_finished and not j.completing and (j.end_time or 0) < cutoff
                for j in members(ctl, job.array_job_id))
        return verdict
    return purgeable


def outcomes_before_purge(ctl, job_ids: list[int]) -> dict:
    """{array id: Facts} for the arrays whose records are about to be forgotten; drops them
    from the member index."""
    out = {}
    for array_id in {ctl.jobs[i].array_job_id for i in job_ids if ctl.jobs[i].array_job_id}:
        facts = array_facts(ctl, array_id)
        if facts is not None:
            out[array_id] = facts
        ctl.array_members.pop(array_id, None)
    return out


# ------------------------------------------------------------------------------ launch
def task_environment(job: Job) -> dict[str, str]:
    """SLURM_ARRAY_* for a started task (values describe the whole array as submitted)."""
    if not job.array_job_id or job.array_task_id is None:
        return {}
    parsed = parse_array(job.spec.get("array") or str(job.array_task_id), None)
    tasks = parsed.tasks if parsed is not None else (job.array_task_id,)
    step = parsed.step if parsed is not None else 1
    return {
        "SLURM_ARRAY_JOB_ID": str(job.array_job_id), "SLURM_ARRAY_TASK_ID": str(job.array_task_id),
        "SLURM_ARRAY_TASK_COUNT": str(len(tasks)), "SLURM_ARRAY_TASK_MIN": str(tasks[0]),
        "SLURM_ARRAY_TASK_MAX": str(tasks[-1]), "SLURM_ARRAY_TASK_STEP": str(step),
    }


MAX_TASKS_PER_REQUEST = 1 << 20


def task_requests(raw) -> list[dict] | None:
    """The `array_tasks` argument of a cancel request, type-checked (RequestError otherwise)."""
    if raw is None:
        return None
    ok = isinstance(raw, list) and all(
        isinstance(r, dict) and isinstance(r.get("job_id"), int) and isinstance(r.get("tasks"), list)
        and all(isinstance(t, int) and not isinstance(t, bool) for t in r["tasks"])
        and isinstance(r.get("token", ""), str) for r in raw)
    if not ok or sum(len(r["tasks"]) for r in raw) > MAX_TASKS_PER_REQUEST:
        raise RequestError("BAD_REQUEST")
    return raw
