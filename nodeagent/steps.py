"""Job steps on this node (what slurmstepd does for `srun`): start this node's tasks of a step,
stream their output and exit statuses to srun, signal or end them, report the step's end.

srun listens on a TCP port for the step (StepLaunch.io_host/io_port). The agent connects, proves
it was sent by the controller with the step's key, then sends length-prefixed msgpack maps:
    {"k": "hello", "key": <io_key>, "node": <node>, "job": <job id>, "step": <step id>}
    {"k": "out", "t": <task id>, "fd": 1 | 2, "d": <bytes>}     (output not sent to files)
    {"k": "exit", "t": <task id>, "code": <exit code>, "sig": <signal>}
    {"k": "cancelled", "kill_wait": <seconds>, "note": <slurmstepd's line>}   (step being ended)
and srun sends its own stdin to the tasks StepLaunch.stdin names:
    {"k": "in", "d": <bytes>}   /   {"k": "in", "eof": true}
A task's exit follows all its output. When srun goes away mid-step the step is killed, as
slurmstepd does when it loses its srun. The controller hears of the step's end through
StepEnded (re-sent until StepEndAck), which is what accounting records.
"""
from __future__ import annotations

import asyncio
import errno
import logging
import os
import pwd
import signal as signals
import subprocess
import time
from dataclasses import dataclass, field
from typing import Callable

import msgpack

from conf.jobtext import expand_file_pattern
from nodeagent import wire
from nodeagent.procs import ExitInfo, ProcessWatcher, signal_group

log = logging.getLogger("nodeagent.steps")

StepKey = tuple[int, int]             # (job_id, step_id)
READ_CHUNK = 64 * 1024
WRITE_BUFFER_LIMIT = 4 * 1024 * 1024  # stop reading task output while srun lags this far behind
CONNECT_TIMEOUT = 10.0
_REMEMBERED = 10_000


def io_frame(body: dict) -> bytes:
    payload = msgpack.packb(body, use_bin_type=True)
    return len(payload).to_bytes(4, "big") + payload


def expand_io_pattern(pattern: str, *, job_id: int, step_id: int, task: int, node_index: int,
                      node: str, user: str = "", job_name: str = "") -> str:
    """srun's --output/--error patterns: %j %J %s %t %n %N %u %x %A %a %%, with optional zero
    padding (%3t); a pattern with a backslash is taken literally (backslashes removed)."""
    values = {"j": str(job_id), "J": f"{job_id}.{step_id}", "s": str(step_id), "t": str(task),
              "n": str(node_index), "N": node.split(".")[0], "u": user, "x": job_name,
              "A": str(job_id), "a": "4294967294"}
    return expand_file_pattern(pattern, values)


def task_environment(msg: wire.StepLaunch, task: int, local_id: int, node: str) -> dict[str, str]:
    env = dict(msg.environment)
    env.update({
        "SLURM_PROCID": str(task), "SLURM_LOCALID": str(local_id), "SLURM_NODEID": str(msg.node_index),
        "SLURM_GTIDS": ",".join(str(t) for t in msg.tasks), "SLURMD_NODENAME": node,
        "SLURM_TOPOLOGY_ADDR": node, "SLURM_CPUS_ON_NODE": str(msg.cpus),
    })
    if msg.gpus:
        indices = ",".join(str(g) for g in msg.gpus)
        for name in ("CUDA_VISIBLE_DEVICES", "GPU_DEVICE_ORDINAL", "ROCR_VISIBLE_DEVICES", "SLURM_JOB_GPUS"):
            env[name] = indices
        env["SLURM_GPUS_ON_NODE"] = str(len(msg.gpus))
    return env


@dataclass(slots=True)
class Task:
    task_id: int
    pid: int = 0
    exit: ExitInfo | None = None
    open_pipes: int = 0
    reported: bool = False
    stdin_fd: int | None = None            # our end of the task's stdin pipe (srun feeds it)
    stdin_buffer: bytearray = field(default_factory=bytearray)
    stdin_eof: bool = False
    stdin_waiting: bool = False


@dataclass(slots=True)
class ActiveStep:
    msg: wire.StepLaunch
    tasks: dict[int, Task]
    writer: asyncio.StreamWriter | None = None
    readers: dict[int, tuple[int, int]] = field(default_factory=dict)   # fd -> (task, 1|2)
    paused: bool = False
    kill_reason: str = ""
    timers: list[asyncio.TimerHandle] = field(default_factory=list)
    ended: bool = False
    srun_lost: bool = False


class StepSupervisor:
    def __init__(self, node: str, send: Callable[[wire.Message], object], kill_wait: float) -> None:
        self.node = node
        self.kill_wait = kill_wait
        self._send = send
        self._loop = asyncio.get_running_loop()
        self._watcher = ProcessWatcher(self._loop)
        self._active: dict[StepKey, ActiveStep] = {}
        self._ended: dict[StepKey, wire.StepEnded] = {}       # awaiting StepEndAck
        self._last_sent: dict[StepKey, float] = {}
        self._done: dict[StepKey, None] = {}                  # acknowledged or cancelled early
        self._tasks: set[asyncio.Task] = set()

    def active_steps(self) -> list[StepKey]:
        return list(self._active)

    # ---- controller requests ------------------------------------------------------------

    def launch(self, msg: wire.StepLaunch) -> None:
        key = (msg.job_id, msg.step_id)
        self._send(wire.Ack(self.node, msg.msg_id))
        if key in self._active or key in self._ended or key in self._done:
            log.info("step %d.%d: duplicate launch ignored", *key)
            return
        step = ActiveStep(msg, {t: Task(t) for t in msg.tasks})
        self._active[key] = step
        task = self._loop.create_task(self._start(step))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def signal(self, msg: wire.StepSignal) -> None:
        step = self._active.get((msg.job_id, msg.step_id))
        if step is not None:
            self._signal_tasks(step, msg.signal)
        self._send(wire.Ack(self.node, msg.msg_id))

    def terminate(self, msg: wire.StepTerminate) -> None:
        key = (msg.job_id, msg.step_id)
        step = self._active.get(key)
        if step is not None:
            if not step.kill_reason:     # srun says "Job step aborted" and shows slurmstepd's note
                when = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime())
                why = " DUE TO TIME LIMIT" if msg.reason == "timeout" else ""
                self._write(step, {"k": "cancelled", "kill_wait": msg.kill_wait,
                                   "note": f"slurmstepd-{self.node}: error: *** STEP {msg.job_id}.{msg.step_id} "
                                           f"ON {self.node} CANCELLED AT {when}{why} ***"})
            self._kill(step, "cancelled", msg.kill_wait)
        elif key not in self._ended:
            self._remember(key)        # a launch still on its way must not start
        self._send(wire.Ack(self.node, msg.msg_id))

    def end_acknowledged(self, msg: wire.StepEndAck) -> None:
        key = (msg.job_id, msg.step_id)
        if self._ended.pop(key, None) is not None:
            self._last_sent.pop(key, None)
            self._remember(key)

    def resend_ends(self, interval: float, force: bool = False) -> None:
        now = time.monotonic()
        for key, ended in self._ended.items():
            if force or now - self._last_sent.get(key, 0.0) >= interval:
                self._last_sent[key] = now
                self._send(ended)

    def kill_all(self) -> None:
        """The agent stops: its steps' output has nowhere to go any more, so they end now."""
        for step in list(self._active.values()):
            self._kill(step, "cancelled", 0.0)

    # ---- starting ---------------------------------------------------------------------------

    async def _start(self, step: ActiveStep) -> None:
        msg = step.msg
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(msg.io_host, msg.io_port), CONNECT_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as exc:
            log.error("step %d.%d: cannot reach srun at %s:%d (%s); tasks not started",
                      msg.job_id, msg.step_id, msg.io_host, msg.io_port, exc)
            for task in step.tasks.values():
                task.exit = ExitInfo(1, 0, 0, 0.0)
            self._maybe_end(step)
            return
        step.writer = writer
        writer.write(io_frame({"k": "hello", "key": msg.io_key, "node": self.node,
                               "job": msg.job_id, "step": msg.step_id}))
        watch = self._loop.create_task(self._watch_srun(step, reader))
        self._tasks.add(watch)
        watch.add_done_callback(self._tasks.discard)
        if step.kill_reason:         # terminated while connecting
            for task in step.tasks.values():
                task.exit = ExitInfo(0, signals.SIGKILL, 0, 0.0)
            self._maybe_end(step)
            return
        files: dict[str, int] = {}
        try:
            for local_id, task_id in enumerate(msg.tasks):
                self._spawn(step, step.tasks[task_id], local_id, files)
        finally:
            for fd in files.values():
                os.close(fd)
        self._maybe_end(step)

    def _open_output(self, step: ActiveStep, pattern: str, task: int, files: dict[str, int]) -> int:
        msg = step.msg
        path = expand_io_pattern(pattern, job_id=msg.job_id, step_id=msg.step_id, task=task,
                                 node_index=msg.node_index, node=self.node, user=msg.user_name,
                                 job_name=msg.job_name)
        if not os.path.isabs(path):
            path = os.path.join(msg.work_dir, path)
        if path not in files:         # tasks naming the same file share it
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
            if os.geteuid() == 0 and msg.uid != 0:
                try:
                    os.fchown(fd, msg.uid, msg.gid)
                except OSError:
                    pass
            files[path] = fd
        return files[path]

    def _spawn(self, step: ActiveStep, task: Task, local_id: int, files: dict[str, int]) -> None:
        msg = step.msg
        pipes: list[tuple[int, int]] = []        # (read end, fd number in the task)
        child_fds: list[int] = []
        try:
            if msg.stdout:
                out = self._open_output(step, msg.stdout, task.task_id, files)
            else:
                r, out = os.pipe2(os.O_CLOEXEC)
                pipes.append((r, 1))
                child_fds.append(out)
            if msg.stderr:
                err = self._open_output(step, msg.stderr, task.task_id, files)
            elif msg.stdout:
                err = out
            else:
                r, err = os.pipe2(os.O_CLOEXEC)
                pipes.append((r, 2))
                child_fds.append(err)
        except OSError as exc:
            for fd in [r for r, _ in pipes] + child_fds:
                os.close(fd)
            self._task_failed(step, task, f"slurmstepd-{self.node}: error: Could not open output file: "
                                          f"{exc.strerror}\n", 1)
            return
        env = task_environment(msg, task.task_id, local_id, self.node)
        work_dir = msg.work_dir if os.path.isdir(msg.work_dir) else "/tmp"
        stdin: int = subprocess.DEVNULL
        if msg.stdin == "all" or msg.stdin == str(task.task_id):
            stdin, task.stdin_fd = os.pipe2(os.O_CLOEXEC)
            os.set_blocking(task.stdin_fd, False)
        try:
            # close_fds=False as in launcher.py: every descriptor of the agent is close-on-exec
            process = subprocess.Popen(
                msg.argv, stdin=stdin, stdout=out, stderr=err, cwd=work_dir, env=env,
                start_new_session=True, close_fds=False, preexec_fn=_become(msg.uid, msg.gid))
        except (OSError, subprocess.SubprocessError) as exc:
            for fd in [r for r, _ in pipes] + child_fds:
                os.close(fd)
            self._close_stdin(task)
            if stdin != subprocess.DEVNULL:
                os.close(stdin)
            why = getattr(exc, "strerror", None) or str(exc)
            code = 2 if getattr(exc, "errno", None) == errno.ENOENT else 126
            note = f"slurmstepd-{self.node}: error: execve(): {msg.argv[0] if msg.argv else ''}: {why}\n"
            self._task_failed(step, task, note, code, to_file=err if msg.stdout else None)
            return
        for fd in child_fds:
            os.close(fd)
        if stdin != subprocess.DEVNULL:
            os.close(stdin)
        task.pid = process.pid
        key = (msg.job_id, msg.step_id)
        for r, target in pipes:
            os.set_blocking(r, False)
            task.open_pipes += 1
            step.readers[r] = (task.task_id, target)
            self._loop.add_reader(r, self._on_output, key, r)
        pid = process.pid
        # Reaped here: forget the Popen so its own bookkeeping never waits on the pid.
        process.returncode = 0
        self._watcher.watch(pid, lambda info: self._task_ended(key, task.task_id, info), child=True,
                            before_reap=lambda: signal_group(pid, signals.SIGKILL))
        if step.kill_reason:
            signal_group(pid, signals.SIGKILL)

    def _task_failed(self, step: ActiveStep, task: Task, note: str, code: int, to_file: int | None = None) -> None:
        log.info("step %d.%d task %d failed to start: %s", step.msg.job_id, step.msg.step_id,
                 task.task_id, note.strip())
        if to_file is not None:
            try:
                os.write(to_file, note.encode())
            except OSError:
                pass
        else:
            self._write(step, {"k": "out", "t": task.task_id, "fd": 2, "d": note.encode()})
        task.exit = ExitInfo(code, 0, 0, 0.0)
        self._report_task(step, task)

    # ---- running ----------------------------------------------------------------------------

    def _write(self, step: ActiveStep, body: dict) -> None:
        writer = step.writer
        if writer is None or writer.is_closing():
            return
        writer.write(io_frame(body))
        if not step.paused and writer.transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT:
            step.paused = True
            for fd in step.readers:
                self._loop.remove_reader(fd)
            task = self._loop.create_task(self._resume_after_drain(step))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _resume_after_drain(self, step: ActiveStep) -> None:
        key = (step.msg.job_id, step.msg.step_id)
        try:
            if step.writer is not None:
                await step.writer.drain()
        except (ConnectionError, OSError):
            pass
        step.paused = False
        for fd in list(step.readers):
            self._loop.add_reader(fd, self._on_output, key, fd)

    def _on_output(self, key: StepKey, fd: int) -> None:
        step = self._active.get(key)
        if step is None or fd not in step.readers:
            self._loop.remove_reader(fd)
            return
        task_id, target = step.readers[fd]
        try:
            data = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self._write(step, {"k": "out", "t": task_id, "fd": target, "d": data})
            return
        self._loop.remove_reader(fd)
        os.close(fd)
        del step.readers[fd]
        task = step.tasks[task_id]
        task.open_pipes -= 1
        self._report_task(step, task)

    def _task_ended(self, key: StepKey, task_id: int, info: ExitInfo | None) -> None:
        step = self._active.get(key)
        if step is None:
            return
        task = step.tasks[task_id]
        task.exit = info or ExitInfo(0, signals.SIGKILL, 0, 0.0)
        self._close_stdin(task)
        self._report_task(step, task)

    def _report_task(self, step: ActiveStep, task: Task) -> None:
        """Tell srun once the task has exited and all its output has been read."""
        if task.reported or task.exit is None or task.open_pipes > 0:
            return
        task.reported = True
        self._write(step, {"k": "exit", "t": task.task_id, "code": task.exit.exit_code, "sig": task.exit.signal})
        self._maybe_end(step)

    def _maybe_end(self, step: ActiveStep) -> None:
        if step.ended or any(t.exit is None or (t.open_pipes > 0) for t in step.tasks.values()):
            return
        step.ended = True
        msg = step.msg
        key = (msg.job_id, msg.step_id)
        self._active.pop(key, None)
        for timer in step.timers:
            timer.cancel()
        for fd in list(step.readers):
            self._loop.remove_reader(fd)
            os.close(fd)
        step.readers.clear()
        if step.writer is not None:
            writer = step.writer
            task = self._loop.create_task(_close_writer(writer))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        exits = [wire.TaskExit(t.task_id, t.exit.exit_code, t.exit.signal)
                 for t in sorted(step.tasks.values(), key=lambda t: t.task_id) if t.exit is not None]
        ended = wire.StepEnded(self.node, msg.job_id, msg.step_id, exits, time.time(),
                               max((t.exit.max_rss_kb for t in step.tasks.values() if t.exit), default=0),
                               sum(t.exit.cpu_seconds for t in step.tasks.values() if t.exit), step.srun_lost)
        self._ended[key] = ended
        self._last_sent[key] = time.monotonic()
        log.info("step %d.%d: ended on %s (%s)", msg.job_id, msg.step_id, self.node,
                 ", ".join(f"task {e.task_id}: {e.exit_code}:{e.signal}" for e in exits))
        self._send(ended)

    async def _watch_srun(self, step: ActiveStep, reader: asyncio.StreamReader) -> None:
        """srun's stdin for the tasks; the end of the stream means srun is gone: the step goes too."""
        try:
            while True:
                size = int.from_bytes(await reader.readexactly(4), "big")
                if size > READ_CHUNK * 16:
                    log.warning("step %d.%d: oversize frame from srun", step.msg.job_id, step.msg.step_id)
                    break
                body = msgpack.unpackb(await reader.readexactly(size), raw=False)
                if isinstance(body, dict) and body.get("k") == "in":
                    data = body.get("d")
                    for task in step.tasks.values():
                        self._feed(task, bytes(data) if isinstance(data, bytes) and data else b"")
        except (asyncio.IncompleteReadError, ConnectionError, OSError, ValueError, msgpack.UnpackException):
            pass
        if not step.ended:
            log.info("step %d.%d: srun went away; killing the step", step.msg.job_id, step.msg.step_id)
            step.srun_lost = True
            self._kill(step, "cancelled", 0.0)

    def _feed(self, task: Task, data: bytes) -> None:
        """Pass srun's stdin on to a task (b'' = end of input)."""
        if task.stdin_fd is None:
            return
        if data:
            task.stdin_buffer += data
        else:
            task.stdin_eof = True
        self._flush_stdin(task)

    def _flush_stdin(self, task: Task) -> None:
        fd = task.stdin_fd
        if fd is None:
            return
        while task.stdin_buffer:
            try:
                written = os.write(fd, task.stdin_buffer)
            except BlockingIOError:
                if not task.stdin_waiting:
                    task.stdin_waiting = True
                    self._loop.add_writer(fd, self._flush_stdin, task)
                return
            except OSError:          # the task closed its stdin: what it did not read is dropped
                task.stdin_buffer.clear()
                task.stdin_eof = True
                break
            del task.stdin_buffer[:written]
        if task.stdin_eof:
            self._close_stdin(task)
        elif task.stdin_waiting:
            task.stdin_waiting = False
            self._loop.remove_writer(fd)

    def _close_stdin(self, task: Task) -> None:
        if task.stdin_fd is not None:
            if task.stdin_waiting:
                self._loop.remove_writer(task.stdin_fd)
                task.stdin_waiting = False
            os.close(task.stdin_fd)
            task.stdin_fd = None
        task.stdin_buffer.clear()

    def _signal_tasks(self, step: ActiveStep, sig: int) -> None:
        for task in step.tasks.values():
            if task.pid and task.exit is None:
                signal_group(task.pid, sig)

    def _kill(self, step: ActiveStep, reason: str, kill_wait: float) -> None:
        if step.kill_reason:
            if kill_wait == 0.0:
                self._signal_tasks(step, signals.SIGKILL)
            return
        step.kill_reason = reason
        if kill_wait <= 0:
            self._signal_tasks(step, signals.SIGKILL)
            return
        self._signal_tasks(step, signals.SIGCONT)
        self._signal_tasks(step, signals.SIGTERM)
        step.timers.append(self._loop.call_later(kill_wait, self._signal_tasks, step, signals.SIGKILL))

    def _remember(self, key: StepKey) -> None:
        self._done[key] = None
        while len(self._done) > _REMEMBERED:
            self._done.pop(next(iter(self._done)))


async def _close_writer(writer: asyncio.StreamWriter) -> None:
    try:
        await writer.drain()
        writer.close()
        await writer.wait_closed()
    except (ConnectionError, OSError):
        pass


def _become(uid: int, gid: int):
    """preexec_fn switching a root agent's child to the step's user (None when not needed)."""
    if os.geteuid() != 0 or uid == 0:
        return None
    try:
        groups = os.getgrouplist(pwd.getpwuid(uid).pw_name, gid)
    except KeyError:
        groups = [gid]

    def become_user() -> None:
        os.setgroups(groups)
        os.setgid(gid)
        os.setuid(uid)
    return become_user
