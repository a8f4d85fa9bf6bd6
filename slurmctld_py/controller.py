"""The controller's state machine: submissions, runs, cancels, node health and recovery.

Every transition is committed to the database before anyone is told about it (the client's reply,
the agent's Launch through the outbox). Handlers run on the daemon's single asyncio loop, so they
never race each other; the solver runs on a frozen snapshot and its plan is re-checked here.
"""
from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, replace

from accounting import associations, store
from accounting.db import session_factory
from sqlalchemy.exc import IntegrityError
from nodeagent import wire
from slurmctld_py import arrays
from slurmctld_py.errors import RequestError
from slurmctld_py.associations import AssociationRegistry
from slurmctld_py.fairshare import UsageLedger
from slurmctld_py.model import Allocation, Job, JobState, Node, Run
from slurmctld_py.submit import Caller, job_row, parse_spec

log = logging.getLogger("slurmctld_py")

KILL_SIGNAL_OUTCOMES = {"cancelled": JobState.CANCELLED, "timeout": JobState.TIMEOUT,
                        "node_fail": JobState.NODE_FAIL}


@dataclass(slots=True)
class Outgoing:
    """An outbox row waiting for the agent's Ack."""

    msg_id: int
    node: str
    message: wire.Message
    job_id: int | None
    attempt: int | None
    last_sent: float = 0.0


class Controller:
    def __init__(self, config, engine, *, clock: Callable[[], float], conf_path: str = "",
                 send: Callable[[str, bytes], bool] | None = None) -> None:
        self.config = config
        self.conf_path = conf_path
        self.clock = clock
        self.db = session_factory(engine)
        self.engine = engine
        self.epoch = uuid.uuid4().hex
        self.started_at = clock()
        self.jobs: dict[int, Job] = {}
        self.nodes: dict[str, Node] = {}
        self.partition_state: dict[str, str] = {p.name: p.state for p in config.partitions}
        self.outbox: dict[int, Outgoing] = {}
        self.final_facts: dict = {}      # job id -> dependencies.Facts of jobs purged from memory
        self.idempotency: dict[str, int] = {}
        self.array_members: dict[int, set[int]] = {}   # array id -> its records' job ids
        self._send = send or (lambda node, frame: False)
        self.wake_scheduler: Callable[[], None] = lambda: None
        self.request_flush: Callable[[], None] = self.flush   # the daemon batches: flush soon
        self._ended: list[tuple[str, wire.RunEnded]] = []
        self._acked: list[int] = []
        self.wake_sender: Callable[[], None] = lambda: None
        self.stats = {"submitted": 0, "started": 0, "ended": 0, "cycles": 0, "rpc": {}}
        # accounts, users, associations, QOS: loaded by recover(), replaced after sacctmgr commits
        self.associations = AssociationRegistry()
        # decayed usage per association and the fair-share factors (PriorityCalcPeriod ticks)
        self.usage = UsageLedger(config)
        for nc in config.nodes:
            gpu_types = tuple(g.type for g in nc.gres if g.name == "gpu" for _ in range(g.count))
            parts = [p.name for p in config.partitions if nc.name in p.nodes]
            state = "DOWN" if nc.state.upper() in ("DOWN", "FAIL") else "DRAIN" if nc.state.upper() == "DRAIN" else "UP"
            self.nodes[nc.name] = Node(nc.name, nc.cpus, nc.real_memory, gpu_types, parts,
                                       tuple(nc.features), nc.weight, admin_state=state)

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def tx(self):
        with self.db() as session, session.begin():
            yield session

    # ------------------------------------------------------------------ recovery
    def recover(self) -> None:
        """Rebuild the in-memory state from the database (controller start or restart)."""
        now = self.clock()
        with self.tx() as s:
            state = store.load_active(s, finished_since=now - self.config.min_job_age)
            store.set_meta(s, "controller_epoch", self.epoch)
            self.associations.replace(associations.load_all(s))
            usage_rows = associations.load_usage(s)
        self.usage.restore(usage_rows, now)
        for row in state.nodes:
            node = self.nodes.get(row.name)
            if node and row.state in ("DOWN", "DRAIN", "UP"):
                node.admin_state, node.reason = row.state, row.reason or ""
                node.reason_time, node.reason_uid = row.reason_time or 0.0, row.reason_uid or 0
        for row in state.partitions:
            if row.name in self.partition_state and row.state:
                self.partition_state[row.name] = row.state
        for row in state.jobs:
            job = job_from_row(row)
            self.jobs[job.job_id] = job
            arrays.register(self, job)
            if row.idempotency_key:
                self.idempotency[row.idempotency_key] = job.job_id
        for row in state.runs:
            job = self.jobs.get(row.job_id)
            if job is None or row.attempt != job.current_attempt:
                continue
            allocs = [Allocation.from_json(a) for a in row.allocations or []]
            run = Run(row.job_id, row.attempt, row.state, allocs, row.start_time or now, row.batch_host or "")
            job.run = run
            if job.state.is_finished:
                job.completing = True
            for a in allocs:
                if a.node in self.nodes:
                    self.nodes[a.node].runs[(run.job_id, run.attempt)] = run
            if run.active:
                self._charge_usage(job, run)
        for row in state.outbox:
            try:
                msg = wire.decode(row.payload)
            except wire.WireError:
                log.error("dropping undecodable outbox row %s", row.msg_id)
                continue
            self.outbox[row.msg_id] = Outgoing(row.msg_id, row.node, msg, row.job_id, row.attempt)
        log.info("recovered %d jobs, %d outbox messages (epoch %s)", len(self.jobs), len(self.outbox), self.epoch)

    # ------------------------------------------------------------------ submit
    def submit(self, caller: Caller, specs: list[dict], keys: list[str]) -> list[int]:
        if len(keys) != len(specs) or not specs:
            raise RequestError("BAD_REQUEST", message="one idempotency key per job")
        now = self.clock()
        parsed = [parse_spec(raw) for raw in specs]
        known = {k: self.idempotency[k] for k in keys if k in self.idempotency}
        fresh = [(spec, key) for spec, key in zip(parsed, keys) if key not in known]
        if fresh:
            # MaxJobCount counts every job held in memory, finished ones within MinJobAge too
            if len(self.jobs) + len(fresh) > self.config.max_job_count:
                raise RequestError("MAX_JOB_COUNT")
            # validate everything (and build the rows) before taking ids
            rows = [job_row(spec, caller, self.config, now, job_id=0, key=key) for spec, key in fresh]
            for row in rows:    # default account and QOS; AccountingStorageEnforce refusals
                row["account"], row["qos"] = self.associations.resolve(
                    self.config.accounting_storage_enforce, caller.user_name, row["account"],
                    row["partition"].split(","), row["spec"].get("qos") or "")
            try:
                with self.tx() as s:
                    self._insert_new_jobs(s, rows)
            except IntegrityError:
                # a key submitted before this controller's memory (a retry across a restart):
                # look the old ids up, insert only what is really new
                with self.tx() as s:
                    old = store.find_jobs_by_idempotency_keys(s, [r["idempotency_key"] for r in rows])
                    known.update(old)
                    rows = [r for r in rows if r["idempotency_key"] not in old]
                    self._insert_new_jobs(s, rows)
            for row in rows:
                job = job_from_dict(row)
                self.jobs[job.job_id] = job
                arrays.register(self, job)
                known[row["idempotency_key"]] = job.job_id
            self.stats["submitted"] += len(rows)
            self.wake_scheduler()
        for key in keys:
            self.idempotency[key] = known[key]
        return [known[k] for k in keys]

    def _insert_new_jobs(self, s, rows: list[dict]) -> None:
        ids = store.allocate_job_ids(s, len(rows), self.config.first_job_id) if rows else []
        for row, job_id in zip(rows, ids):
            row["job_id"] = job_id
            if row.get("array_task_str"):     # an array's pending record: its id is the array's
                row["array_job_id"] = job_id
        if rows:
            store.insert_jobs(s, rows)

    # ------------------------------------------------------------------ cancel / signal
    def cancel(self, caller: Caller, job_ids: list[int], *, signal: int | None, batch_only: bool,
               filters: dict, array_tasks: list[dict] | None = None, full: bool = False) -> list[dict]:
        """`array_tasks`: [{job_id: array id, tasks: [index, ...], token: '12_[1-3]'}] from
        scancel's task forms; each gets one result carrying its token."""
        now = self.clock()
        results: list[dict] = []
        if job_ids or array_tasks:
            targets = arrays.expand_cancel_targets(self, job_ids)
        else:
            targets = [(j.job_id, j) for j in self._filter_jobs(caller, filters)]
        drops: dict[int, list[int]] = {}
        if array_tasks:
            more, drops, token_results = arrays.task_cancel_plan(self, caller, array_tasks, signal)
            targets += more
            results += token_results
        ended: list[Job] = []
        with self.tx() as s:
            for record in arrays.drop_pending(self, s, drops):
                if not record.state.is_finished:   # no index left: the pending record is cancelled
                    record.cancelled_by = caller.uid
                    record.state, record.end_time, record.reason = JobState.CANCELLED, now, "None"
                    ended.append(record)
            for jid, job in targets:
                if job is None:
                    results.append({"job_id": jid, "code": "INVALID_JOB_ID"})
                    continue
                if caller.uid != 0 and caller.uid != job.uid:
                    results.append({"job_id": jid, "code": "ACCESS_DENIED"})
                    continue
                if job.state.is_finished:
                    results.append({"job_id": jid, "code": "ALREADY_DONE"})
                    continue
                if signal is not None:
                    if job.state != JobState.RUNNING or job.run is None:
                        results.append({"job_id": jid, "code": "TRANSITION_STATE_NO_UPDATE"})
                        continue
                    if not job.run.batch_host:   # an allocation (salloc/srun): its steps' tasks
                        from slurmctld_py import steps as job_steps
                        job_steps.signal_allocation_steps(self, s, job, signal, now)
                        results.append({"job_id": jid, "code": ""})
                        continue
                    self._enqueue(s, job.run.batch_host,   # no -b/-f: the steps only, as Slurm
                                  wire.Signal(0, job.job_id, job.run.attempt, signal, batch_only,
                                              full and not batch_only),
                                  job.job_id, job.run.attempt, now)
                    results.append({"job_id": jid, "code": ""})
                    continue
                job.cancelled_by = caller.uid
                if job.state == JobState.PENDING:
                    # many pending jobs are cancelled at once (scancel -u): written in one batch below
                    job.state, job.end_time, job.reason = JobState.CANCELLED, now, "None"
                    ended.append(job)
                else:
                    job.completing = True
                    self._set_state(s, job, JobState.CANCELLED, now)
                    store.add_event(s, job.job_id, "cancelled", now, by=caller.uid)
                    if job.run is not None and not job.run.batch_host:   # an allocation: nothing runs it
                        self._end_run(s, job, job.run, "cancelled", 0, 0, now)
                    elif job.run is not None:
                        self._enqueue(s, job.run.batch_host,
                                      wire.Terminate(0, job.job_id, job.run.attempt, "cancelled",
                                                     float(self.config.kill_wait)),
                                      job.job_id, job.run.attempt, now)
                results.append({"job_id": jid, "code": ""})
            store.update_jobs(s, [{"job_id": j.job_id, "state": "CANCELLED", "end_time": now, "reason": "None",
                                   "cancelled_by": caller.uid} for j in ended])
            store.add_events(s, [{"job_id": j.job_id, "kind": "cancelled", "time": now,
                                  "detail": {"by": caller.uid}} for j in ended])
        self.wake_sender()
        if ended:
            self.wake_scheduler()
        return results

    def _filter_jobs(self, caller: Caller, filters: dict) -> list[Job]:
        from conf.hostlist import expand_hostlist
        user = filters.get("user")
        name = filters.get("name")
        part = filters.get("partition")
        states = {s.upper() for s in filters.get("states") or []}
        nodes = set(expand_hostlist(filters["nodes"])) if filters.get("nodes") else None
        out = []
        for job in self.jobs.values():
            if job.state.is_finished:
                continue
            if user is not None and user not in (job.user_name, str(job.uid)):
                continue
            if name is not None and job.name != name:
                continue
            if part is not None and job.partition not in part.split(","):
                continue
            if states and job.state.value not in states and _compact(job.state) not in states:
                continue
            if nodes is not None and not (job.run and {a.node for a in job.run.allocations} & nodes):
                continue
            out.append(job)
        return sorted(out, key=lambda j: j.job_id)

    # ------------------------------------------------------------------ starts (plan applier)
    def apply_starts(self, starts) -> int:
        """Commit the solver's starts that still fit, then hand the launches to the sender."""
        now = self.clock()
        usable = []
        claimed: dict[int, set[int]] = {}    # array tasks taken by this batch
        for start in starts:
            resolved = arrays.resolve_start(self, start.job_id, claimed)
            if resolved is None:
                continue
            job, task = resolved
            if job.state != JobState.PENDING or job.held:
                if task is not None:
                    claimed[job.job_id].discard(task)
                continue
            allocs = [Allocation(a.node, a.cpus, a.memory_mb, tuple(a.gpus)) for a in start.allocations]
            if not all(self._fits_now(a) for a in allocs):
                if task is not None:
                    claimed[job.job_id].discard(task)
                continue
            usable.append((job, task, start, allocs))
            for a in allocs:     # reserve within this batch so two starts never overlap
                self.nodes[a.node].runs[(start.job_id, -1)] = Run(start.job_id, -1, "launching", [a], now, "")
        for _, _, start, allocs in usable:
            for a in allocs:
                self.nodes[a.node].runs.pop((start.job_id, -1), None)
        if not usable:
            return 0
        from conf.hostlist import compress_hostlist
        from slurmctld_py.launch import batch_environment, output_paths
        from slurmctld_py.submit import gpus_tracked, tres_string
        with self.tx() as s:
            for job, task, start, allocs in usable:
                if task is not None:     # an array task starts: split it off its pending record
                    job = arrays.split_task(self, s, job, task, now)
                attempt = job.current_attempt + 1
                allocation = bool(job.spec.get("allocation"))   # salloc/srun: nothing to launch
                batch = "" if allocation else allocs[0].node
                limit_min = None if start.time_limit is None else int((start.time_limit + 59) // 60)
                deadline = job.spec.get("deadline") or 0
                if deadline:   # --deadline: the run may not go past it
                    left = max(1, int((deadline - now) // 60))
                    limit_min = left if limit_min is None else min(limit_min, left)
                end = None if limit_min is None else now + limit_min * 60
                job.partition = start.partition
                job.time_limit_min = limit_min
                job.nodes = compress_hostlist(a.node for a in allocs)
                job.num_nodes = len(allocs)
                job.num_cpus = sum(a.cpus for a in allocs)
                if not job.spec.get("ntasks_set") and not job.spec.get("ntasks_per_node"):
                    # no -n: a -N range that got more nodes has one task on each (NumTasks)
                    job.num_tasks = max(job.num_tasks, len(allocs))
                job.alloc_tres = tres_string(job.num_cpus, sum(a.memory_mb for a in allocs), len(allocs),
                                             sum(len(a.gpus) for a in allocs),
                                             track_gpus=gpus_tracked(self.config))
                job.current_attempt = attempt
                job.start_time = now
                job.end_time = end
                job.reason = "None"
                job.state = JobState.RUNNING
                stdout, stderr, stdin = output_paths(job, batch)
                job.stdout, job.stderr = stdout, stderr
                store.update_job(s, job.job_id, state="RUNNING", partition=job.partition, start_time=now,
                                 end_time=end, time_limit_min=limit_min, nodes=job.nodes,
                                 num_nodes=job.num_nodes, num_cpus=job.num_cpus, num_tasks=job.num_tasks,
                                 alloc_tres=job.alloc_tres,
                                 current_attempt=attempt, reason="None", stdout=stdout, stderr=stderr,
                                 priority=job.priority)
                store.add_run(s, job.job_id, attempt, state="launching", nodes=job.nodes,
                              allocations=[a.to_json() for a in allocs], batch_host=batch, start_time=now)
                env = batch_environment(job, allocs, cluster_name=self.config.cluster_name,
                                        conf_path=self.conf_path, start_time=now, end_time=end)
                spec = job.spec
                launch = wire.Launch(
                    msg_id=0, job_id=job.job_id, attempt=attempt, script=job.script,
                    argv=list(spec.get("argv") or []), environment=env, work_dir=job.work_dir,
                    stdout=stdout, stderr=stderr, stdin=stdin, uid=job.uid, gid=job.gid,
                    time_limit=None if limit_min is None else float(limit_min * 60),
                    cpus=allocs[0].cpus, memory_mb=allocs[0].memory_mb, gpus=list(allocs[0].gpus),
                    open_mode=spec.get("open_mode") or "truncate",
                    warn_signal=int(spec.get("signal") or 0), warn_time=float(spec.get("signal_time") or 0),
                    warn_batch_only="B" in (spec.get("signal_flags") or ""))
                if not allocation:
                    self._enqueue(s, batch, launch, job.job_id, attempt, now)
                    # sacct lists the batch step while it runs, as Slurm does
                    store.upsert_step(s, job.job_id, attempt, "batch", name="batch", state="RUNNING",
                                      start_time=now, nodes=batch, num_tasks=1, num_cpus=allocs[0].cpus)
                run = Run(job.job_id, attempt, "running" if allocation else "launching", allocs, now, batch)
                job.run = run
                for a in allocs:
                    self.nodes[a.node].runs[(job.job_id, attempt)] = run
                self._charge_usage(job, run)
                store.add_event(s, job.job_id, "started", now, attempt=attempt, nodes=job.nodes)
        self.stats["started"] += len(usable)
        self.wake_sender()
        if any(task is not None for _, task, _, _ in usable):
            self.wake_scheduler()     # an array may have more tasks than one cycle offers
        return len(usable)

    def _charge_usage(self, job: Job, run: Run) -> None:
        """Start charging a run's billable TRES to its association (fair-share usage)."""
        assoc = self.associations.find(job.account, job.user_name, job.partition) if job.account else None
        qos = self.associations.qos().get(job.qos or "normal")
        self.usage.run_started(
            job_id=job.job_id, attempt=run.attempt, assoc_id=assoc.id if assoc else None,
            start=run.start_time, partition=job.partition, allocations=run.allocations,
            usage_factor=qos.usage_factor if qos else 1.0,
            time_limit_end=None if job.end_time is None else float(job.end_time))

    def tick_usage(self) -> None:
        """PriorityCalcPeriod: decay and charge usage, commit it, refresh fair-share."""
        now = self.clock()
        active = {(j.job_id, j.run.attempt) for j in self.jobs.values() if j.run is not None and j.run.active}
        rows = self.usage.tick(now, active)
        with self.tx() as s:
            associations.save_usage(s, rows)
        self.wake_scheduler()

    def _fits_now(self, a: Allocation) -> bool:
        node = self.nodes.get(a.node)
        if node is None or not self.node_schedulable(node):
            return False
        used_cpu = sum(x.cpus for r in node.runs.values() for x in r.allocations if x.node == a.node)
        used_mem = sum(x.memory_mb for r in node.runs.values() for x in r.allocations if x.node == a.node)
        used_gpu = {g for r in node.runs.values() for x in r.allocations if x.node == a.node for g in x.gpus}
        return (used_cpu + a.cpus <= node.cpus and used_mem + a.memory_mb <= node.memory_mb
                and not (used_gpu & set(a.gpus)) and all(g < len(node.gpu_types) for g in a.gpus))

    def node_schedulable(self, node: Node) -> bool:
        return node.responding and node.admin_state == "UP"

    # ------------------------------------------------------------------ agent messages
    def on_agent_message(self, node_name: str, msg: wire.Message) -> None:
        node = self.nodes.get(node_name)
        if node is None or getattr(msg, "node", node_name) != node_name:
            log.warning("message from unknown or mismatched node %r dropped", node_name)
            return
        handler = getattr(self, "_on_" + type(msg).__name__, None)
        if handler is None:
            log.warning("unexpected %s from %s dropped", type(msg).__name__, node_name)
            return
        handler(node, msg)

    def _on_Register(self, node: Node, msg: wire.Register) -> None:
        now = self.clock()
        node.registered = node.responding = True
        node.last_heartbeat = now
        node.boot_time, node.agent_start_time = msg.boot_time, msg.agent_start_time
        node.hostname, node.arch, node.os, node.version = msg.hostname, msg.arch, msg.os, msg.version
        node.last_busy_time = node.last_busy_time or now
        low = ""
        if msg.cpus < node.cpus:
            low = "Low CPUs"
        elif msg.memory_mb < node.memory_mb:
            low = "Low RealMemory"
        elif len(msg.gpus) < len(node.gpu_types):
            low = "gres/gpu count reported lower than configured"
        with self.tx() as s:
            if low and node.admin_state == "UP":
                node.admin_state, node.reason, node.reason_time = "DOWN", low, now
                store.upsert_node(s, node.name, state="DOWN", reason=low, reason_time=now)
            elif not low and node.admin_state == "DOWN" and node.reason.startswith(("Low ", "gres/", "Not responding")):
                node.admin_state, node.reason = "UP", ""     # ReturnToService for our own downs
                store.upsert_node(s, node.name, state="UP", reason="")
            store.upsert_node(s, node.name, cpus=msg.cpus, memory_mb=msg.memory_mb, registered=True,
                              last_heartbeat=now, boot_time=msg.boot_time,
                              gpus=[{"index": g.index, "type": g.type} for g in msg.gpus])
            self._reconcile(s, node, {(r.job_id, r.attempt) for r in msg.active},
                            {(r.job_id, r.attempt) for r in msg.finished}, now)
        self._send_to(node.name, wire.RegisterAck(self.epoch, self.heartbeat_interval, float(self.config.kill_wait)))
        for out in self.outbox.values():
            if out.node == node.name:
                out.last_sent = 0.0
        log.info("node %s registered (%d active, %d finished runs)", node.name, len(msg.active), len(msg.finished))
        self.wake_sender()
        self.wake_scheduler()

    @property
    def heartbeat_interval(self) -> float:
        return max(0.2, min(30.0, self.config.slurmd_timeout / 6))

    def _reconcile(self, s, node: Node, active: set, finished: set, now: float) -> None:
        """Make the database's view of `node` agree with what its agent runs."""
        pending_launch = {(o.job_id, o.attempt) for o in self.outbox.values()
                          if o.node == node.name and isinstance(o.message, wire.Launch)}
        for key, run in list(node.runs.items()):
            if run.batch_host != node.name:
                continue
            if key in active:
                if run.state == "launching":
                    run.state = "running"
                    store.update_run(s, run.job_id, run.attempt, state="running")
            elif key not in finished and key not in pending_launch:
                log.warning("node %s lost job %s attempt %s", node.name, *key)
                self._end_run(s, self.jobs[run.job_id], run, "node_fail", 0, 9, now)
        for job_id, attempt in active:
            job = self.jobs.get(job_id)
            if job is None or job.run is None or job.run.attempt != attempt or not job.run.active:
                log.warning("killing orphan job %s attempt %s on %s", job_id, attempt, node.name)
                self._enqueue(s, node.name, wire.Terminate(0, job_id, attempt, "node_fail",
                                                           float(self.config.kill_wait)), job_id, attempt, now)

    def _on_Heartbeat(self, node: Node, msg: wire.Heartbeat) -> None:
        now = self.clock()
        if msg.controller_epoch != self.epoch:
            self._send_to(node.name, wire.HeartbeatAck(self.epoch))   # agent re-registers
            return
        node.last_heartbeat = now
        if not node.responding:
            node.responding = True
            with self.tx() as s:
                self._reconcile(s, node, {(r.job_id, r.attempt) for r in msg.active}, set(), now)
            self.wake_scheduler()
        self._send_to(node.name, wire.HeartbeatAck(self.epoch))

    def _on_Ack(self, node: Node, msg: wire.Ack) -> None:
        # deleting the row can wait for the next batch: a crash before that only resends the
        # message, and the agent ignores what it already has
        if self.outbox.pop(msg.msg_id, None) is not None:
            self._acked.append(msg.msg_id)
            self.request_flush()

    def _on_RunStarted(self, node: Node, msg: wire.RunStarted) -> None:
        # kept in memory only: after a restart 'launching' and 'running' reconcile the same way
        job = self.jobs.get(msg.job_id)
        run = job.run if job else None
        if run is not None and run.attempt == msg.attempt and run.state == "launching":
            run.state = "running"

    def _on_StepEnded(self, node: Node, msg: wire.StepEnded) -> None:
        from slurmctld_py import steps as job_steps
        job_steps.on_step_ended(self, node, msg)

    def _on_RunEnded(self, node: Node, msg: wire.RunEnded) -> None:
        # group commit: ends that arrive together are written in one transaction, and each
        # agent gets its EndAck only after that commit (it re-sends until then)
        self._ended.append((node.name, msg))
        self.request_flush()

    def flush(self) -> None:
        """Write the batched completions and acknowledgements in one transaction."""
        ended, self._ended = self._ended, []
        acked, self._acked = self._acked, []
        if not ended and not acked:
            return
        now = self.clock()
        replies = []
        with self.tx() as s:
            for msg_id in acked:
                store.delete_outbox(s, msg_id)
            for node_name, msg in ended:
                job = self.jobs.get(msg.job_id)
                run = job.run if job else None
                if job is not None and run is not None and run.attempt == msg.attempt and run.active:
                    self._end_run(s, job, run, msg.outcome, msg.exit_code, msg.signal, msg.end_time or now,
                                  max_rss_kb=msg.max_rss_kb, cpu_seconds=msg.cpu_seconds, message=msg.message)
                replies.append((node_name, wire.EndAck(msg.job_id, msg.attempt)))
        for node_name, reply in replies:
            self._send_to(node_name, reply)
        if ended:
            self.wake_scheduler()

    # ------------------------------------------------------------------ run end, requeue
    def _end_run(self, s, job: Job, run: Run, outcome: str, exit_code: int, signal: int, end: float,
                 *, max_rss_kb: int = 0, cpu_seconds: float = 0.0, message: str = "") -> None:
        run.state, run.end_time, run.outcome = "ended", end, outcome
        for a in run.allocations:
            if a.node in self.nodes:
                self.nodes[a.node].last_busy_time = end
        self.usage.run_ended(run.job_id, run.attempt, end)
        for a in run.allocations:
            node = self.nodes.get(a.node)
            if node:
                node.runs.pop((run.job_id, run.attempt), None)
        job.run = None
        was_cancelled = job.state == JobState.CANCELLED
        job.completing = False
        store.update_run(s, job.job_id, run.attempt, state="ended", end_time=end, outcome=outcome,
                         exit_code=exit_code, exit_signal=signal, max_rss_kb=max_rss_kb or None,
                         cpu_seconds=cpu_seconds or None)
        if run.batch_host:    # an allocation (salloc/srun) has no batch step
            step_state = _step_state(outcome, exit_code, signal)
            store.upsert_step(s, job.job_id, run.attempt, "batch", name="batch", state=step_state,
                              start_time=run.start_time, end_time=end, exit_code=exit_code, exit_signal=signal,
                              nodes=run.batch_host, num_tasks=1, num_cpus=run.allocations[0].cpus,
                              max_rss_kb=max_rss_kb or None, cpu_seconds=cpu_seconds or None)
        from slurmctld_py import steps as job_steps
        job_steps.job_ended(self, s, job, end, outcome)    # srun steps end with their job
        self.stats["ended"] += 1
        if outcome in ("requeue", "requeue_hold") and not was_cancelled:   # scontrol requeue[hold]
            from slurmctld_py.changes import requeue_now
            requeue_now(self, s, job, end, hold=outcome == "requeue_hold")
            return
        if outcome == "node_fail" and job.requeue and not was_cancelled:
            self._requeue(s, job, end, "node_fail")
            return
        if was_cancelled:
            state = JobState.CANCELLED
        elif outcome in KILL_SIGNAL_OUTCOMES:
            state = KILL_SIGNAL_OUTCOMES[outcome]
        elif outcome == "launch_failed":
            state = JobState.FAILED
            exit_code = exit_code or 1
        else:
            state = JobState.COMPLETED if exit_code == 0 and signal == 0 else JobState.FAILED
        job.exit_code, job.exit_signal = exit_code, signal
        # observed: a batch script killed by a signal fails with reason JobLaunchFailure
        reason = {JobState.FAILED: "NonZeroExitCode" if not signal else "JobLaunchFailure",
                  JobState.TIMEOUT: "TimeLimit", JobState.NODE_FAIL: "NodeDown"}.get(state, "None")
        if outcome == "launch_failed":
            reason = "JobLaunchFailure"
        end_time = job.end_time if was_cancelled and job.end_time else end
        self._set_state(s, job, state, end_time, reason=reason, exit_code=exit_code, exit_signal=signal)
        store.add_event(s, job.job_id, "ended", end, attempt=run.attempt, outcome=outcome,
                        exit_code=exit_code, signal=signal, message=message)

    def _requeue(self, s, job: Job, now: float, why: str) -> None:
        job.state = JobState.PENDING
        job.restarts += 1
        job.reason = "None"
        job.start_time = job.end_time = None
        job.nodes = ""
        job.eligible_time = now
        store.update_job(s, job.job_id, state="PENDING", restarts=job.restarts, reason="None",
                         start_time=None, end_time=None, nodes="", eligible_time=now)
        store.add_event(s, job.job_id, "requeued", now, why=why)

    def _set_state(self, s, job: Job, state: JobState, end: float, **extra) -> None:
        job.state = state
        job.end_time = end
        if "reason" in extra:
            job.reason = extra["reason"]
        store.update_job(s, job.job_id, state=state.value, end_time=end, cancelled_by=job.cancelled_by, **extra)

    # ------------------------------------------------------------------ timers
    def check_nodes(self) -> None:
        """Mark nodes whose agent went silent DOWN and fail or requeue their jobs."""
        now = self.clock()
        timeout = float(self.config.slurmd_timeout)
        silent = [n for n in self.nodes.values()
                  if n.responding and now - n.last_heartbeat > timeout
                  or not n.responding and not n.registered and n.runs and now - self.started_at > timeout]
        if not silent:
            return
        with self.tx() as s:
            for node in silent:
                node.responding = False
                node.registered = True
                if node.admin_state == "UP":
                    node.admin_state, node.reason, node.reason_time = "DOWN", "Not responding", now
                    store.upsert_node(s, node.name, state="DOWN", reason="Not responding", reason_time=now)
                log.warning("node %s not responding: marked DOWN", node.name)
                for run in list(node.runs.values()):
                    job = self.jobs.get(run.job_id)
                    if job is not None:
                        self.fail_run_on_dead_node(s, job, run, now)
                store.add_event(s, None, "node_down", now, node=node.name)
        self.wake_scheduler()

    def fail_run_on_dead_node(self, s, job: Job, run: Run, now: float) -> None:
        """The run's node is gone: drop its unsent messages, requeue the job or fail it."""
        for msg_id in [m for m, o in self.outbox.items() if (o.job_id, o.attempt) == (run.job_id, run.attempt)]:
            self.outbox.pop(msg_id)
            store.delete_outbox(s, msg_id)
        self._end_run(s, job, run, "node_fail", 0, 9, now)

    # ------------------------------------------------------------------ dependencies
    def evaluate_dependencies(self) -> None:
        """Refresh every pending job's dependency state; cancel the impossible ones when asked
        (SchedulerParameters=kill_invalid_depend or sbatch --kill-on-invalid-dep=yes)."""
        from slurmctld_py.dependencies import DepState, Facts, evaluate, parse
        now = self.clock()
        waiting = [j for j in self.jobs.values()
                   if j.state == JobState.PENDING and j.dependency and j.dependency_state != "done"]
        if not waiting:
            return
        missing = {d.job_id for j in waiting for d in parse(j.dependency).deps
                   if d.job_id and d.job_id not in self.jobs and d.job_id not in self.final_facts}
        if missing:
            with self.tx() as s:
                for job_id, (state, start, code) in store.job_outcomes(s, missing).items():
                    self.final_facts[job_id] = Facts(state, start, code)

        def lookup(job_id: int):
            facts = arrays.array_facts(self, job_id)   # an array id: all of its tasks
            if facts is not None:
                return facts
            job = self.jobs.get(job_id)
            if job is not None:
                return Facts(job.state.value if not job.completing else "RUNNING", job.start_time, job.exit_code)
            return self.final_facts.get(job_id)

        active_by_key: dict[tuple[str, str], int] = {}
        for j in self.jobs.values():
            if not j.state.is_finished:
                key = (j.user_name, j.name)
                active_by_key[key] = min(active_by_key.get(key, j.job_id), j.job_id)
        def task_lookup(array_id: int, task: int):
            return arrays.task_facts(self, array_id, task)

        kill_all = "kill_invalid_depend" in self.config.scheduler_parameters
        doomed = []
        now_eligible = []
        for job in waiting:
            blocked = active_by_key.get((job.user_name, job.name), job.job_id) < job.job_id
            state, shown = evaluate(parse(job.dependency), lookup, now, singleton_blocked=blocked,
                                    task_lookup=task_lookup)
            before = job.dependency_state
            job.dependency_shown = shown
            if state is DepState.SATISFIED:
                job.dependency_state = "done"
                # eligible (and accruing age) from now on, as Slurm's EligibleTime/AccrueTime
                if not job.held:
                    job.eligible_time = max(now, float(job.spec.get("begin_time") or 0))
                now_eligible.append(job)
            elif state is DepState.WAITING:
                job.dependency_state = "Dependency"
            else:
                job.dependency_state = "DependencyNeverSatisfied"
                if kill_all or job.spec.get("kill_on_invalid_dep"):
                    doomed.append(job)
            if job.dependency_state != before:
                job.reason = job.dependency_state if job.dependency_state != "done" else "None"
        if now_eligible:
            with self.tx() as s:
                store.update_jobs(s, [{"job_id": j.job_id, "eligible_time": j.eligible_time}
                                      for j in now_eligible])
        if doomed:
            with self.tx() as s:
                for job in doomed:
                    self._set_state(s, job, JobState.CANCELLED, now, reason="DependencyNeverSatisfied")
                    store.add_event(s, job.job_id, "cancelled", now, why="DependencyNeverSatisfied")

    def purge_finished(self) -> None:
        """Forget jobs that ended more than MinJobAge ago (the database keeps them for sacct)."""
        if not self.config.min_job_age:
            return
        cutoff = self.clock() - self.config.min_job_age
        from slurmctld_py.dependencies import Facts
        purgeable = arrays.purge_check(self, cutoff)
        old = [j.job_id for j in self.jobs.values()
               if j.state.is_finished and not j.completing and (j.end_time or 0) < cutoff and purgeable(j)]
        array_outcomes = arrays.outcomes_before_purge(self, old)
        for job_id in old:
            job = self.jobs.pop(job_id)
            # what later dependencies on this job need (the database has it too, for restarts)
            self.final_facts[job_id] = Facts(job.state.value, job.start_time, job.exit_code)
        self.final_facts.update(array_outcomes)   # an array id stands for all of its tasks
        if len(self.final_facts) > 500_000:
            self.final_facts.clear()
        if len(self.idempotency) > 200_000:
            self.idempotency.clear()   # the database still answers for older keys

    def due_messages(self, resend_after: float = 5.0) -> list[tuple[str, bytes, int]]:
        now = self.clock()
        due = []
        for out in self.outbox.values():
            node = self.nodes.get(out.node)
            if node is None or not node.responding or now - out.last_sent < resend_after:
                continue
            out.last_sent = now
            due.append((out.node, wire.encode(replace(out.message, msg_id=out.msg_id)), out.msg_id))
        return due

    # ------------------------------------------------------------------ plumbing
    def _enqueue(self, s, node: str, msg, job_id: int | None, attempt: int | None, now: float) -> None:
        msg_id = store.enqueue(s, node, type(msg).__name__, wire.encode(msg), job_id=job_id,
                               attempt=attempt, created_at=now)
        self.outbox[msg_id] = Outgoing(msg_id, node, msg, job_id, attempt)

    def _send_to(self, node: str, msg) -> None:
        self._send(node, wire.encode(msg))


def _compact(state: JobState) -> str:
    return {"PENDING": "PD", "RUNNING": "R", "SUSPENDED": "S", "COMPLETED": "CD", "CANCELLED": "CA",
            "FAILED": "F", "TIMEOUT": "TO", "NODE_FAIL": "NF", "PREEMPTED": "PR", "BOOT_FAIL": "BF",
            "DEADLINE": "DL", "OUT_OF_MEMORY": "OOM"}[state.value]


def _step_state(outcome: str, exit_code: int, signal: int) -> str:
    if outcome in KILL_SIGNAL_OUTCOMES:
        return KILL_SIGNAL_OUTCOMES[outcome].value
    if outcome == "launch_failed":
        return "FAILED"
    if signal:
        return "CANCELLED"   # Slurm 22.05 records a batch step ended by a signal as CANCELLED
    return "COMPLETED" if exit_code == 0 else "FAILED"


_JOB_FIELDS = ("job_id", "uid", "gid", "user_name", "group_name", "name", "partition", "req_partitions",
               "account", "qos", "spec", "script", "submit_time", "reason", "eligible_time", "start_time",
               "end_time", "time_limit_min", "priority", "nice", "held", "hold_reason", "exit_code",
               "exit_signal", "derived_exit_code", "nodes", "num_nodes", "num_cpus", "num_tasks", "req_tres",
               "alloc_tres", "work_dir", "stdout", "stderr", "restarts", "requeue", "cancelled_by",
               "current_attempt", "dependency", "comment", "submit_line", "array_job_id", "array_task_id",
               "array_task_str", "array_max_tasks")


def job_from_dict(row: dict) -> Job:
    values = {k: row.get(k) for k in _JOB_FIELDS if k in row}
    values["state"] = JobState(row["state"])
    for k, default in (("reason", "None"), ("hold_reason", ""), ("account", ""), ("dependency", ""),
                       ("comment", ""), ("submit_line", ""), ("req_tres", ""), ("alloc_tres", ""),
                       ("nodes", ""), ("stdout", ""), ("stderr", ""), ("array_task_str", "")):
        if values.get(k) is None:
            values[k] = default
    for k in ("restarts", "current_attempt", "exit_code", "exit_signal", "derived_exit_code", "nice", "priority",
              "array_job_id", "array_max_tasks"):
        if values.get(k) is None:
            values[k] = 0
    job = Job(**values)
    if job.is_array_pending_record:
        from conf.arrays import parse_indices
        job.array_pending = parse_indices(job.array_task_str)
    return job


def job_from_row(row) -> Job:
    return job_from_dict({k: getattr(row, k) for k in _JOB_FIELDS} | {"state": row.state})


def identity(uid: int, gid: int) -> Caller:
    import grp
    import pwd
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    try:
        group = grp.getgrgid(gid).gr_name
    except KeyError:
        group = str(gid)
    return Caller(uid, gid, user, group)


def current_caller() -> Caller:
    return identity(os.getuid(), os.getgid())
