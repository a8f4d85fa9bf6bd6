"""slurmctld-py: the controller daemon.

    slurmctld-py --conf /path/slurm.conf

One asyncio TaskGroup runs the local RPC server, the node-agent link, the scheduler (woken by
events: submit, job end, node change; and a periodic tick), the outbox sender and the node
monitor. Readiness: the local socket accepts `ping` once recovery is done.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import marshal
import os
import signal
import socket
import sys
import time

from accounting import store
from accounting.db import make_engine, migrate
from slurmctld_py.agents import AgentLink
from slurmctld_py.controller import Controller, identity
from slurmctld_py.errors import RequestError
from slurmctld_py import arrays, changes, tokens
from slurmctld_py import steps as job_steps
from slurmctld_py.remote import RemoteRpcServer
from slurmctld_py.rpc import AlreadyRunning, LocalRpcServer, socket_answers
from slurmctld_py.scheduler import RequestCache, build_snapshot, record_decisions
from slurmctld_py.views import config_info, job_columns, job_info, node_info, partition_info

log = logging.getLogger("slurmctld_py")
SCHED_TICK = 5.0          # seconds between scheduling passes when nothing happens
FLUSH_DELAY = 0.003       # seconds completions wait to share one commit
SOLVE_IN_THREAD_OVER = 2000   # pending jobs beyond which the solver runs off the event loop


def database_url(config) -> str:
    if config.database_url:
        return config.database_url
    return "sqlite:///" + os.path.join(config.state_save_location, "slurm.db")


def local_socket_path(config) -> str:
    return config.slurmctld_socket or os.path.join(config.state_save_location, "slurmctld.sock")


def agent_endpoint(config) -> str:
    host = config.control_addr or (config.control_hosts[0] if config.control_hosts else "127.0.0.1")
    if host in ("localhost", socket.gethostname()):
        host = "127.0.0.1"
    return f"tcp://{host}:{config.slurmctld_port}"


def client_endpoint(config) -> str:
    port = config.raw.get("SlurmctldClientPort") or str(config.slurmctld_port + 1)
    return agent_endpoint(config).rsplit(":", 1)[0] + ":" + port


def caller_for_user(user: str):
    import pwd
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise RequestError("ACCESS_DENIED", message=f"Unknown user {user}") from None
    return identity(entry.pw_uid, entry.pw_gid)


class Daemon:
    def __init__(self, config, conf_path: str) -> None:
        self.config = config
        self.engine = make_engine(database_url(config))
        migrate(self.engine)
        self.ctl = Controller(config, self.engine, clock=time.time, conf_path=conf_path)
        self.link = AgentLink(agent_endpoint(config), self.ctl.on_agent_message,
                              config.raw.get("AgentKeysDir") or None)
        self.ctl._send = self.link.send
        self.rpc = LocalRpcServer(local_socket_path(config), self.dispatch)
        self.token_key = tokens.load_or_create_key(config)
        self.remote = RemoteRpcServer(client_endpoint(config), self.token_key, self.dispatch, caller_for_user)
        self._sched_wake = asyncio.Event()
        self._send_wake = asyncio.Event()
        self.ctl.wake_scheduler = self._sched_wake.set
        self.ctl.wake_sender = self._send_wake.set
        self.cache = RequestCache()
        self._flush_pending = False
        self.ctl.request_flush = self._request_flush
        self.cycle_times: list[float] = []
        self.stop = asyncio.Event()

    # ---------------------------------------------------------------- RPC
    def dispatch(self, caller, op: str, args: dict):
        self.ctl.stats["rpc"][op] = self.ctl.stats["rpc"].get(op, 0) + 1
        now = time.time()
        ctl = self.ctl
        if op in job_steps.OPS:    # salloc/srun: allocations and job steps
            return job_steps.dispatch(ctl, caller, op, args)
        if op == "ping":
            return {"host": self.config.control_hosts[0] if self.config.control_hosts else "localhost", "up": True}
        if op == "submit":
            jobs, keys = args.get("jobs"), args.get("keys")
            if not isinstance(jobs, list) or not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
                raise RequestError("BAD_REQUEST")
            return {"job_ids": ctl.submit(caller, jobs, keys)}
        if op == "will_run":   # sbatch --test-only
            from slurmctld_py.testonly import will_run
            return will_run(ctl, caller, args.get("job"), now)
        if op == "jobs":
            include_finished = bool(args.get("include_finished"))
            ids = args.get("job_ids")
            if ids is not None:
                if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
                    raise RequestError("BAD_REQUEST")
                found = arrays.jobs_for_ids(ctl, ids)   # an array id names all its tasks
                if not found:
                    raise RequestError("INVALID_JOB_ID")
            else:
                found = sorted(ctl.jobs.values(), key=lambda j: j.job_id)
            if not include_finished:
                found = [j for j in found if j.is_active]
            fields = args.get("fields")
            if isinstance(fields, list) and fields and all(isinstance(f, str) for f in fields):
                # squeue names the keys its format uses: only those, sent as columns
                table = job_columns(found, fields)
                if args.get("encoding") == "marshal":
                    # the local squeue's fast path: marshal needs no import on the client (msgpack
                    # costs ~9 ms there); only this root-owned socket ever answers with it
                    return {"marshal": marshal.dumps({"jobs_columns": table})}
                return {"jobs_columns": table}
            return {"jobs": [job_info(j, now) for j in found]}
        if op == "cancel":
            ids = args.get("job_ids") or []
            if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
                raise RequestError("BAD_REQUEST")
            sig = args.get("signal")
            if sig is not None and (not isinstance(sig, int) or not 0 < sig < 65):
                raise RequestError("BAD_REQUEST", message="Invalid signal")
            filters = {k: args.get(k) for k in ("user", "name", "partition", "states", "nodes")}
            results = ctl.cancel(caller, ids, signal=sig, batch_only=bool(args.get("batch_only")), filters=filters,
                                 array_tasks=arrays.task_requests(args.get("array_tasks")),
                                 full=bool(args.get("full")))
            return {"results": results}
        if op == "nodes":
            return {"nodes": [node_info(ctl, n, now) for n in ctl.nodes.values()]}
        if op == "partitions":
            return {"partitions": [partition_info(ctl, p) for p in self.config.partitions]}
        if op == "config":
            return config_info(ctl)
        if op == "accounting":
            return {"records": self.accounting(caller, args)}
        if op == "stats":
            return self.statistics()
        if op == "priorities":     # sprio
            from slurmctld_py.priority_views import priority_report
            return priority_report(ctl, self.cache, now)
        if op == "shares":         # sshare
            from slurmctld_py.priority_views import share_report
            return share_report(ctl, now)
        if op.startswith("acctmgr_"):     # sacctmgr: add/modify/delete/list accounting entities
            from slurmctld_py.acctmgr import AcctManager
            return AcctManager(ctl).run(caller, op.removeprefix("acctmgr_"), args)
        if op in ("hold", "release"):
            ids = args.get("job_ids")
            if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
                raise RequestError("BAD_REQUEST")
            if op == "hold":
                return {"results": changes.hold(ctl, caller, ids, user_hold=bool(args.get("user_hold")))}
            return {"results": changes.release(ctl, caller, ids)}
        if op in ("requeue", "requeuehold"):
            ids = args.get("job_ids")
            if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
                raise RequestError("BAD_REQUEST")
            return {"results": changes.requeue(ctl, caller, ids, hold=op == "requeuehold")}
        if op == "update_job":
            job_id, fields = args.get("job_id"), args.get("changes")
            if not isinstance(job_id, int) or not isinstance(fields, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in fields.items()):
                raise RequestError("BAD_REQUEST")
            changes.update_job(ctl, caller, job_id, fields)
            return {}
        if op == "update_node":
            names, state, reason = args.get("nodes"), args.get("state"), args.get("reason") or ""
            if not isinstance(names, str) or not isinstance(state, str) or not isinstance(reason, str):
                raise RequestError("BAD_REQUEST")
            from conf.hostlist import HostlistError, expand_hostlist
            try:
                node_names = expand_hostlist(names)
            except HostlistError:
                raise RequestError("INVALID_NODE_NAME") from None
            changes.update_nodes(ctl, caller, node_names, state, reason)
            return {}
        if op == "update_partition":
            name, state = args.get("partition"), args.get("state")
            if not isinstance(name, str) or not isinstance(state, str):
                raise RequestError("BAD_REQUEST")
            changes.update_partition(ctl, caller, name, state)
            return {}
        if op == "token":
            lifespan = args.get("lifespan", tokens.DEFAULT_LIFESPAN)
            user = args.get("user") or caller.user_name
            if not isinstance(lifespan, int) or not 0 < lifespan <= 365 * 86400 or not isinstance(user, str):
                raise RequestError("BAD_REQUEST")
            if user != caller.user_name and caller.uid != 0:
                raise RequestError("ACCESS_DENIED")
            return {"token": tokens.mint(self.token_key, user, now, lifespan)}
        raise RequestError("BAD_REQUEST", message=f"unknown operation {op!r}")

    def accounting(self, caller, args: dict) -> list[dict]:
        def str_list(key):
            v = args.get(key)
            if v is None:
                return None
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise RequestError("BAD_REQUEST")
            return v
        ids = args.get("job_ids")
        if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, int) for i in ids)):
            raise RequestError("BAD_REQUEST")
        users = str_list("users")
        if caller.uid != 0 and not args.get("all_users") and not users:
            users = [caller.user_name]
        start, end = args.get("start"), args.get("end")
        for bound in (start, end):
            if bound is not None and (not isinstance(bound, (int, float)) or isinstance(bound, bool)):
                raise RequestError("BAD_REQUEST")
        if end is not None:
            end = int(end) + 0.999999   # sacct's times are whole seconds: -E T takes all of second T
        fields = str_list("fields")
        from accounting.reader import fetch_records
        with self.ctl.tx() as s:
            # Core rows of only the columns sacct reads (accounting.reader, the same query the
            # offline reader runs); jobs still in memory are shown from memory, which is newer.
            records = fetch_records(s, job_ids=ids, users=users, start=start, end=end,
                                    states=str_list("states"), names=str_list("names"),
                                    partitions=str_list("partitions"), fields=fields)
        now = time.time()
        jobs = self.ctl.jobs
        for record in records:
            live = jobs.get(record["job"]["job_id"])
            if live is not None:
                record["job"] = job_info(live, now)
        return records

    def _count_cycle(self, queue_length: int, plan, elapsed: float) -> None:
        """sdiag's scheduler figures. The pass is one solve (main pass and backfill together),
        so a backfill cycle's time is that of the pass it ran in."""
        stats = self.ctl.stats
        stats["cycles"] += 1
        stats["last_queue_length"] = queue_length
        stats["max_cycle_s"] = max(stats.get("max_cycle_s", 0.0), elapsed)
        self.cycle_times.append(elapsed)
        del self.cycle_times[:-1000]
        if plan.backfill_depth:
            backfill = stats.setdefault("backfill", {
                "cycles": 0, "backfilled_jobs": 0, "max_cycle_s": 0.0, "total_cycle_s": 0.0,
                "total_depth": 0, "total_queue_length": 0})
            backfill["cycles"] += 1
            backfill["backfilled_jobs"] += plan.backfilled
            backfill["last_cycle_when"] = int(time.time())
            backfill["last_cycle_s"] = elapsed
            backfill["max_cycle_s"] = max(backfill["max_cycle_s"], elapsed)
            backfill["total_cycle_s"] += elapsed
            backfill["last_depth"] = plan.backfill_depth
            backfill["total_depth"] += plan.backfill_depth
            backfill["last_queue_length"] = queue_length
            backfill["total_queue_length"] += queue_length

    def statistics(self) -> dict:
        times = self.cycle_times[-100:]
        jobs = self.ctl.jobs.values()
        return {
            "since": int(self.ctl.started_at),
            "jobs_pending": sum(1 for j in jobs if j.state.value == "PENDING"),
            "jobs_running": sum(1 for j in jobs if j.state.value == "RUNNING"),
            "max_cycle_s": self.ctl.stats.get("max_cycle_s", 0.0),
            "last_queue_length": self.ctl.stats.get("last_queue_length", 0),
            "backfill": dict(self.ctl.stats.get("backfill", {})),
            "jobs_submitted": self.ctl.stats["submitted"], "jobs_started": self.ctl.stats["started"],
            "jobs_ended": self.ctl.stats["ended"], "cycles": self.ctl.stats["cycles"],
            "last_cycle_s": times[-1] if times else 0.0,
            "mean_cycle_s": sum(times) / len(times) if times else 0.0,
            "rpc_counts": dict(self.ctl.stats["rpc"]), "agent_frames_in": self.link.received,
            "agent_frames_out": self.link.sent, "agent_frames_dropped": self.link.dropped,
            "outbox": len(self.ctl.outbox),
        }

    def _request_flush(self) -> None:
        """Group commit: run Controller.flush once the messages already received are handled."""
        if not self._flush_pending:
            self._flush_pending = True
            asyncio.get_running_loop().call_later(FLUSH_DELAY, self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        try:
            self.ctl.flush()
        except Exception:
            log.exception("writing completions failed; agents will re-send them")

    # ---------------------------------------------------------------- loops
    async def scheduler_loop(self) -> None:
        from solver import solve
        while True:
            try:
                await asyncio.wait_for(self._sched_wake.wait(), SCHED_TICK)
            except asyncio.TimeoutError:
                pass
            await asyncio.sleep(0.002)   # let a burst of events coalesce into one pass
            self._sched_wake.clear()
            try:
                t0 = time.perf_counter()
                snapshot = build_snapshot(self.ctl, self.cache, time.time())
                if not snapshot.pending:
                    continue
                if len(snapshot.pending) > SOLVE_IN_THREAD_OVER:
                    plan = await asyncio.to_thread(solve, snapshot)
                else:
                    plan = solve(snapshot)
                record_decisions(self.ctl, plan)
                self.ctl.apply_starts(plan.starts)
                elapsed = time.perf_counter() - t0
                self._count_cycle(len(snapshot.pending), plan, elapsed)
            except Exception:
                log.exception("scheduling cycle failed; next one in %s s", SCHED_TICK)

    async def sender_loop(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._send_wake.wait(), 0.5)
            except asyncio.TimeoutError:
                pass
            self._send_wake.clear()
            try:
                for node, frame, _ in self.ctl.due_messages():
                    self.link.send(node, frame)
            except Exception:
                log.exception("outbox send failed")

    async def usage_loop(self) -> None:
        """PriorityCalcPeriod: decay and charge fair-share usage, commit it."""
        while True:
            await asyncio.sleep(self.ctl.usage.calc_period)
            try:
                self.ctl.tick_usage()
            except Exception:
                log.exception("fair-share usage update failed; retried next period")

    async def monitor_loop(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.ctl.heartbeat_interval))
            try:
                self.ctl.check_nodes()
                self.ctl.purge_finished()
                job_steps.enforce_allocation_limits(self.ctl)
                changes.expire_deadlines(self.ctl)
            except Exception:
                log.exception("node monitor failed")

    async def run(self) -> None:
        if socket_answers(self.rpc.path):
            # another controller serves this state: two writers would interleave their
            # commits, and the old one would run on unseen once its socket file was replaced
            raise AlreadyRunning(f"another controller is already listening on {self.rpc.path}")
        self.ctl.recover()
        self.link.bind()
        self.remote.bind()
        await self.rpc.start()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        log.info("slurmctld-py ready: socket %s, agents %s, remote clients %s", self.rpc.path,
                 self.link.endpoint, self.remote.endpoint)
        self._sched_wake.set()
        try:
            async with asyncio.TaskGroup() as tg:
                tasks = [tg.create_task(c) for c in (self.link.serve(), self.remote.serve(), self.scheduler_loop(),
                                                     self.sender_loop(), self.monitor_loop(),
                                                     self.usage_loop())]
                await self.stop.wait()
                for t in tasks:
                    t.cancel()
        except* asyncio.CancelledError:
            pass
        finally:
            try:
                self.ctl.tick_usage()   # a clean stop keeps the usage charged up to now
            except Exception:
                log.exception("saving fair-share usage at shutdown failed")
            await self.rpc.close()
            self.link.close()
            self.remote.close()
            self.engine.dispose()
            log.info("slurmctld-py stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="slurmctld-py", description="Slurm-compatible controller daemon")
    parser.add_argument("--conf", "-f", default=os.environ.get("SLURM_CONF", "/etc/slurm/slurm.conf"))
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s slurmctld-py %(levelname)s %(name)s: %(message)s")
    from conf.errors import ConfigError
    from conf.slurmconf import load_config
    try:
        config = load_config(args.conf)
    except (ConfigError, OSError) as exc:
        print(f"slurmctld-py: fatal: {exc}", file=sys.stderr)
        return 1
    for warning in config.warnings:
        log.warning("%s", warning)
    os.makedirs(config.state_save_location, exist_ok=True)

    async def runner():
        await Daemon(config, os.path.abspath(args.conf)).run()
    try:
        asyncio.run(runner())
    except AlreadyRunning as exc:
        print(f"slurmctld-py: fatal: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
