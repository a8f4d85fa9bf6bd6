"""Job steps (srun) and allocations without a batch script (salloc, srun outside a job).

An allocation is a job whose spec carries `allocation: true`: when the scheduler starts it nothing
is launched; it holds its nodes until its owner releases it (`release`, with the exit code of
what ran in it), it is cancelled, or its time limit passes (checked here, as no agent runs it).

A step is created inside a running job: the controller lays its tasks out over the job's nodes,
records the step (sacct `N.0`, `N.1`, ...) and sends each node a StepLaunch through the outbox.
The agents stream the tasks' output and exit statuses straight to srun and report the step's end
to the controller (StepEnded), which writes the step's final state once every node has.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from accounting import store
from conf.hostlist import compress_hostlist
from conf.jobtext import per_node_counts
from nodeagent import wire
from slurmctld_py.errors import RequestError
from slurmctld_py.model import Allocation, Job, JobState

log = logging.getLogger("slurmctld_py.steps")

OPS = ("allocate", "allocation", "allocation_release", "step_create", "step_status", "step_signal",
       "step_cancel")
STEP_NAME_MAX = 1024


@dataclass(frozen=True, slots=True)
class StepLayout:
    nodes: tuple[str, ...]
    tasks_by_node: tuple[tuple[int, ...], ...]    # global task ids per node, block distribution
    warnings: tuple[str, ...] = ()

    @property
    def ntasks(self) -> int:
        return sum(len(t) for t in self.tasks_by_node)


@dataclass(slots=True)
class ActiveStep:
    job_id: int
    attempt: int
    step_id: int
    name: str
    layout: StepLayout
    num_cpus: int
    start_time: float
    reports: dict[str, wire.StepEnded] = field(default_factory=dict)
    cancelled: bool = False


@dataclass(slots=True)
class StepBook:
    active: dict[tuple[int, int], ActiveStep] = field(default_factory=dict)
    next_id: dict[int, int] = field(default_factory=dict)
    finished: dict[tuple[int, int], dict] = field(default_factory=dict)   # recent ends, for srun's polls


def book(ctl, session=None) -> StepBook:
    """The controller's steps; the first use after a (re)start takes up those the database holds
    as RUNNING (pass the caller's session when inside a transaction)."""
    found = getattr(ctl, "step_book", None)
    if found is None:
        found = StepBook()
        ctl.step_book = found
        if session is not None:
            _recover(ctl, found, session)
        else:
            with ctl.tx() as s:
                _recover(ctl, found, s)
    return found


def _recover(ctl, books: StepBook, s) -> None:
    from conf.hostlist import HostlistError, expand_hostlist
    now = ctl.clock()
    for row in store.running_steps(s):
        job = ctl.jobs.get(row.job_id)
        if not row.step_id.isdigit():
            continue
        if job is None or job.run is None or job.run.attempt != row.attempt:
            # its job ended while no controller was watching: so did the step
            store.upsert_step(s, row.job_id, row.attempt, row.step_id, state="CANCELLED", end_time=now)
            continue
        try:
            nodes = tuple(expand_hostlist(row.nodes or ""))
        except HostlistError:
            nodes = ()
        layout = StepLayout(nodes, tuple(() for _ in nodes))    # task ids are not needed to finish it
        books.active[(row.job_id, int(row.step_id))] = ActiveStep(
            row.job_id, row.attempt, int(row.step_id), row.name, layout, row.num_cpus or 1, row.start_time or now)


# ---------------------------------------------------------------------------------------- layout

def plan_layout(allocs: list[Allocation], job_id: int, *, ntasks: int | None, nnodes: int | None,
                cpus_per_task: int = 1, ntasks_per_node: int | None = None) -> StepLayout:
    """Where a step's tasks run inside a job: the first `nnodes` nodes of the allocation, at
    least one task each, then filled in node order up to each node's CPUs (block distribution,
    as Slurm's default). Raises RequestError with srun's words when it cannot fit."""
    warnings: list[str] = []
    cpus_per_task = max(1, cpus_per_task)
    total = len(allocs)
    if nnodes is not None and nnodes > total:
        raise RequestError("INVALID_NODE_COUNT", message=f"Only allocated {total} nodes asked for {nnodes}")
    capacity = [a.cpus // cpus_per_task for a in allocs]
    if ntasks is None:
        count = nnodes or 1
        ntasks = count * (ntasks_per_node or 1)
    elif nnodes is not None and ntasks < nnodes:
        warnings.append(f"can't run {ntasks} processes on {nnodes} nodes, setting nnodes to {ntasks}")
        nnodes = ntasks
    if nnodes is None:
        nnodes, room = 0, 0     # as few nodes as hold the tasks
        while nnodes < total and room < ntasks:
            room += capacity[nnodes]
            nnodes += 1
        nnodes = max(1, nnodes)
    if ntasks_per_node and ntasks != nnodes * ntasks_per_node:
        warnings.append(f"can't honor --ntasks-per-node set to {ntasks_per_node} which doesn't match the "
                        f"requested tasks {ntasks} with the number of requested nodes {nnodes}. "
                        f"Ignoring --ntasks-per-node.")
        ntasks_per_node = None
    capacity = capacity[:nnodes]
    if ntasks_per_node:
        counts = [ntasks_per_node] * nnodes
    else:
        counts = [1] * nnodes
        left = ntasks - nnodes
        for i in range(nnodes):
            extra = min(left, max(0, capacity[i] - 1))
            counts[i] += extra
            left -= extra
    if any(c > cap for c, cap in zip(counts, capacity)) or sum(counts) != ntasks:
        raise RequestError("TOO_MANY_REQUESTED_CPUS",
                           message=f"Unable to create step for job {job_id}: More processors requested than permitted")
    tasks, first = [], 0
    for c in counts:
        tasks.append(tuple(range(first, first + c)))
        first += c
    return StepLayout(tuple(a.node for a in allocs[:nnodes]), tuple(tasks), tuple(warnings))


# ---------------------------------------------------------------------------------- environments

def allocation_environment(ctl, job: Job) -> dict[str, str]:
    """What salloc exports to the command it runs in a granted allocation."""
    allocs = job.run.allocations if job.run is not None else []
    nodes = compress_hostlist(a.node for a in allocs)
    spec = job.spec
    env = {
        "SLURM_JOB_ID": str(job.job_id), "SLURM_JOBID": str(job.job_id), "SLURM_JOB_NAME": job.name,
        "SLURM_JOB_NODELIST": nodes, "SLURM_NODELIST": nodes,
        "SLURM_JOB_NUM_NODES": str(len(allocs)), "SLURM_NNODES": str(len(allocs)),
        "SLURM_JOB_CPUS_PER_NODE": per_node_counts([a.cpus for a in allocs]),
        "SLURM_JOB_PARTITION": job.partition, "SLURM_JOB_QOS": job.qos,
        "SLURM_SUBMIT_DIR": spec.get("submit_dir") or job.work_dir,
        "SLURM_SUBMIT_HOST": spec.get("submit_host") or "localhost",
        "SLURM_CLUSTER_NAME": ctl.config.cluster_name, "SLURM_NODE_ALIASES": "(null)",
    }
    if ctl.conf_path:
        env["SLURM_CONF"] = ctl.conf_path
    if job.account:
        env["SLURM_JOB_ACCOUNT"] = job.account
    ntasks = job.num_tasks
    counts = [ntasks // len(allocs) + (1 if i < ntasks % len(allocs) else 0) for i in range(len(allocs))] if allocs else []
    env["SLURM_TASKS_PER_NODE"] = per_node_counts(counts)
    if spec.get("ntasks_set") or spec.get("ntasks_per_node"):
        env["SLURM_NTASKS"] = env["SLURM_NPROCS"] = str(ntasks)
    if spec.get("ntasks_per_node"):
        env["SLURM_NTASKS_PER_NODE"] = str(spec["ntasks_per_node"])
    if spec.get("cpus_per_task_set"):
        env["SLURM_CPUS_PER_TASK"] = str(spec.get("cpus_per_task", 1))
    if spec.get("mem_per_node_mb") is not None:
        env["SLURM_MEM_PER_NODE"] = str(spec["mem_per_node_mb"])
    if spec.get("mem_per_cpu_mb") is not None:
        env["SLURM_MEM_PER_CPU"] = str(spec["mem_per_cpu_mb"])
    return env


def step_environment(ctl, job: Job, step: ActiveStep, base: dict[str, str], *, cpus_per_task: int | None,
                     io_host: str, io_port: int) -> dict[str, str]:
    """The step's environment on every node (the agent adds the per-task variables)."""
    allocs = job.run.allocations if job.run is not None else []
    layout = step.layout
    job_nodes = compress_hostlist(a.node for a in allocs)
    step_nodes = compress_hostlist(layout.nodes)
    env = dict(base)
    env.update({
        "SLURM_JOB_ID": str(job.job_id), "SLURM_JOBID": str(job.job_id), "SLURM_JOB_NAME": step.name,
        "SLURM_JOB_NODELIST": job_nodes, "SLURM_NODELIST": job_nodes,
        "SLURM_JOB_NUM_NODES": str(len(allocs)), "SLURM_NNODES": str(len(layout.nodes)),
        "SLURM_JOB_CPUS_PER_NODE": per_node_counts([a.cpus for a in allocs]),
        "SLURM_JOB_PARTITION": job.partition, "SLURM_JOB_QOS": job.qos,
        "SLURM_JOB_USER": job.user_name, "SLURM_JOB_UID": str(job.uid), "SLURM_JOB_GID": str(job.gid),
        "SLURM_CLUSTER_NAME": ctl.config.cluster_name,
        "SLURM_NTASKS": str(layout.ntasks), "SLURM_NPROCS": str(layout.ntasks),
        "SLURM_TASKS_PER_NODE": per_node_counts([len(t) for t in layout.tasks_by_node]),
        "SLURM_STEP_ID": str(step.step_id), "SLURM_STEPID": str(step.step_id),
        "SLURM_STEP_NODELIST": step_nodes, "SLURM_STEP_NUM_NODES": str(len(layout.nodes)),
        "SLURM_STEP_NUM_TASKS": str(layout.ntasks),
        "SLURM_STEP_TASKS_PER_NODE": per_node_counts([len(t) for t in layout.tasks_by_node]),
        "SLURM_SRUN_COMM_HOST": io_host, "SLURM_SRUN_COMM_PORT": str(io_port),
        "SLURM_STEP_LAUNCHER_PORT": str(io_port), "SLURM_LAUNCH_NODE_IPADDR": io_host,
        "SLURM_PRIO_PROCESS": "0", "SLURM_TOPOLOGY_ADDR_PATTERN": "node",
        "SLURM_SUBMIT_DIR": job.spec.get("submit_dir") or job.work_dir,
        "SLURM_SUBMIT_HOST": job.spec.get("submit_host") or "localhost",
    })
    if ctl.conf_path:
        env["SLURM_CONF"] = ctl.conf_path
    if job.account:
        env["SLURM_JOB_ACCOUNT"] = job.account
    if cpus_per_task:
        env["SLURM_CPUS_PER_TASK"] = str(cpus_per_task)
    for name in ("SLURM_PROCID", "SLURM_LOCALID", "SLURM_NODEID", "SLURM_GTIDS", "SLURMD_NODENAME"):
        env.pop(name, None)      # per task, set by the agent
    return env


# -------------------------------------------------------------------------------------- requests

def dispatch(ctl, caller, op: str, args: dict):
    if op == "allocate":
        return allocate(ctl, caller, args.get("job"), args.get("key"), args.get("owner") or "salloc")
    job_id = args.get("job_id")
    if not isinstance(job_id, int) or isinstance(job_id, bool):
        raise RequestError("BAD_REQUEST")
    if op == "allocation":
        return allocation(ctl, caller, job_id)
    if op == "allocation_release":
        code, sig = args.get("exit_code", 0), args.get("signal", 0)
        if not isinstance(code, int) or not isinstance(sig, int):
            raise RequestError("BAD_REQUEST")
        release(ctl, caller, job_id, code, sig)
        return {}
    if op == "step_create":
        return create_step(ctl, caller, job_id, args)
    step_id = args.get("step_id")
    if not isinstance(step_id, int) or isinstance(step_id, bool):
        raise RequestError("BAD_REQUEST")
    if op == "step_status":
        return step_status(ctl, caller, job_id, step_id)
    if op == "step_signal":
        sig = args.get("signal")
        if not isinstance(sig, int) or not 0 < sig < 65:
            raise RequestError("BAD_REQUEST", message="Invalid signal")
        signal_step(ctl, caller, job_id, step_id, sig)
        return {}
    if op == "step_cancel":
        cancel_step(ctl, caller, job_id, step_id)
        return {}
    raise RequestError("BAD_REQUEST", message=f"unknown operation {op!r}")


def _own_job(ctl, caller, job_id: int) -> Job:
    job = ctl.jobs.get(job_id)
    if job is None:
        raise RequestError("INVALID_JOB_ID")
    if caller.uid not in (0, job.uid):
        raise RequestError("ACCESS_DENIED")
    return job


def allocate(ctl, caller, raw, key, owner: str = "salloc") -> dict:
    """Submit a job that holds its nodes without a batch script. `owner`: 'salloc', or 'srun'
    when srun made it for one step (then it ends when that step's srun is lost)."""
    if not isinstance(raw, dict) or not isinstance(key, str) or owner not in ("salloc", "srun"):
        raise RequestError("BAD_REQUEST")
    raw = dict(raw, script="#!/bin/sh\n")    # the batch checks want a script; none will run
    (job_id,) = ctl.submit(caller, [raw], [key])
    job = ctl.jobs.get(job_id)
    if job is not None and not job.spec.get("allocation"):
        # the submit above and this mark run in one turn of the loop: no scheduling pass between
        job.spec = dict(job.spec, allocation=owner, script="")
        job.script = ""
        with ctl.tx() as s:
            store.update_job(s, job_id, spec=job.spec, script="")
    return {"job_id": job_id}


def allocation(ctl, caller, job_id: int) -> dict:
    job = _own_job(ctl, caller, job_id)
    state = "COMPLETING" if job.completing else job.state.value
    reply = {"job_id": job_id, "state": state, "reason": job.reason, "nodes": job.nodes,
             "allocation": bool(job.spec.get("allocation")), "exit_code": job.exit_code}
    if job.state == JobState.RUNNING and job.run is not None:
        reply["environment"] = allocation_environment(ctl, job)
        reply["node_names"] = [a.node for a in job.run.allocations]
    return reply


def release(ctl, caller, job_id: int, exit_code: int, signal: int) -> None:
    """The allocation's owner is done with it: end it with the exit status of what ran in it."""
    job = _own_job(ctl, caller, job_id)
    now = ctl.clock()
    if job.state == JobState.PENDING:
        with ctl.tx() as s:
            job.cancelled_by = caller.uid
            ctl._set_state(s, job, JobState.CANCELLED, now, reason="None")
        ctl.wake_scheduler()
        return
    if job.state != JobState.RUNNING or job.run is None or not job.spec.get("allocation"):
        return
    with ctl.tx() as s:
        ctl._end_run(s, job, job.run, "exited", exit_code, signal, now)
    ctl.wake_scheduler()
    ctl.wake_sender()


def enforce_allocation_limits(ctl) -> None:
    """Allocations have no agent to time them: end those past their time limit."""
    now = ctl.clock()
    due = [j for j in ctl.jobs.values() if j.spec.get("allocation") and j.state == JobState.RUNNING
           and j.run is not None and j.end_time is not None and now >= j.end_time]
    if not due:
        return
    with ctl.tx() as s:
        for job in due:
            log.info("allocation %d reached its time limit", job.job_id)
            ctl._end_run(s, job, job.run, "timeout", 0, 0, now)
    ctl.wake_scheduler()
    ctl.wake_sender()


def create_step(ctl, caller, job_id: int, args: dict) -> dict:
    job = _own_job(ctl, caller, job_id)
    if job.state == JobState.PENDING:
        raise RequestError("JOB_PENDING")
    if job.state != JobState.RUNNING or job.run is None or job.completing:
        raise RequestError("ALREADY_DONE")
    argv, env = args.get("argv"), args.get("environment") or {}
    if (not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv)
            or not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())):
        raise RequestError("BAD_REQUEST")

    def opt_int(name: str) -> int | None:
        value = args.get(name)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise RequestError("BAD_REQUEST", message=f"invalid {name}")
        return value

    def text(name: str, default: str = "") -> str:
        value = args.get(name, default)
        if not isinstance(value, str):
            raise RequestError("BAD_REQUEST", message=f"invalid {name}")
        return value

    io_port = args.get("io_port")
    if not isinstance(io_port, int) or not 0 < io_port < 65536:
        raise RequestError("BAD_REQUEST", message="invalid io_port")
    cpus_per_task = opt_int("cpus_per_task")
    layout = plan_layout(job.run.allocations, job_id, ntasks=opt_int("ntasks"), nnodes=opt_int("nodes"),
                         cpus_per_task=cpus_per_task or 1, ntasks_per_node=opt_int("ntasks_per_node"))
    now = ctl.clock()
    books = book(ctl)
    name = (text("name") or argv[0].rsplit("/", 1)[-1])[:STEP_NAME_MAX]
    with ctl.tx() as s:
        if job_id not in books.next_id:
            known = [int(x) for x in store.step_ids(s, job_id) if x.isdigit()]
            books.next_id[job_id] = max(known, default=-1) + 1
        step_id = books.next_id[job_id]
        books.next_id[job_id] = step_id + 1
        step = ActiveStep(job_id, job.run.attempt, step_id, name, layout,
                          layout.ntasks * (cpus_per_task or 1), now)
        io_host = text("io_host") or "127.0.0.1"
        base = step_environment(ctl, job, step, env, cpus_per_task=cpus_per_task, io_host=io_host, io_port=io_port)
        by_node = {a.node: a for a in job.run.allocations}
        stdout, stderr = text("stdout"), text("stderr")
        stdin = text("stdin")
        if stdin not in ("", "all") and not stdin.isdigit():
            raise RequestError("BAD_REQUEST", message="invalid stdin")
        work_dir = text("work_dir") or job.work_dir
        for index, (node, tasks) in enumerate(zip(layout.nodes, layout.tasks_by_node)):
            alloc = by_node[node]
            launch = wire.StepLaunch(
                msg_id=0, job_id=job_id, attempt=job.run.attempt, step_id=step_id, argv=list(argv),
                environment=base, work_dir=work_dir, tasks=list(tasks), node_index=index,
                stdout=stdout, stderr=stderr, io_host=io_host, io_port=io_port, io_key=text("io_key"),
                uid=job.uid, gid=job.gid, cpus=alloc.cpus, gpus=list(alloc.gpus),
                user_name=job.user_name, job_name=name, stdin=stdin)
            ctl._enqueue(s, node, launch, job_id, job.run.attempt, now)
        store.upsert_step(s, job_id, job.run.attempt, str(step_id), name=name, state="RUNNING",
                          start_time=now, nodes=compress_hostlist(layout.nodes), num_tasks=layout.ntasks,
                          num_cpus=step.num_cpus,
                          alloc_tres=f"cpu={step.num_cpus},node={len(layout.nodes)}")
    books.active[(job_id, step_id)] = step
    ctl.wake_sender()
    return {"step_id": step_id, "nodes": list(layout.nodes),
            "tasks": [list(t) for t in layout.tasks_by_node], "warnings": list(layout.warnings)}


def step_status(ctl, caller, job_id: int, step_id: int) -> dict:
    job = _own_job(ctl, caller, job_id)
    books = book(ctl)
    job_state = "COMPLETING" if job.completing else job.state.value
    step = books.active.get((job_id, step_id))
    if step is not None:
        return {"state": "RUNNING", "job_state": job_state,
                "reported": sorted(step.reports)}
    done = books.finished.get((job_id, step_id))
    if done is None:
        raise RequestError("INVALID_JOB_ID", message=f"Invalid job id specified: step {job_id}.{step_id}")
    return dict(done, job_state=job_state)


def signal_step(ctl, caller, job_id: int, step_id: int, sig: int) -> None:
    _own_job(ctl, caller, job_id)
    step = book(ctl).active.get((job_id, step_id))
    if step is None:
        raise RequestError("ALREADY_DONE")
    now = ctl.clock()
    with ctl.tx() as s:
        for node in step.layout.nodes:
            ctl._enqueue(s, node, wire.StepSignal(0, job_id, step_id, sig), job_id, step.attempt, now)
    ctl.wake_sender()


def cancel_step(ctl, caller, job_id: int, step_id: int) -> None:
    """srun ends its step at once (its tasks are killed, no grace period)."""
    _own_job(ctl, caller, job_id)
    step = book(ctl).active.get((job_id, step_id))
    if step is None:
        return
    with ctl.tx() as s:
        _terminate(ctl, s, step, 0.0, ctl.clock())
    ctl.wake_sender()


def _terminate(ctl, s, step: ActiveStep, kill_wait: float, now: float, reason: str = "") -> None:
    step.cancelled = True
    for node in step.layout.nodes:
        if node not in step.reports:
            ctl._enqueue(s, node, wire.StepTerminate(0, step.job_id, step.step_id, kill_wait, reason),
                         step.job_id, step.attempt, now)


def signal_allocation_steps(ctl, s, job: Job, sig: int, now: float) -> None:
    """scancel --signal on an allocation: its steps' tasks get the signal."""
    for step in [st for st in book(ctl, s).active.values() if st.job_id == job.job_id]:
        for node in step.layout.nodes:
            ctl._enqueue(s, node, wire.StepSignal(0, job.job_id, step.step_id, sig), job.job_id, step.attempt, now)


def job_ended(ctl, s, job: Job, now: float, outcome: str = "") -> None:
    """The job's run is over: its steps end with it (cancelled, as Slurm records them)."""
    books = book(ctl, s)
    for key in [k for k in books.active if k[0] == job.job_id]:
        step = books.active.pop(key)
        _terminate(ctl, s, step, float(ctl.config.kill_wait), now, "timeout" if outcome == "timeout" else "")
        _finish(ctl, s, step, now)
    books.next_id.pop(job.job_id, None)


def on_step_ended(ctl, node, msg: wire.StepEnded) -> None:
    books = book(ctl)
    key = (msg.job_id, msg.step_id)
    step = books.active.get(key)
    if step is not None and node.name in step.layout.nodes:
        step.reports[node.name] = msg
        if msg.srun_lost:
            step.cancelled = True       # killed by its node when srun went away
        if len(step.reports) == len(step.layout.nodes):
            books.active.pop(key)
            end = max(r.end_time for r in step.reports.values())
            with ctl.tx() as s:
                _finish(ctl, s, step, end)
                job = ctl.jobs.get(msg.job_id)
                if (any(r.srun_lost for r in step.reports.values()) and job is not None
                        and job.spec.get("allocation") == "srun" and job.run is not None
                        and job.state == JobState.RUNNING):
                    # the srun that made this allocation for its step is gone: nobody will release it
                    log.info("allocation %d: its srun was lost; releasing it", job.job_id)
                    job.completing = True
                    ctl._set_state(s, job, JobState.CANCELLED, end, reason="None")
                    ctl._end_run(s, job, job.run, "cancelled", 0, 0, end)
                    ctl.wake_scheduler()
    ctl._send_to(node.name, wire.StepEndAck(msg.job_id, msg.step_id))


def _finish(ctl, s, step: ActiveStep, end: float) -> None:
    books = book(ctl, s)
    exits = [t for report in step.reports.values() for t in report.tasks]
    signal = max((t.signal for t in exits), default=0)
    code = 0 if signal else max((t.exit_code for t in exits), default=0)
    if step.cancelled or len(step.reports) < len(step.layout.nodes):
        state = "CANCELLED"      # ended with its job before its nodes reported: 0:0, as Slurm shows it
    elif code or signal:
        state = "FAILED"
    else:
        state = "COMPLETED"
    rss = max((r.max_rss_kb for r in step.reports.values()), default=0)
    cpu = sum(r.cpu_seconds for r in step.reports.values())
    store.upsert_step(s, step.job_id, step.attempt, str(step.step_id), state=state, end_time=end,
                      exit_code=code, exit_signal=signal, max_rss_kb=rss or None, cpu_seconds=cpu or None)
    books.finished[(step.job_id, step.step_id)] = {
        "state": state, "exit_code": code, "signal": signal,
        "tasks": {str(t.task_id): [t.exit_code, t.signal] for t in exits}}
    while len(books.finished) > 10_000:
        books.finished.pop(next(iter(books.finished)))
