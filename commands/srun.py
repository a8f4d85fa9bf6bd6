"""srun: run a parallel job step, as Slurm 22.05's srun does.

Inside an allocation (SLURM_JOB_ID set, or --jobid) it creates a step of that job; outside one it
first obtains an allocation (as salloc does, named after the command), runs the step in it and
releases it with the step's exit status. Defaults come from the allocation's environment as in
Slurm (SLURM_NTASKS, SLURM_NNODES, SLURM_CPUS_PER_TASK, SLURM_NTASKS_PER_NODE).

The tasks' stdout/stderr come back here unless -o/-e name files (patterns %j %s %t %n %N %u %x
%%, expanded on each node); lines are kept whole unless --unbuffered; -l prefixes each line with
its task id. srun exits with the highest task exit code, or 128+signal when a task was killed (and
then ends the rest of the step: `srun: Force Terminated StepId=J.S`). SIGTERM ends the step at
once; a first Ctrl-C shows the tasks' states, a second within a second sends them SIGINT.
SIGUSR1/SIGUSR2/SIGHUP/SIGQUIT/SIGCONT/SIGALRM are passed on to the tasks.
"""
from __future__ import annotations

import os
import signal
import sys
import time

from commands.getopt import NO_ARGUMENT as _N, OPTIONAL as _O, REQUIRED as _R, GetoptError, OptionTable
from commands.salloc import (ALLOCATION_LONG, IGNORED_LONG, VERSION, CommandExit, allocate,
                             allocation_fields, job_spec, wait_for_grant)
from commands.sbatch_options import OptionValueError, parse_positive

SRUN_TABLE = OptionTable(
    "+A:c:C:D:e:G:hi:J:Klm:n:N:o:p:q:Qt:uvVw:W:x:",
    sorted(ALLOCATION_LONG + IGNORED_LONG + (
        ("error", _R, "e"), ("export", _R, "export"), ("help", _N, "h"), ("input", _R, "i"),
        ("jobid", _R, "jobid"), ("kill-on-bad-exit", _O, "K"), ("label", _N, "l"), ("output", _R, "o"),
        ("quiet", _N, "Q"), ("unbuffered", _N, "u"), ("usage", _N, "usage"), ("version", _N, "V"),
        ("wait", _R, "W"), ("overlap", _N, "overlap"), ("pty", _N, "pty"))))

SRUN_USAGE = ("Usage: srun [-N nnodes] [-n ntasks] [-c ncpus] [--ntasks-per-node=n] [-o out] [-e err]\n"
              "            [-l] [-u] [-J jobname] [-p partition] [-t minutes] [--jobid=id]\n"
              "            executable [args...]\n")
# signals srun passes on to the step's tasks
FORWARDED = (signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP, signal.SIGQUIT, signal.SIGCONT, signal.SIGALRM)
STATUS_POLL = 2.0       # seconds between looks at the controller's view of the step
ORPHAN_GRACE = 3.0      # seconds to wait for the agents' last words once the controller ended the step


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        return _main(args)
    except CommandExit as stop:
        if stop.stdout:
            sys.stdout.write(stop.stdout)
            sys.stdout.flush()
        for line in stop.lines:
            sys.stderr.write(line + "\n")
        return stop.exit_code


class Options:
    __slots__ = ("ntasks", "nodes", "cpus_per_task", "ntasks_per_node", "stdout", "stderr", "label",
                 "unbuffered", "name", "jobid", "quiet", "kill_on_bad_exit", "wait", "export", "fields",
                 "stdin")

    def __init__(self) -> None:
        self.ntasks = self.nodes = self.cpus_per_task = self.ntasks_per_node = None
        self.stdout = self.stderr = self.name = ""
        self.label = self.unbuffered = self.quiet = self.kill_on_bad_exit = False
        self.jobid: int | None = None
        self.wait: int | None = None
        self.export = "ALL"
        self.fields: dict = {}
        self.stdin = "all"        # srun's stdin goes to every task unless -i says otherwise


def parse_options(args: list[str], env, cwd: str) -> tuple[Options, list[str]]:
    try:
        options, command = SRUN_TABLE.parse(args, stop_at_operand=True)
    except GetoptError as error:
        raise CommandExit(255, [f"{sys.argv[0] if sys.argv and sys.argv[0] else 'srun'}: {error.text}",
                                'Try "srun --help" for more information']) from None
    keys = {k for k, _ in options}
    if "V" in keys:
        raise CommandExit(0, stdout=VERSION + "\n")
    if "h" in keys or "usage" in keys:
        raise CommandExit(0, stdout=SRUN_USAGE)
    opts = Options()
    opts.fields = allocation_fields(options, "srun", cwd)
    try:
        for key, value in options:
            if key == "n":
                opts.ntasks = parse_positive(value, "--ntasks")
            elif key == "N":
                opts.nodes = opts.fields.get("min_nodes")
            elif key == "c":
                opts.cpus_per_task = parse_positive(value, "--cpus-per-task")
            elif key == "ntasks-per-node":
                opts.ntasks_per_node = parse_positive(value, "--ntasks-per-node")
            elif key == "o":
                opts.stdout = "/dev/null" if value == "none" else value
            elif key == "e":
                opts.stderr = "/dev/null" if value == "none" else value
            elif key == "i":
                opts.stdin = "" if value == "none" else value if value.isdigit() else "all"
            elif key == "l":
                opts.label = True
            elif key == "u":
                opts.unbuffered = True
            elif key == "J":
                opts.name = value
            elif key == "Q":
                opts.quiet = True
            elif key == "K":
                opts.kill_on_bad_exit = value != "0"
            elif key == "W":
                opts.wait = int(value) if value.isdigit() else None
            elif key == "export":
                opts.export = value
            elif key == "jobid":
                if not value.isdigit():
                    raise OptionValueError(f'Invalid numeric value "{value}" for --jobid.', 1)
                opts.jobid = int(value)
    except OptionValueError as error:
        raise CommandExit(error.exit_code, [f"srun: error: {error.line}"]) from None
    if not command:
        raise CommandExit(1, ["srun: fatal: No command given to execute."])
    return opts, command


def step_environment(export: str, env) -> dict[str, str]:
    """--export: ALL (default), NONE, or names / NAME=value items (with ALL: added to everything)."""
    items = [i for i in export.split(",") if i]
    keep_all = not items or items[0].upper() == "ALL"
    out = dict(env) if keep_all else {k: v for k, v in env.items() if k.startswith("SLURM_")}
    for item in items:
        if item.upper() in ("ALL", "NONE"):
            continue
        name, eq, value = item.partition("=")
        if eq:
            out[name] = value
        elif name in env:
            out[name] = env[name]
    return out


def _env_int(env, *names: str) -> int | None:
    for name in names:
        value = env.get(name, "")
        head = value.split("(")[0]
        if head.isdigit() and int(head) > 0:
            return int(head)
    return None


def _main(args: list[str]) -> int:
    env = os.environ
    cwd = os.getcwd()
    opts, command = parse_options(args, env, cwd)
    from sdk.errors import SlurmError
    from sdk.steps import StepClient
    try:
        client = StepClient.local()
    except SlurmError as error:
        raise CommandExit(1, [f"srun: error: {error.message}"]) from None
    job_text = str(opts.jobid) if opts.jobid is not None else env.get("SLURM_JOB_ID") or env.get("SLURM_JOBID") or ""
    inside = job_text.isdigit()
    work_dir = opts.fields.get("work_dir") or cwd
    if inside:
        job_id = int(job_text)
        try:
            info = client.allocation(job_id)
        except SlurmError as error:
            raise CommandExit(1, [f"srun: error: Unable to confirm allocation for job {job_id}: {error.message}",
                                  f"srun: Check SLURM_JOB_ID environment variable. Expired or invalid job {job_id}"]) from None
        if info.get("state") != "RUNNING":
            raise CommandExit(1, [f"srun: error: Unable to confirm allocation for job {job_id}: "
                                  "Job/step already completing or completed",
                                  f"srun: Check SLURM_JOB_ID environment variable. Expired or invalid job {job_id}"])
        # the allocation's own sizes are the defaults, as srun reads them from the environment
        ntasks_given = opts.ntasks is not None
        if opts.ntasks is None:
            opts.ntasks = _env_int(env, "SLURM_NTASKS", "SLURM_NPROCS")
        if opts.nodes is None:
            opts.nodes = _env_int(env, "SLURM_NNODES", "SLURM_JOB_NUM_NODES")
        if opts.cpus_per_task is None:
            opts.cpus_per_task = _env_int(env, "SLURM_CPUS_PER_TASK")
        if opts.ntasks_per_node is None and not ntasks_given:
            opts.ntasks_per_node = _env_int(env, "SLURM_NTASKS_PER_NODE")
        return run_step(client, job_id, opts, command, step_environment(opts.export, env), work_dir)
    name = opts.name or os.path.basename(command[0])
    fields = dict(opts.fields)
    if opts.ntasks is not None and opts.nodes and opts.ntasks < opts.nodes:
        sys.stderr.write(f"srun: Warning: can't run {opts.ntasks} processes on {opts.nodes} nodes, "
                         f"setting nnodes to {opts.ntasks}\n")
        opts.nodes = opts.ntasks
        fields.update(min_nodes=opts.ntasks, max_nodes=0)
    if opts.ntasks is None and opts.nodes and opts.ntasks_per_node is None:
        fields.update(ntasks=opts.nodes)     # one task per node by default
    spec = job_spec(fields, name=name, cwd=work_dir, command=command[0])
    job_id = allocate(client, spec, "srun")
    stopped: list[int] = []
    old = {sig: signal.signal(sig, lambda s, f: stopped.append(s)) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        info = wait_for_grant(client, job_id, "srun", quiet=opts.quiet, stop=lambda: bool(stopped))
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    if info is None:
        sys.stderr.write("srun: Job has been cancelled\n" if not stopped else "")
        sys.stderr.write("srun: error: Unable to allocate resources: Job/step already completing or completed\n")
        _release(client, job_id, 1, 0)
        return 1
    step_env = step_environment(opts.export, dict(env, **(info.get("environment") or {})))
    code, exit_code, sig = 1, 1, 0
    try:
        code = run_step(client, job_id, opts, command, step_env, work_dir)
        exit_code, sig = (0, code - 128) if code > 128 else (code, 0)
    finally:
        _release(client, job_id, exit_code, sig)
    return code


def _release(client, job_id: int, code: int, sig: int) -> None:
    from sdk.errors import SlurmError
    try:
        client.release(job_id, exit_code=code, signal=sig)
    except SlurmError:
        pass


# ------------------------------------------------------------------------------------- the step

class OutputSink:
    """Writes the tasks' output to srun's stdout/stderr: whole lines unless unbuffered, labelled
    with the task id under -l (right-aligned to the widest id, as Slurm)."""

    def __init__(self, ntasks: int, label: bool, unbuffered: bool) -> None:
        self.width = len(str(max(0, ntasks - 1)))
        self.label = label
        self.unbuffered = unbuffered
        self.partial: dict[tuple[int, int], bytes] = {}
        self.closed: set[int] = set()       # our stdout/stderr went away (`srun ... | head`)

    def _out(self, fd: int, data: bytes) -> None:
        from sdk.steps import write_all
        if fd in self.closed:
            return
        try:
            write_all(fd, data)
        except BrokenPipeError:
            self.closed.add(fd)      # the tasks go on; what they print has nowhere to go

    def _prefix(self, task: int) -> bytes:
        return f"{task:>{self.width}}: ".encode() if self.label else b""

    def write(self, task: int, fd: int, data: bytes) -> None:
        if self.unbuffered and not self.label:
            self._out(fd, data)
            return
        data = self.partial.pop((task, fd), b"") + data
        lines = data.split(b"\n")
        rest = lines.pop()
        out = b"".join(self._prefix(task) + line + b"\n" for line in lines)
        if rest:
            if self.unbuffered:     # -u -l: each piece is labelled and ends its line
                out += self._prefix(task) + rest + b"\n"
            else:
                self.partial[(task, fd)] = rest
        if out:
            self._out(fd, out)

    def flush(self, task: int | None = None) -> None:
        for key in [k for k in self.partial if task is None or k[0] == task]:
            rest = self.partial.pop(key)
            self._out(key[1], self._prefix(key[0]) + rest)


def task_ranges(tasks: list[int]) -> str:
    tasks = sorted(tasks)
    parts, i = [], 0
    while i < len(tasks):
        j = i
        while j + 1 < len(tasks) and tasks[j + 1] == tasks[j] + 1:
            j += 1
        parts.append(str(tasks[i]) if i == j else f"{tasks[i]}-{tasks[j]}")
        i = j + 1
    return ",".join(parts)


def exit_lines(exits: list) -> list[str]:
    """srun's report of tasks that failed, grouped by node and status."""
    groups: dict[tuple[str, int, int], list[int]] = {}
    for ended in exits:
        if ended.exit_code or ended.signal:
            groups.setdefault((ended.node, ended.exit_code, ended.signal), []).append(ended.task)
    lines = []
    for (node, code, sig), tasks in sorted(groups.items(), key=lambda item: min(item[1])):
        which = f"task {tasks[0]}" if len(tasks) == 1 else f"tasks {task_ranges(tasks)}"
        if sig:
            try:
                what = signal.strsignal(sig) or f"Signal {sig}"
            except ValueError:
                what = f"Signal {sig}"
        else:
            what = f"Exited with exit code {code}"
        lines.append(f"srun: error: {node}: {which}: {what}")
    return lines


def step_exit_code(exits: list) -> int:
    signals = [e.signal for e in exits if e.signal]
    if signals:
        return 128 + max(signals)
    return max((e.exit_code for e in exits), default=0)


def run_step(client, job_id: int, opts: Options, command: list[str], env: dict[str, str], work_dir: str) -> int:
    from sdk.errors import SlurmError
    from sdk.steps import Output, StepCancelled, StepIO, StepRequest, TaskExited
    read_fd, write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    caught: list[int] = []

    def on_signal(signum, frame) -> None:
        caught.append(signum)

    handled = (signal.SIGINT, signal.SIGTERM, *FORWARDED)
    previous = {sig: signal.signal(sig, on_signal) for sig in handled}
    old_wakeup = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    try:
        with StepIO() as io:
            io.watch_fd(read_fd, "signal")
            request = StepRequest(argv=list(command), ntasks=opts.ntasks, nodes=opts.nodes,
                                  cpus_per_task=opts.cpus_per_task, ntasks_per_node=opts.ntasks_per_node,
                                  name=opts.name, stdout=opts.stdout, stderr=opts.stderr, stdin=opts.stdin,
                                  work_dir=work_dir, environment=env)
            try:
                grant = client.create_step(job_id, request, io)
            except SlurmError as error:
                if error.code == "TOO_MANY_REQUESTED_CPUS" and "Unable to create step" not in error.message:
                    raise CommandExit(1, [f"srun: error: Unable to create step for job {job_id}: {error.message}"]) from None
                raise CommandExit(1, [f"srun: error: {error.message}"]) from None
            for warning in grant.warnings:
                sys.stderr.write(f"srun: Warning: {warning}\n")
            return _follow(client, io, grant, opts, caught, read_fd, Output, TaskExited, StepCancelled)
    finally:
        signal.set_wakeup_fd(old_wakeup)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        os.close(read_fd)
        os.close(write_fd)


def _follow(client, io, grant, opts: Options, caught: list[int], read_fd: int, Output, TaskExited,
            StepCancelled) -> int:
    from sdk.errors import SlurmError
    step_name = f"StepId={grant.job_id}.{grant.step_id}"
    sink = OutputSink(grant.ntasks, opts.label, opts.unbuffered)
    exits: dict[int, object] = {}
    cancelled = False
    aborting = False          # the user pressed Ctrl-C twice: the tasks' SIGINT deaths are expected
    aborted_said = False      # "Job step aborted: ..." printed
    last_interrupt = 0.0
    kill_at: float | None = None
    next_poll = time.monotonic() + STATUS_POLL
    orphaned_at: float | None = None
    stdin_state = "waiting" if opts.stdin and _readable_stdin() else "done"   # fed once all nodes are here

    def cancel() -> None:
        nonlocal cancelled
        if not cancelled:
            cancelled = True
            try:
                client.cancel_step(grant.job_id, grant.step_id)
            except SlurmError:
                pass

    while len(exits) < grant.ntasks:
        events = io.poll(0.0 if stdin_state == "file" else 0.25)
        if any(isinstance(e, TaskExited) for e in events):
            # tasks of a node that end together are reported together ("tasks 0-1: Killed")
            settle = time.monotonic() + 0.2
            while len(io.exited) < grant.ntasks and time.monotonic() < settle:
                more = io.poll(0.03)
                if not more:
                    break
                events += more
        ended_now = []
        for event in events:
            if isinstance(event, Output):
                sink.write(event.task, event.fd, event.data)
            elif isinstance(event, StepCancelled):
                if not aborted_said and not aborting:
                    aborted_said = True
                    sys.stderr.write(f"srun: Job step aborted: Waiting up to {int(event.kill_wait) + 2} "
                                     "seconds for job step to finish.\n")
                if event.note:
                    sys.stderr.write(event.note + "\n")
                cancelled = True      # ended from outside: its tasks' deaths are no surprise
            elif isinstance(event, TaskExited):
                if event.task not in exits:
                    exits[event.task] = event
                    ended_now.append(event)
                    sink.flush(event.task)
        if ended_now:
            shown = [e for e in ended_now if not (aborting and e.signal == signal.SIGINT)]
            for line in exit_lines(shown):
                sys.stderr.write(line + "\n")
            sys.stderr.flush()
            if any(e.signal for e in ended_now) and not cancelled and not aborting:
                cancel()     # a task killed by a signal takes the step down (as Slurm's srun)
                sys.stderr.write(f"srun: Force Terminated {step_name}\n")
            elif opts.kill_on_bad_exit and any(e.exit_code for e in ended_now):
                cancel()
            elif opts.wait is not None and kill_at is None and len(exits) < grant.ntasks:
                kill_at = time.monotonic() + opts.wait
        if stdin_state == "waiting" and io.nodes_seen >= set(grant.nodes):
            try:
                io.watch_fd(0, "stdin")
                stdin_state = "open"
            except OSError:           # a regular file (or /dev/null): always readable, no polling
                stdin_state = "file"
        if ("stdin" in events and stdin_state == "open") or stdin_state == "file":
            for _ in range(16 if stdin_state == "file" else 1):
                try:
                    data = os.read(0, 65536)
                except BlockingIOError:
                    break
                except OSError:
                    data = b""
                io.send_input(data)
                if not data:
                    if stdin_state == "open":
                        io.unwatch_fd(0)
                    stdin_state = "done"
                    break
        if "signal" in events:
            try:
                while os.read(read_fd, 512):
                    pass
            except BlockingIOError:
                pass
        while caught:
            signum = caught.pop(0)
            if signum == signal.SIGINT:
                now = time.monotonic()
                if now - last_interrupt > 1.0:
                    last_interrupt = now
                    running = [t for tasks in grant.tasks for t in tasks if t not in exits]
                    sys.stderr.write("srun: interrupt (one more within 1 sec to abort)\n")
                    if running:
                        sys.stderr.write(f"srun: {step_name} tasks {task_ranges(running)}: running\n")
                    done = sorted(exits)
                    if done:
                        sys.stderr.write(f"srun: {step_name} tasks {task_ranges(done)}: exited\n")
                    continue
                sys.stderr.write(f"srun: sending Ctrl-C to {step_name}\n")
                if not aborting:
                    sys.stderr.write("srun: forcing job termination\n")
                    sys.stderr.write(f"srun: Job step aborted: Waiting up to {_kill_wait(client) + 2} "
                                     "seconds for job step to finish.\n")
                aborting = True
                try:
                    client.signal_step(grant.job_id, grant.step_id, signal.SIGINT)
                except SlurmError:
                    pass
                kill_at = time.monotonic() + 2.0
            elif signum == signal.SIGTERM:
                if not cancelled and not aborting:
                    sys.stderr.write("srun: forcing job termination\n")
                    sys.stderr.write(f"srun: Job step aborted: Waiting up to {_kill_wait(client) + 2} "
                                     "seconds for job step to finish.\n")
                    aborted_said = True
                cancel()
            else:
                try:
                    client.signal_step(grant.job_id, grant.step_id, signum)
                except SlurmError:
                    pass
        now = time.monotonic()
        if kill_at is not None and now >= kill_at and not cancelled:
            if not aborting:
                sys.stderr.write(f"srun: error: First task exited {opts.wait}s ago\n")
                sys.stderr.write("srun: forcing job termination\n")
            cancel()
        if now >= next_poll:
            next_poll = now + STATUS_POLL
            try:
                status = client.step_status(grant.job_id, grant.step_id)
            except SlurmError as error:
                status = {"state": "CANCELLED" if error.code == "INVALID_JOB_ID" else "RUNNING"}
            if status.get("state") != "RUNNING" and orphaned_at is None:
                orphaned_at = now     # the controller ended the step (job cancelled, node lost)
        if (orphaned_at is None and io.open_connections() == 0 and io.nodes_seen >= set(grant.nodes)
                and len(exits) < grant.ntasks):
            orphaned_at = now         # every node hung up without all exits (an agent stopped)
        if orphaned_at is not None and now - orphaned_at > ORPHAN_GRACE:
            missing = [t for tasks in grant.tasks for t in tasks if t not in exits]
            lost = [TaskExited(t, grant.node_of(t), 0, signal.SIGKILL) for t in missing]
            for event in lost:
                exits[event.task] = event
            for line in exit_lines(lost):
                sys.stderr.write(line + "\n")
            break
    sink.flush()
    _await_record(client, grant)
    return step_exit_code(list(exits.values()))


def _await_record(client, grant, timeout: float = 3.0) -> None:
    """The agents tell srun first and the controller next: give the controller a moment to record
    the step's end before the allocation may be released (which would cancel a step still open)."""
    from sdk.errors import SlurmError
    deadline = time.monotonic() + timeout
    delay = 0.005
    while time.monotonic() < deadline:
        try:
            if client.step_status(grant.job_id, grant.step_id).get("state") != "RUNNING":
                return
        except SlurmError:
            return
        time.sleep(delay)
        delay = min(0.1, delay * 2)


def _readable_stdin() -> bool:
    try:
        os.fstat(0)
        return True
    except OSError:
        return False


def _kill_wait(client) -> int:
    try:
        return int(client.config().get("KillWait") or 30)
    except Exception:
        return 30


if __name__ == "__main__":
    sys.exit(main())
