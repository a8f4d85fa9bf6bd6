"""Processes of runs: identity across agent restarts, signalling a job's process group, and
learning when a process ends without a thread per process.

A run's script is started in its own session, so its pid is also its process group id.
Watching uses pidfds (Linux >= 5.3): the event loop polls one descriptor per process and the child
is then reaped with wait4, which also gives its resource usage. Processes adopted after an agent
restart are not our children: a pidfd still says when they end, but their exit status is lost.
"""
from __future__ import annotations

import asyncio
import logging
import os
import resource
import threading
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger("nodeagent.procs")


@dataclass(frozen=True, slots=True)
class ExitInfo:
    exit_code: int
    signal: int           # the terminating signal, 0 when the process exited by itself
    max_rss_kb: int
    cpu_seconds: float


def exit_info(status: int, usage: resource.struct_rusage | None) -> ExitInfo:
    """Slurm's convention: killed by signal N -> exit code 0, signal N."""
    if os.WIFSIGNALED(status):
        code, sig = 0, os.WTERMSIG(status)
    else:
        code, sig = os.WEXITSTATUS(status), 0
    if usage is None:
        return ExitInfo(code, sig, 0, 0.0)
    # ru_maxrss is in kilobytes on Linux.
    return ExitInfo(code, sig, int(usage.ru_maxrss), usage.ru_utime + usage.ru_stime)


def proc_start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot, or None when there is no such pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            data = stat.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = data[data.rfind(b")") + 2:].split()
    try:
        return int(fields[19])        # field 22, starttime
    except (IndexError, ValueError):
        return None


def is_same_process(pid: int, start_ticks: int) -> bool:
    return pid > 0 and start_ticks > 0 and proc_start_ticks(pid) == start_ticks


def signal_group(pgid: int, sig: int) -> bool:
    """Send sig to a whole process group; False when the group is gone."""
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        log.error("not allowed to signal process group %d", pgid)
        return False


def signal_group_except(pgid: int, sig: int, spared: int) -> bool:
    """Send sig to every process of a group but one (a job's steps, not its batch shell)."""
    delivered = False
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == spared:
            continue
        try:
            if os.getpgid(int(entry)) == pgid:
                os.kill(int(entry), sig)
                delivered = True
        except (ProcessLookupError, PermissionError):
            continue
    return delivered


def signal_process(pid: int, sig: int) -> bool:
    try:
        os.kill(pid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


ExitCallback = Callable[[ExitInfo | None], None]


class ProcessWatcher:
    """Calls back on the event loop when a watched process ends: with its ExitInfo for our own
    children (reaped here), with None for adopted processes."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._use_pidfd = hasattr(os, "pidfd_open")
        self._before_reap: dict[int, Callable[[], None] | None] = {}

    def watch(self, pid: int, on_exit: ExitCallback, *, child: bool,
              before_reap: Callable[[], None] | None = None) -> None:
        """before_reap runs while an ended child is still a zombie, so its pid (and process
        group id) cannot yet belong to anyone else."""
        if before_reap is not None:
            on_exit = _with_before_reap(on_exit, before_reap) if not child else on_exit
            self._before_reap[pid] = before_reap if child else None
        if self._use_pidfd:
            try:
                pidfd = os.pidfd_open(pid)
            except ProcessLookupError:
                self._finish(pid, on_exit, child)
                return
            except OSError as exc:     # kernel without pidfd: fall back for good
                log.warning("pidfd_open unavailable (%s); watching processes with threads", exc)
                self._use_pidfd = False
            else:
                self._loop.add_reader(pidfd, self._on_pidfd, pidfd, pid, on_exit, child)
                return
        if child:
            threading.Thread(target=self._wait_in_thread, args=(pid, on_exit),
                             name=f"wait-{pid}", daemon=True).start()
        else:
            self._loop.call_later(1.0, self._poll_adopted, pid, proc_start_ticks(pid), on_exit)

    def _on_pidfd(self, pidfd: int, pid: int, on_exit: ExitCallback, child: bool) -> None:
        self._loop.remove_reader(pidfd)
        os.close(pidfd)
        self._finish(pid, on_exit, child)

    def _finish(self, pid: int, on_exit: ExitCallback, child: bool) -> None:
        if not child:
            on_exit(None)
            return
        hook = self._before_reap.pop(pid, None)
        if hook is not None:
            hook()
        try:
            waited, status, usage = os.wait4(pid, os.WNOHANG)
        except ChildProcessError:
            log.error("process %d was reaped by someone else; its exit status is lost", pid)
            on_exit(None)
            return
        if waited == 0:     # readable pidfd but not yet waitable: look again shortly
            self._loop.call_later(0.01, self._finish, pid, on_exit, child)
            return
        on_exit(exit_info(status, usage))

    def _wait_in_thread(self, pid: int, on_exit: ExitCallback) -> None:
        try:
            # WNOWAIT leaves the zombie in place: _finish runs before_reap, then reaps it.
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        except ChildProcessError:
            pass           # _finish reports the lost status
        self._loop.call_soon_threadsafe(self._finish, pid, on_exit, True)

    def _poll_adopted(self, pid: int, ticks: int | None, on_exit: ExitCallback) -> None:
        if ticks is not None and proc_start_ticks(pid) == ticks:
            self._loop.call_later(1.0, self._poll_adopted, pid, ticks, on_exit)
        else:
            on_exit(None)


def _with_before_reap(on_exit: ExitCallback, before: Callable[[], None]) -> ExitCallback:
    def run_both(info: ExitInfo | None) -> None:
        before()
        on_exit(info)
    return run_both
