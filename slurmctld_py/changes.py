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
        elif name in _SPEC_TEXT_FIELDS:
            spec[_SPEC_TEXT_FIELDS[name]] = value
        elif name in ("reqnodelist", "nodelist", "excnodelist"):
            _check_node_names(ctl, value)
            spec["exclude" if name == "excnodelist" else "nodelist"] = value
        elif name == "features":
            if value:
                from slurmctld_py.submit import check_features, choose_partitions
                from sdk.records import JobSpec
                check_features(value, choose_partitions(JobSpec.from_wire(spec), ctl.config), ctl.config)
            spec["constraint"] = value
        elif name == "requeue":
            row["requeue"] = _positive(value, zero=True) != 0
        elif name == "numnodes":
            spec["min_nodes"], spec["max_nodes"], spec["nodes_set"] = _positive(value), 0, True
        elif name == "numtasks":
            spec["ntasks"], spec["ntasks_set"] = _positive(value), True
        elif name == "deadline":
            try:
                spec["deadline"] = int(parse_timestamp(value, ctl.clock()))
            except TimeFormatError:
                raise RequestError("BAD_REQUEST", message=f"Invalid time specification {value}") from None
        elif name == "priority":
            if caller.uid != 0:
                raise RequestError("ACCESS_DENIED")
            if job.held:   # observed: "Job is in held state, pending scheduler release for job N"
                raise RequestError("JOB_HELD", message="Job is in held state, pending scheduler release")
            spec["priority"] = _positive(value, zero=True)
        elif name in ("starttime", "begintime"):
            try:
                begin = parse_timestamp(value, ctl.clock())
            except TimeFormatError:
                raise RequestError("BAD_REQUEST", message=f"Invalid time specification {value}") from None
            spec["begin_time"] = int(math.ceil(begin))
            row["eligible_time"] = spec["begin_time"]   # observed: EligibleTime shows it, held or not
        elif name == "dependency":
            if value:
                from slurmctld_py.dependencies import parse
                try:
                    deps = parse(value)
                except RequestError:
                    raise RequestError("DEPENDENCY") from None
                if any(d.job_id == job_id for d in deps.deps):
                    raise RequestError("DEPENDENCY")      # a job cannot wait for itself
            row["dependency"] = spec["dependency"] = value
        elif name == "numcpus":
            spec["min_cpus"] = _positive(value)
        elif name in ("minmemorynode", "minmemorycpu"):
            per_node = name == "minmemorynode"
            spec["mem_per_node_mb" if per_node else "mem_per_cpu_mb"] = _positive(value, zero=per_node)
            spec["mem_per_cpu_mb" if per_node else "mem_per_node_mb"] = None
        else:
            raise RequestError("BAD_REQUEST", message=f"Update of this parameter is not supported: {key}={value}")
    # observed: a new partition keeps the TRES the job had; a new CPU or memory request does not
    if {"numcpus", "minmemorynode", "minmemorycpu", "numnodes", "numtasks"} & {k.lower() for k in changes}:
        row.update(_derived_columns(ctl, job, spec))
    row["spec"] = spec
    with ctl.tx() as s:
        store.update_job(s, job_id, **row)
        store.add_event(s, job_id, "updated", ctl.clock(), by=caller.uid, changes=changes)
    job.spec = spec
    if "dependency" in row:
        job.dependency_state = ""    # evaluated afresh by the next scheduling pass
    for attr in ("time_limit_min", "partition", "req_partitions", "nice", "name", "comment", "dependency",
                 "num_cpus", "num_tasks", "num_nodes", "req_tres", "eligible_time", "requeue"):
        if attr in row:
            setattr(job, attr, row[attr])
    job.version += 1
    ctl.wake_scheduler()


# scontrol update job keys that set a recorded JobSpec text field as given
_SPEC_TEXT_FIELDS = {"mailuser": "mail_user", "mailtype": "mail_type", "wckey": "wckey"}


def _check_node_names(ctl, value: str) -> None:
    if not value:
        return
    from conf.hostlist import HostlistError, expand_hostlist
    try:
        names = expand_hostlist(value)
    except HostlistError:
        raise RequestError("INVALID_NODE_NAME") from None
    if any(n not in ctl.nodes for n in names):
        raise RequestError("INVALID_NODE_NAME")


def _positive(value: str, zero: bool = False) -> int:
    if not value.isascii() or not value.isdigit() or (int(value) == 0 and not zero):
        raise RequestError("BAD_REQUEST", message=f"Invalid value {value}")
    return int(value)


def _derived_columns(ctl, job: Job, spec: dict) -> dict:
    """NumCPUs, NumTasks and TRES of a changed request, refused as slurmctld refuses a request
    that no node of the job's partitions can hold."""
    from sdk.records import JobSpec
    from slurmctld_py.submit import check_fits, choose_partitions, gpus_tracked, resource_request, tres_string
    candidate = JobSpec.from_wire(spec)
    partitions = choose_partitions(candidate, ctl.config)
    req = resource_request(candidate)
    try:
        check_fits(candidate, req, partitions, ctl.config, ctl.config.def_mem_per_cpu)
    except RequestError:
        raise RequestError("REQUESTED_PART_CONFIG_UNAVAILABLE") from None
    first = ctl.config.node(partitions[0].nodes[0]) if partitions[0].nodes else None
    node_mem = first.real_memory if first else 0
    if req.mem_per_node_mb is not None:
        mem = req.mem_per_node_mb or node_mem
    elif req.mem_per_cpu_mb is not None:
        mem = req.mem_per_cpu_mb * req.cpus_per_node
    else:
        mem = (ctl.config.def_mem_per_cpu or 0) * req.cpus_per_node or node_mem
    gpus = req.gpus_per_node * req.min_nodes or req.gpus_total
    cpus = req.ntasks * req.cpus_per_task    # observed: NumNodes=2 NumTasks=3 gives NumCPUs=3
    return {"num_cpus": cpus, "num_tasks": req.ntasks, "num_nodes": req.min_nodes,
            "req_tres": tres_string(cpus, mem * req.min_nodes, req.min_nodes, gpus,
                                    track_gpus=gpus_tracked(ctl.config))}


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


def expire_deadlines(ctl) -> None:
    """sbatch --deadline: a pending job that can no longer end before its deadline (its minimum
    run time, one minute, no longer fits) ends as DEADLINE, as slurmctld does when it considers
    the job; a held job is not considered, and stays (observed)."""
    now = ctl.clock()
    doomed = [j for j in ctl.jobs.values()
              if j.state == JobState.PENDING and not j.held and j.spec.get("deadline")
              and now + 60 > j.spec["deadline"]]
    if not doomed:
        return
    with ctl.tx() as s:
        for job in doomed:
            job.version += 1
            ctl._set_state(s, job, JobState.DEADLINE, now, reason="DeadLine")
            store.add_event(s, job.job_id, "deadline", now)
    ctl.wake_scheduler()


REQUEUE_DELAY = 121   # seconds a requeued job waits (observed: EligibleTime = requeue time + 121 s)


def requeue(ctl, caller, job_ids: list[int], *, hold: bool) -> list[dict]:
    """scontrol requeue / requeuehold: a running job is ended and queued again (its run ends
    through the agent, see requeue_now); a finished one is queued again at once."""
    from nodeagent import wire
    now = ctl.clock()
    results = []
    with ctl.tx() as s:
        for job_id in job_ids:
            job = ctl.jobs.get(job_id)
            try:
                if job is None:
                    raise RequestError("INVALID_JOB_ID")
                _check_owner(caller, job)
                if job.state == JobState.PENDING:
                    raise RequestError("JOB_PENDING")
                if job.state == JobState.RUNNING and job.run is not None:
                    if not job.completing:
                        job.completing = True
                        reason = "requeue_hold" if hold else "requeue"
                        ctl._enqueue(s, job.run.batch_host,
                                     wire.Terminate(0, job_id, job.run.attempt, reason, float(ctl.config.kill_wait)),
                                     job_id, job.run.attempt, now)
                        store.add_event(s, job_id, "requeue_requested", now, by=caller.uid, hold=hold)
                elif job.state.is_finished and not job.completing:
                    requeue_now(ctl, s, job, now, hold=hold)
                else:
                    raise RequestError("TRANSITION_STATE_NO_UPDATE")
                results.append({"job_id": job_id, "code": ""})
            except RequestError as exc:
                results.append({"job_id": job_id, "code": exc.code})
    ctl.wake_sender()
    ctl.wake_scheduler()
    return results


def requeue_now(ctl, s, job: Job, now: float, *, hold: bool) -> None:
    """Queue the job again: a new submit time, eligible REQUEUE_DELAY seconds from now, held
    with Slurm's reason for requeuehold."""
    ctl._requeue(s, job, now, "requeue_hold" if hold else "requeue")
    begin = int(now) + REQUEUE_DELAY
    job.spec = {**job.spec, "begin_time": begin}
    job.submit_time = now
    job.eligible_time = begin
    job.exit_code = job.exit_signal = 0
    row = {"spec": job.spec, "submit_time": now, "eligible_time": begin, "exit_code": 0, "exit_signal": 0,
           "end_time": None}
    job.end_time = None
    if hold:
        job.held, job.hold_reason, job.reason, job.priority = True, "job_requeued_in_held_state", \
            "job_requeued_in_held_state", 0
        row.update(held=True, hold_reason=job.hold_reason, reason=job.reason, priority=0)
    job.version += 1
    store.update_job(s, job.job_id, **row)
