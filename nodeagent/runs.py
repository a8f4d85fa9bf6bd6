"""The runs of this node: start them, enforce their time limits, kill them, report their ends.

Every transition is written to the spool before the controller hears of it, and RunEnded is
re-sent until EndAck. A Launch for a run the node already has (running, ended, or recently
acknowledged) is only acknowledged, so the controller may resend from its outbox freely.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal as signals
import subprocess
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

from nodeagent import wire
from nodeagent.launcher import LaunchFailure, start_run
from nodeagent.procs import (ExitInfo, ProcessWatcher, is_same_process, signal_group,
                             signal_group_except, signal_process)
from nodeagent.spool import RunPhase, RunRecord, RunResult, Spool

log = logging.getLogger("nodeagent.runs")

RunKey = tuple[int, int]          # (job_id, attempt)
_REMEMBERED = 10_000              # acknowledged ends / early terminates kept for idempotency


class Outcome:
    EXITED = "exited"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"
    LAUNCH_FAILED = "launch_failed"
    NODE_FAIL = "node_fail"


# Terminate reason -> the tail of slurmstepd's notice ('' for a plain cancel)
_NOTICE_SUFFIX = {Outcome.CANCELLED: "", Outcome.TIMEOUT: " DUE TO TIME LIMIT", "requeue": " DUE TO JOB REQUEUE",
                  "requeue_hold": " DUE TO JOB REQUEUE"}


@dataclass(slots=True)
class ActiveRun:
    """A run whose process is alive; mutable bookkeeping private to the supervisor."""
    record: RunRecord
    adopted: bool                          # found alive after an agent restart, not our child
    process: subprocess.Popen | None = None
    kill_reason: str = ""
    kill_signal: int = 0
    rss_floor_kb: int = 0                  # see launcher.Started.spawner_peak_rss_kb
    timers: list[asyncio.TimerHandle] = field(default_factory=list)


@dataclass(slots=True)
class RunCounters:
    started: int = 0
    ended: int = 0
    launch_failed: int = 0
    duplicate_launches: int = 0
    adopted: int = 0


def _name(key: RunKey) -> str:
    return f"job {key[0]}.{key[1]}"


class RunSupervisor:
    def __init__(self, node: str, spool: Spool, send: Callable[[wire.Message], object],
                 kill_wait: float) -> None:
        self.node = node
        self.spool = spool
        self.kill_wait = kill_wait
        self.counters = RunCounters()
        self._send = send
        self._loop = asyncio.get_running_loop()
        self._watcher = ProcessWatcher(self._loop)
        self._active: dict[RunKey, ActiveRun] = {}
        self._ended: dict[RunKey, RunRecord] = {}
        self._last_sent: dict[RunKey, float] = {}
        self._acknowledged: OrderedDict[RunKey, None] = OrderedDict()
        self._terminated_early: OrderedDict[RunKey, str] = OrderedDict()
        self._saving: set[RunKey] = set()           # ended, end record not yet on disk
        self._tasks: set[asyncio.Task] = set()

    # ---- views ---------------------------------------------------------------------------

    def active_refs(self) -> list[wire.RunRef]:
        return [wire.RunRef(*key) for key in self._active]

    def finished_refs(self) -> list[wire.RunRef]:
        return [wire.RunRef(*key) for key in self._ended]

    # ---- restart ---------------------------------------------------------------------------

    def recover(self) -> None:
        """Take over what a previous agent left in the spool."""
        for record in self.spool.load_all():
            key = (record.job_id, record.attempt)
            if record.phase is RunPhase.ENDED:
                self._ended[key] = record
            elif record.phase is RunPhase.RUNNING and is_same_process(record.pid, record.proc_start_ticks):
                self.counters.adopted += 1
                log.info("%s: re-adopted running process %d", _name(key), record.pid)
                self._track(ActiveRun(record, adopted=True))
            else:
                why = ("the node agent died while starting the run" if record.phase is RunPhase.LAUNCHING
                       else "the node agent stopped and the run's process is gone")
                log.warning("%s: %s; reporting node_fail", _name(key), why)
                self._finish(record, RunResult(Outcome.NODE_FAIL, 0, signals.SIGKILL, time.time(), why),
                             announce=False)   # Register lists it; RunEnded follows RegisterAck

    # ---- controller requests ------------------------------------------------------------

    def launch(self, msg: wire.Launch) -> None:
        key = (msg.job_id, msg.attempt)
        if (key in self._active or key in self._ended or key in self._acknowledged
                or self.spool.has_run(*key)):
            self.counters.duplicate_launches += 1
            log.info("%s: duplicate launch (msg %d) acknowledged and ignored", _name(key), msg.msg_id)
            self._ack(msg.msg_id)
            return
        record = RunRecord(msg.job_id, msg.attempt, RunPhase.RUNNING, time_limit=msg.time_limit)
        early = self._terminated_early.pop(key, None)
        if early is not None:
            self._ack(msg.msg_id)
            self._finish(record, RunResult(early, 0, 0, time.time(), "terminated before it started"))
            return
        try:
            owner = (msg.uid, msg.gid) if os.geteuid() == 0 and msg.uid != 0 else None
            script = self.spool.write_script(msg.job_id, msg.attempt, msg.script, owner)
            started = start_run(msg, script, self.node)
        except OSError as exc:       # the spool itself failed: the run cannot start here
            started = LaunchFailure(f"cannot prepare the run in the spool: {exc}")
        if isinstance(started, LaunchFailure):
            self.counters.launch_failed += 1
            log.error("%s: launch failed: %s", _name(key), started.message)
            self._ack(msg.msg_id)
            # Slurm's job then has exit code 1 (launch failure) and never ran.
            self._finish(record, RunResult(Outcome.LAUNCH_FAILED, 1, 0, time.time(), started.message))
            return
        record = RunRecord(msg.job_id, msg.attempt, RunPhase.RUNNING, pid=started.process.pid,
                           proc_start_ticks=started.start_ticks, start_time=started.start_time,
                           time_limit=msg.time_limit, warn_signal=msg.warn_signal,
                           warn_time=msg.warn_time, warn_batch_only=msg.warn_batch_only, stderr=msg.stderr)
        self.spool.save(record, durable=False)  # recorded before anyone is told (see spool.py)
        self.counters.started += 1
        self._track(ActiveRun(record, adopted=False, process=started.process,
                              rss_floor_kb=started.spawner_peak_rss_kb))
        self._ack(msg.msg_id)
        self._send(wire.RunStarted(self.node, msg.job_id, msg.attempt, started.process.pid,
                                   started.start_time))
        log.debug("%s: started pid %d", _name(key), started.process.pid)

    def terminate(self, msg: wire.Terminate) -> None:
        key = (msg.job_id, msg.attempt)
        run = self._active.get(key)
        if run is not None:
            self._kill(run, msg.reason, msg.kill_wait)
        elif key not in self._ended and key not in self._acknowledged and not self.spool.has_run(*key):
            # Its Launch may still be on the way (resent from the outbox): it must not start then.
            self._remember(self._terminated_early, key, msg.reason)
        self._ack(msg.msg_id)

    def signal(self, msg: wire.Signal) -> None:
        run = self._active.get((msg.job_id, msg.attempt))
        if run is not None:
            pid = run.record.pid
            if msg.signal in (signals.SIGTERM, signals.SIGKILL):
                # slurmstepd notes it as a cancel, before the signal: the job's own reaction
                # (a trap's echo) lands after the notice, as in the real output file
                self._kill_notice(run.record, Outcome.CANCELLED)
            if msg.batch_only:
                delivered = signal_process(pid, msg.signal)
            elif msg.full:
                delivered = signal_group(pid, msg.signal)
            else:
                delivered = signal_group_except(pid, msg.signal, pid)
            log.info("%s: signal %d to %s %d%s", _name((msg.job_id, msg.attempt)), msg.signal,
                     "pid" if msg.batch_only else "process group", pid,
                     "" if delivered else " (gone)")
        self._ack(msg.msg_id)

    def end_acknowledged(self, msg: wire.EndAck) -> None:
        key = (msg.job_id, msg.attempt)
        if self._ended.pop(key, None) is not None:
            self._last_sent.pop(key, None)
            self._remember(self._acknowledged, key, None)
            if key not in self._saving:          # else _persist_end removes it when done
                self._background(asyncio.to_thread(self.spool.remove, *key))

    def resend_ends(self, interval: float, force: bool = False) -> None:
        """Send again every RunEnded not acknowledged within interval (all of them when force)."""
        now = time.monotonic()
        for key, record in self._ended.items():
            if key in self._saving:
                continue
            if force or now - self._last_sent.get(key, 0.0) >= interval:
                self._send_end(record)

    async def drain(self, timeout: float = 5.0) -> None:
        """Let end records being written finish (called when the agent stops)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    # ---- internals -------------------------------------------------------------------------

    def _ack(self, msg_id: int) -> None:
        self._send(wire.Ack(self.node, msg_id))

    @staticmethod
    def _remember(table: OrderedDict, key: RunKey, value) -> None:
        table[key] = value
        while len(table) > _REMEMBERED:
            table.popitem(last=False)

    def _track(self, run: ActiveRun) -> None:
        record = run.record
        key = (record.job_id, record.attempt)
        self._active[key] = run
        if record.time_limit is not None:
            delay = max(0.0, record.start_time + record.time_limit - time.time())
            run.timers.append(self._loop.call_later(delay, self._time_limit_reached, key))
            if record.warn_signal:
                warn_delay = max(0.0, delay - record.warn_time)
                run.timers.append(self._loop.call_later(warn_delay, self._warn, key))
        # The batch shell is gone: like slurmstepd, end whatever it left behind in its group.
        self._watcher.watch(record.pid, lambda info: self._process_ended(key, info),
                            child=not run.adopted,
                            before_reap=lambda: signal_group(record.pid, signals.SIGKILL))

    def _time_limit_reached(self, key: RunKey) -> None:
        run = self._active.get(key)
        if run is not None:
            log.info("%s: time limit reached", _name(key))
            self._kill(run, Outcome.TIMEOUT, self.kill_wait)

    def _kill_notice(self, record: RunRecord, reason: str) -> None:
        """The line slurmstepd appends to the job's error file when it ends a job early."""
        why = _NOTICE_SUFFIX.get(reason)
        if why is None or not record.stderr or record.stderr == "/dev/null":
            return
        when = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime())
        line = f"slurmstepd-{self.node}: error: *** JOB {record.job_id} ON {self.node} CANCELLED AT {when}{why} ***\n"
        try:
            with open(record.stderr, "a") as handle:
                handle.write(line)
        except OSError:
            pass   # the job's file system went away: the notice is only informative

    def _warn(self, key: RunKey) -> None:
        """sbatch --signal: the job's warning that its time limit is near."""
        run = self._active.get(key)
        if run is not None and not run.kill_reason:
            record = run.record
            if record.warn_batch_only:
                signal_process(record.pid, record.warn_signal)
            else:
                signal_group(record.pid, record.warn_signal)
            log.info("%s: signal %d, %gs before the time limit", _name(key), record.warn_signal, record.warn_time)

    def _kill(self, run: ActiveRun, reason: str, kill_wait: float) -> None:
        """SIGCONT (a stopped job must see the TERM) + SIGTERM now, SIGKILL after kill_wait."""
        if run.kill_reason:
            return                       # already on its way out; the first reason stands
        key = (run.record.job_id, run.record.attempt)
        run.kill_reason = reason
        run.kill_signal = signals.SIGTERM
        self._kill_notice(run.record, reason)
        pgid = run.record.pid
        signal_group(pgid, signals.SIGCONT)
        signal_group(pgid, signals.SIGTERM)
        log.info("%s: SIGTERM to process group %d (%s), SIGKILL in %gs", _name(key), pgid, reason, kill_wait)
        run.timers.append(self._loop.call_later(kill_wait, self._force_kill, key))

    def _force_kill(self, key: RunKey) -> None:
        run = self._active.get(key)
        if run is not None:
            run.kill_signal = signals.SIGKILL
            signal_group(run.record.pid, signals.SIGKILL)
            log.info("%s: SIGKILL to process group %d", _name(key), run.record.pid)

    def _process_ended(self, key: RunKey, info: ExitInfo | None) -> None:
        run = self._active.pop(key, None)
        if run is None:
            return
        for timer in run.timers:
            timer.cancel()
        if run.process is not None and info is not None:
            run.process.returncode = -info.signal if info.signal else info.exit_code
        now = time.time()
        if info is not None:
            # Below the floor it is the agent's memory, not the job's: unknown, reported as 0
            # (as Slurm's MaxRSS of a job shorter than its accounting poll).
            max_rss = info.max_rss_kb if info.max_rss_kb > run.rss_floor_kb else 0
            result = RunResult(run.kill_reason or Outcome.EXITED, info.exit_code, info.signal, now,
                               "", max_rss, info.cpu_seconds)
        elif run.kill_reason:
            result = RunResult(run.kill_reason, 0, run.kill_signal, now,
                               "exit status unknown: re-adopted after an agent restart")
        else:
            # Not our child: the kernel gave its exit status to init, not to us.
            result = RunResult(Outcome.NODE_FAIL, 0, 0, now,
                               "exit status lost: the node agent restarted while the run was going")
        self._finish(run.record, result)

    def _finish(self, record: RunRecord, result: RunResult, announce: bool = True) -> None:
        """Record the end durably (fsync in a worker thread, so other runs go on meanwhile),
        then send RunEnded. Until then the run counts as finished but is not re-sent."""
        ended = record.ended(result)
        key = (record.job_id, record.attempt)
        self._ended[key] = ended
        self._saving.add(key)
        self.counters.ended += 1
        log.info("%s: ended %s exit_code=%d signal=%d%s", _name(key), result.outcome,
                 result.exit_code, result.signal, f" ({result.message})" if result.message else "")
        self._background(self._persist_end(ended, announce))

    async def _persist_end(self, ended: RunRecord, announce: bool) -> None:
        key = (ended.job_id, ended.attempt)
        try:
            await asyncio.to_thread(self.spool.save, ended)
        except OSError as exc:
            # Still report it: the controller learning of the end beats keeping it to ourselves.
            log.error("%s: could not record the end in the spool: %s", _name(key), exc)
        self._saving.discard(key)
        if key not in self._ended:              # acknowledged while it was being saved
            await asyncio.to_thread(self.spool.remove, *key)
        elif announce:
            self._send_end(ended)

    def _background(self, coroutine) -> None:
        task = self._loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _send_end(self, record: RunRecord) -> None:
        result = record.result
        assert result is not None
        self._last_sent[(record.job_id, record.attempt)] = time.monotonic()
        self._send(wire.RunEnded(self.node, record.job_id, record.attempt, result.outcome,
                                 result.exit_code, result.signal, result.end_time, result.message,
                                 result.max_rss_kb, result.cpu_seconds))
