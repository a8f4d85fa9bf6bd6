"""salloc: obtain an allocation, run a command in it (default: the user's shell), release it.

    salloc -N2 -n4 -p cpu -t 10 bash -c 'srun hostname'

As Slurm 22.05's salloc (observed): the job is named "interactive" unless -J says otherwise; on
stderr it prints `salloc: Granted job allocation N` (preceded, when it has to wait, by `Pending
job allocation N`, `job N queued and waiting for resources` and `job N has been allocated
resources`) and `salloc: Relinquishing job allocation N` when the command exits; it exits with
the command's exit code, which becomes the job's. The command runs here, with SLURM_JOB_ID and the
allocation's other variables set; `srun` inside it starts steps on the allocated nodes.

The allocation helpers here (options shared with srun, waiting for the grant) serve srun too.
"""
from __future__ import annotations

import os
import signal
import sys
import time

from commands.getopt import NO_ARGUMENT as _N, OPTIONAL as _O, REQUIRED as _R, GetoptError, OptionTable

VERSION = "slurm 22.05.8"

# Options that shape the allocation: (long name, has_arg, key of sbatch_options.convert).
ALLOCATION_LONG = (
    ("account", _R, "A"), ("chdir", _R, "D"), ("comment", _R, "comment"), ("constraint", _R, "C"),
    ("cpus-per-task", _R, "c"), ("exclude", _R, "x"), ("exclusive", _O, "exclusive"),
    ("gpus", _R, "G"), ("gpus-per-node", _R, "gpus-per-node"), ("gres", _R, "gres"),
    ("job-name", _R, "J"), ("mem", _R, "mem"), ("mem-per-cpu", _R, "mem-per-cpu"),
    ("nodelist", _R, "w"), ("nodes", _R, "N"), ("ntasks", _R, "n"), ("ntasks-per-node", _R, "ntasks-per-node"),
    ("partition", _R, "p"), ("qos", _R, "q"), ("time", _R, "t"),
)
ALLOCATION_KEYS = frozenset(key for _, _, key in ALLOCATION_LONG)
# accepted for compatibility, no effect here
IGNORED_LONG = (("cpu-bind", _R, "cpu-bind"), ("mpi", _R, "mpi"), ("mem-bind", _R, "mem-bind"),
                ("distribution", _R, "m"), ("gpu-bind", _R, "gpu-bind"), ("propagate", _O, "propagate"),
                ("hint", _R, "hint"), ("verbose", _N, "v"))

SALLOC_TABLE = OptionTable(
    "+A:c:C:D:G:hHJ:m:n:N:p:q:Qt:vVw:x:",
    sorted(ALLOCATION_LONG + IGNORED_LONG + (("help", _N, "h"), ("usage", _N, "usage"), ("version", _N, "V"),
                                            ("quiet", _N, "Q"), ("hold", _N, "H"), ("no-shell", _N, "no-shell"))))

SALLOC_USAGE = ("Usage: salloc [-N numnodes|[min nodes]-[max nodes]] [-n num-processors]\n"
                "              [-c cpus-per-task] [-p partition] [-t minutes] [-J jobname]\n"
                "              [--mem=MB] [--gpus=n] [executable [args...]]\n")


class CommandExit(Exception):
    """Stop the command: the lines go to stderr."""

    def __init__(self, exit_code: int, lines: tuple[str, ...] | list[str] = (), stdout: str = "") -> None:
        super().__init__("\n".join(lines))
        self.exit_code = exit_code
        self.lines = tuple(lines)
        self.stdout = stdout


def allocation_fields(options: list[tuple[str, str | None]], prog: str, cwd: str) -> dict:
    """JobSpec fields from the allocation options (checked as sbatch checks them)."""
    from commands.sbatch_options import OptionValueError, convert
    now = time.time()
    fields: dict = {}
    for key, value in options:
        if key not in ALLOCATION_KEYS:
            continue
        try:
            for name, converted in convert(key, value, cwd, now):
                fields[name] = converted
        except OptionValueError as error:
            kind = "fatal" if error.fatal else "error"
            lines = [error.preamble] if error.preamble else []
            raise CommandExit(error.exit_code, [*lines, f"{prog}: {kind}: {error.line}"]) from None
    return fields


def job_spec(fields: dict, *, name: str, cwd: str, command: str):
    from sdk.records import JobSpec
    import socket
    known = JobSpec.__dataclass_fields__
    values = {k: v for k, v in fields.items() if k in known}
    values.setdefault("name", name)
    values["work_dir"] = values.get("work_dir") or cwd
    return JobSpec(script="", submit_dir=cwd, submit_host=socket.gethostname(), command=command,
                   environment={}, **{k: v for k, v in values.items() if k not in ("script",)})


def allocate(client, spec, prog: str) -> int:
    from sdk.errors import ERROR_TEXT, SlurmError
    try:
        return client.allocate(spec.to_wire(), owner=prog)
    except SlurmError as error:
        standard = ERROR_TEXT.get(error.code, error.message)
        lines = [f"{prog}: error: {error.detail}"] if error.detail else []
        if error.code == "INVALID_PARTITION_NAME" and spec.partition and not error.detail:
            lines.append(f"{prog}: error: invalid partition specified: {spec.partition}")
        failed = "Job submit/allocate failed" if prog == "salloc" else "Unable to allocate resources"
        raise CommandExit(1, [*lines, f"{prog}: error: {failed}: {standard}"]) from None


def wait_for_grant(client, job_id: int, prog: str, *, quiet: bool = False, stop=lambda: False) -> dict | None:
    """Poll until the allocation runs (its info) or ends first (None), saying what Slurm says."""
    say = (lambda line: None) if quiet else (lambda line: sys.stderr.write(f"{prog}: {line}\n"))
    started = time.monotonic()
    delay, announced = 0.01, False
    while True:
        info = client.allocation(job_id)
        state = info.get("state")
        if state == "RUNNING":
            if announced:
                say(f"job {job_id} has been allocated resources")
            if prog == "salloc":
                say(f"Granted job allocation {job_id}")
            return info
        if state != "PENDING" or stop():
            return None
        waited = time.monotonic() - started
        if not announced and (waited > 1.0 or info.get("reason") not in ("None", "", None)):
            if prog == "salloc":
                say(f"Pending job allocation {job_id}")
            say(f"job {job_id} queued and waiting for resources")
            announced = True
        time.sleep(delay)
        delay = min(0.5, delay * 2)


def exit_status_code(status: int) -> tuple[int, int, int]:
    """(shell exit code, exit code, signal) from a waitpid status."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return 128 + sig, 0, sig
    code = os.WEXITSTATUS(status)
    return code, code, 0


REVOKE_POLL = 0.25     # seconds between looks at the allocation while the command runs


def run_command(client, job_id: int, argv: list[str], env: dict[str, str]) -> tuple[int, int, int, bool]:
    """Run the command here until it exits; (shell exit code, exit code, signal, revoked). When
    the allocation is revoked (scancel, time limit) salloc says so and lets the command go on, as
    Slurm 22.05's does (observed: `salloc -t 1 bash -c 'srun sleep 150; sleep 150'` keeps running
    the second sleep); what it starts with srun from then on is refused."""
    try:
        pid = os.fork()
    except OSError as exc:
        sys.stderr.write(f"salloc: error: fork: {exc.strerror}\n")
        return 1, 1, 0, False
    if pid == 0:     # the child: the command, with the terminal's signals back to normal
        try:
            for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP, signal.SIGTERM):
                signal.signal(sig, signal.SIG_DFL)
            os.execvpe(argv[0], argv, env)
        except OSError as exc:
            sys.stderr.write(f"salloc: error: {argv[0]}: {exc.strerror}\n")
            os._exit(127 if isinstance(exc, FileNotFoundError) else 126)
    forwarded: list[int] = []
    signal.signal(signal.SIGTERM, lambda s, f: forwarded.append(s))
    signal.signal(signal.SIGHUP, lambda s, f: forwarded.append(s))
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP):
        signal.signal(sig, signal.SIG_IGN)    # the shell in the allocation takes these
    next_check = time.monotonic() + REVOKE_POLL
    revoked = False

    def check_revoked() -> bool:
        try:
            state = client.allocation(job_id).get("state")
        except Exception:
            return False        # controller away for a moment: keep going
        if state == "RUNNING":
            return False
        if state == "TIMEOUT":   # observed: salloc -t 1 on Slurm 22.05
            sys.stderr.write(f"salloc: Job {job_id} has exceeded its time limit and its allocation has been revoked.\n")
        else:
            sys.stderr.write(f"salloc: Job allocation {job_id} has been revoked.\n")
        return True

    while True:
        try:
            waited, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return 1, 1, 0, revoked
        if waited:
            return (*exit_status_code(status), revoked or check_revoked())
        while forwarded:
            _kill(pid, forwarded.pop())
        if not revoked and time.monotonic() >= next_check:
            next_check = time.monotonic() + REVOKE_POLL
            revoked = check_revoked()
        time.sleep(0.02)


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        return _main(args)
    except CommandExit as stop:
        if stop.stdout:
            sys.stdout.write(stop.stdout)
        for line in stop.lines:
            sys.stderr.write(line + "\n")
        return stop.exit_code
    except KeyboardInterrupt:
        return 130


def _main(args: list[str]) -> int:
    from sdk.errors import SlurmError
    try:
        options, command = SALLOC_TABLE.parse(args, stop_at_operand=True)
    except GetoptError as error:   # Slurm's salloc names itself as invoked here (observed), exit 255
        prog = sys.argv[0] if sys.argv and sys.argv[0] else "salloc"
        raise CommandExit(255, [f"{prog}: {error.text}", 'Try "salloc --help" for more information']) from None
    keys = {k for k, _ in options}
    if "V" in keys:
        raise CommandExit(0, stdout=VERSION + "\n")
    if "h" in keys or "usage" in keys:
        raise CommandExit(0, stdout=SALLOC_USAGE)
    cwd = os.getcwd()
    fields = allocation_fields(options, "salloc", cwd)
    if "H" in keys:
        fields["hold"] = True
    quiet = "Q" in keys
    no_shell = "no-shell" in keys      # allocate and leave it held (salloc --no-shell: job "no-shell")
    if not command:
        command = [os.environ.get("SHELL") or "/bin/sh"]
    from sdk.steps import StepClient
    try:
        client = StepClient.local()
        spec = job_spec(fields, name="no-shell" if no_shell else "interactive",
                        cwd=fields.get("work_dir") or cwd, command=command[0])
        job_id = allocate(client, spec, "salloc")
    except SlurmError as error:
        raise CommandExit(1, [f"salloc: error: {error.message}"]) from None
    interrupted: list[int] = []
    old = {sig: signal.signal(sig, lambda s, f: interrupted.append(s)) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        info = wait_for_grant(client, job_id, "salloc", quiet=quiet, stop=lambda: bool(interrupted))
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    if info is None:
        sys.stderr.write(f"salloc: Job allocation {job_id} has been revoked.\n")
        _release(client, job_id, 1, 0)
        return 1
    if no_shell:
        return 0
    env = dict(os.environ)
    env.update(info.get("environment") or {})
    shell_code, code, sig, revoked = run_command(client, job_id, command, env)
    if revoked:       # nothing left to relinquish
        return shell_code
    if not quiet:
        sys.stderr.write(f"salloc: Relinquishing job allocation {job_id}\n")
    _release(client, job_id, code, sig)
    return shell_code


def _release(client, job_id: int, code: int, sig: int) -> None:
    from sdk.errors import SlurmError
    try:
        client.release(job_id, exit_code=code, signal=sig)
    except SlurmError as error:
        sys.stderr.write(f"salloc: error: Unable to release allocation {job_id}: {error.message}\n")


if __name__ == "__main__":
    sys.exit(main())
