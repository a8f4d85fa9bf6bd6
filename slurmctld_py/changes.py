"""Changes to queued jobs, nodes and partitions: scontrol hold/uhold/release/update.

Each function returns per-job results or raises RequestError with Slurm's error, and commits its
change before returning (like every controller transition). Who may do what follows Slurm: the
owner holds and releases their own jobs (user holds only), root holds with an admin hold, and only
root changes nodes, partitions, or raises a limit.
"""
from __future__ import annotations

import math

from accounting import store
from slurmctld_py.errors import RequestError
from slurmctld_py.model import Job, JobState


def _check_owner(caller, job: Job) -> None:
    if caller.uid != 0 and caller.uid != job.uid:
        raise RequestError("ACCESS_DENIED")


def hold(ctl, caller, job_ids: list[int], *, user_hold: bool) -> list[dict]:
    results = []
    with ctl.tx() as s:
        for job_id in job_ids:
            job = ctl.jobs.get(job_id)
            try:
                if job is None:
                    raise RequestError("INVALID_JOB_ID")
                _check_owner(caller, job)
                if job.state.is_finished:
                    raise RequestError("ALREADY_DONE")
                if job.state == JobState.PENDING:
                    reason = "JobHeldUser" if user_hold or caller.uid != 0 else "JobHeldAdmin"
                    job.held, job.hold_reason, job.reason, job.priority = True, reason, reason, 0
                    job.version += 1
                    store.update_job(s, job_id, held=True, hold_reason=reason, reason=reason, priority=0)
                    store.add_event(s, job_id, "held", ctl.clock(), by=caller.uid, reason=reason)
                results.append({"job_id": job_id, "code": ""})   # a running job: accepted, as Slurm
            except RequestError as exc:
                results.append({"job_id": job_id, "code": exc.code})
    return results


def release(ctl, caller, job_ids: list[int]) -> list[dict]:
    results = []
    released = False
    now = ctl.clock()
    with ctl.tx() as s:
        for job_id in job_ids:
            job = ctl.jobs.get(job_id)
            try:
                if job is None:
                    raise RequestError("INVALID_JOB_ID")
                _check_owner(caller, job)
                if job.state.is_finished:
                    raise RequestError("ALREADY_DONE")
                if job.held:
                    if job.hold_reason == "JobHeldAdmin" and caller.uid != 0:
                        raise RequestError("ACCESS_DENIED")
                    job.held, job.hold_reason, job.reason = False, "", "None"
                    job.eligible_time = job.eligible_time or now
                    job.version += 1
                    store.update_job(s, job_id, held=False, hold_reason="", reason="None",
                                     eligible_time=job.eligible_time)
                    store.add_event(s, job_id, "released", now, by=caller.uid)
                    released = True
                results.append({"job_id": job_id, "code": ""})
            except RequestError as exc:
                results.append({"job_id": job_id, "code": exc.code})
    if released:
        ctl.wake_scheduler()
    return results


def update_job(ctl, caller, job_id: int, changes: dict[str, str]) -> None:
    """scontrol update JobId=N Key=Value...: all or nothing."""
    from conf.timefmt import TimeFormatError, parse_minutes, parse_timestamp
    job = ctl.jobs.get(job_id)
    if job is None:
        raise RequestError("INVALID_JOB_ID")
    _check_owner(caller, job)
    if job.state.is_finished:
        raise RequestError("JOB_FINISHED")
    row: dict = {}
    spec = dict(job.spec)
    for key, value in changes.items():
        name = key.lower()
        if job.state != JobState.PENDING and name != "comment":
            raise RequestError("JOB_NOT_PENDING")
        if name == "timelimit":
            try:
                minutes = parse_minutes(value)
            except TimeFormatError:
                raise RequestError("INVALID_TIME_LIMIT") from None
            if minutes is not None and minutes < 0:
                raise RequestError("INVALID_TIME_LIMIT")
            current = job.time_limit_min
            raising = current is not None and (minutes is None or minutes > current)
            if raising and caller.uid != 0:
                raise RequestError("ACCESS_DENIED")     # users may only lower their limits
            row["time_limit_min"] = minutes or None
            spec["time_limit_min"] = minutes
        elif name == "partition":
            try:
                part = ctl.config.partition(value)
            except KeyError:
                raise RequestError("INVALID_PARTITION_NAME") from None
            from sdk.records import JobSpec
            from slurmctld_py.submit import check_fits, resource_request
            candidate = JobSpec.from_wire({**spec, "partition": value})
            check_fits(candidate, resource_request(candidate), [part], ctl.config, ctl.config.def_mem_per_cpu)
            row["partition"] = row["req_partitions"] = value
            spec["partition"] = value
        elif name == "nice":
            try:
                nice = int(value)
            except ValueError:
                raise RequestError("BAD_REQUEST", message=f"Invalid nice value {value}") from None
            if nice < 0 and caller.uid != 0:
                raise RequestError("ACCESS_DENIED")
            row["nice"] = spec["nice"] = nice
        elif name in ("name", "jobname"):
            row["name"] = spec["name"] = value
        elif name == "comment":
            row["comment"] = spec["comment"] = value
        elif name in ("starttime", "begintime"):
            try:
                begin = parse_timestamp(value, ctl.clock())
            except TimeFormatError:
                raise RequestError("BAD_REQUEST", message=f"Invalid time specification {value}") from None
            spec["begin_time"] = int(math.ceil(begin))
        else:
            raise RequestError("BAD_REQUEST", message=f"Update of this parameter is not supported: {key}={value}")
    row["spec"] = spec
    with ctl.tx() as s:
        store.update_job(s, job_id, **row)
        store.add_event(s, job_id, "updated", ctl.clock(), by=caller.uid, changes=changes)
    job.spec = spec
    for attr in ("time_limit_min", "partition", "req_partitions", "nice", "name", "comment"):
        if attr in row:
            setattr(job, attr, row[attr])
    job.version += 1
    ctl.wake_scheduler()


def update_nodes(ctl, caller, names: list[str], state: str, reason: str) -> None:
    if caller.uid != 0:
        raise RequestError("ACCESS_DENIED")
    nodes = []
    for name in names:
        node = ctl.nodes.get(name)
        if node is None:
            raise RequestError("INVALID_NODE_NAME")
        nodes.append(node)
    state = state.upper()
    if state in ("DRAIN", "DOWN", "FAIL") and not reason:
        raise RequestError("BAD_REQUEST",
                           message="You must specify a reason when DOWNING or DRAINING a node. Request denied")
    if state in ("RESUME", "UNDRAIN", "IDLE") and any(n.admin_state == "UP" for n in nodes):
        raise RequestError("BAD_REQUEST", message="Invalid node state specified")
    if state not in ("DRAIN", "DOWN", "FAIL", "RESUME", "UNDRAIN", "IDLE"):
        raise RequestError("BAD_REQUEST", message="Invalid node state specified")
    now = ctl.clock()
    with ctl.tx() as s:
        for node in nodes:
            if state in ("RESUME", "UNDRAIN", "IDLE"):
                node.admin_state, node.reason, node.reason_time = "UP", "", now
            else:
                node.admin_state = "DOWN" if state == "DOWN" else "DRAIN"
                node.reason, node.reason_time, node.reason_uid = reason, now, caller.uid
            store.upsert_node(s, node.name, state=node.admin_state, reason=node.reason,
                              reason_time=now, reason_uid=caller.uid)
            store.add_event(s, None, "node_" + state.lower(), now, node=node.name, reason=reason, by=caller.uid)
            if node.admin_state == "DOWN":   # a node set DOWN loses its jobs, as in Slurm
                for run in list(node.runs.values()):
                    job = ctl.jobs.get(run.job_id)
                    if job is not None:
                        ctl.fail_run_on_dead_node(s, job, run, now)
    ctl.wake_scheduler()
    ctl.wake_sender()


def update_partition(ctl, caller, name: str, state: str) -> None:
    if caller.uid != 0:
        raise RequestError("ACCESS_DENIED")
    if name not in ctl.partition_state:
        raise RequestError("INVALID_PARTITION_NAME")
    state = state.upper()
    if state not in ("UP", "DOWN", "DRAIN", "INACTIVE"):
        raise RequestError("BAD_REQUEST", message=f"Invalid input: State={state}")
    with ctl.tx() as s:
        store.upsert_partition_state(s, name, state)
        store.add_event(s, None, "partition_state", ctl.clock(), partition=name, state=state, by=caller.uid)
    ctl.partition_state[name] = state
    ctl.wake_scheduler()
