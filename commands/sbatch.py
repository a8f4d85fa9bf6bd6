"""sbatch: submit a batch script, as Slurm 22.05's sbatch does.

Order of work, as observed on Slurm (it decides which error a user sees first):
1. getopt over the command line, then every command-line value is checked (exit 255 / 1);
   --help/--usage/--version act here.
2. The script: --wrap, a file (`.`/`/` as given, else the cwd, then PATH) or stdin; its checks.
3. `#SBATCH` directives (one getopt pass over all their words), then SBATCH_* variables.
4. Precedence when folding: command line > SBATCH_* > #SBATCH; last value wins within a source.
5. Only then the controller is contacted, so no option or script error ever needs it.

This runs in shell loops: the hot path imports os/sys, our getopt and the msgpack transport only.
Memory and time parsers (conf) load only when such an option is given.
"""
from __future__ import annotations

import os
import sys

from commands.batchscript import SLURM_PREFIX_WARNING, ScriptError, check_script, directive_words, wrap_script
from commands.getopt import GetoptError
from commands.sbatch_options import MEMORY_KEYS, TABLE, OptionValueError, convert, env_options

VERSION = "slurm-wlm 22.05.8"   # as Debian's build of 22.05 (the reference) prints it
PROG = "sbatch"
TRY_HELP = 'Try "sbatch --help" for more information'
CONNECT_RETRY_DELAYS = (0.1, 0.2, 0.4, 0.8)  # seconds; the same idempotency key every time

# Fields of the state that are sbatch's own, not JobSpec's.
_LOCAL_FIELDS = ("parsable", "quiet", "wrap", "wait", "test_only", "export_file_env")


class SbatchExit(Exception):
    """sbatch stops before submitting: `stderr_lines` go to stderr, `stdout` to stdout."""

    def __init__(self, exit_code: int, stderr_lines: tuple[str, ...] | list[str] = (), stdout: str = "") -> None:
        super().__init__("\n".join(stderr_lines) or stdout)
        self.exit_code = exit_code
        self.stderr_lines = tuple(stderr_lines)
        self.stdout = stdout


class Submission:
    """What build_submission decided: the wire spec, how to report, warnings already due."""

    __slots__ = ("spec", "parsable", "quiet", "warnings", "wait", "test_only")

    def __init__(self, spec: dict, parsable: bool, quiet: bool, warnings: list[str], wait: bool = False,
                 test_only: bool = False) -> None:
        self.spec = spec
        self.parsable = parsable
        self.quiet = quiet
        self.warnings = warnings
        self.wait = wait
        self.test_only = test_only


def build_spec(argv: list[str], env: dict[str, str], cwd: str, stdin_text=None, *, now: float | None = None) -> dict:
    """The JobSpec wire dict sbatch would submit for `argv` (no program name). Raises SbatchExit."""
    return build_submission(argv, env, cwd, stdin_text, now=now).spec


def build_submission(argv: list[str], env, cwd: str, stdin_text=None, *, now: float | None = None) -> Submission:
    """All of sbatch but the controller call. `stdin_text` is the script read from stdin, or a
    callable returning it (read only when no script is named), or None for an empty stdin."""
    if now is None:
        import time
        now = time.time()
    try:
        cli_options, operands = TABLE.parse(argv, stop_at_operand=True)
    except GetoptError as error:
        raise SbatchExit(255, (f"{PROG}: {error.text}", TRY_HELP)) from None
    cli = _convert_all(cli_options, cwd, now, first_pass=True)

    wrap = _last(cli, "wrap")
    warnings: list[str] = []
    if wrap is not None:
        if operands:
            raise SbatchExit(_error_exit(env), (f"{PROG}: error: Script arguments not permitted with --wrap option",))
        script, default_name, source, script_args = wrap_script(wrap), "wrap", "", []
        command = ""
    elif operands:
        script, source = _read_script_file(operands[0], cwd, env)
        default_name, script_args = os.path.basename(operands[0]), operands[1:]
        command = " ".join([source if source.startswith("/") else f"{cwd.rstrip('/')}/{source}", *script_args])
    else:
        text = stdin_text() if callable(stdin_text) else stdin_text
        script, default_name, source, script_args = text or "", "sbatch", "stdin", []
        command = ""
    try:
        check_script(script)
        words, slurm_prefix = directive_words(script, source)
    except ScriptError as error:
        kind = "fatal" if error.fatal else "error"
        raise SbatchExit(_error_exit(env), [f"{PROG}: {kind}: {line}" for line in error.lines]) from None
    if slurm_prefix:
        warnings.append(f"{PROG}: error: {SLURM_PREFIX_WARNING}")
    try:
        submission = _after_script(script, words, default_name, script_args, cli, argv, env, cwd, now, warnings)
        if command:   # scontrol's Command=: the script file and its arguments ((null) for stdin, --wrap)
            submission.spec["command"] = command
        return submission
    except SbatchExit as stop:  # the #SLURM warning was printed before any later error
        stop.stderr_lines = (*warnings, *stop.stderr_lines)
        raise


def _after_script(script, words, default_name, script_args, cli, argv, env, cwd, now, warnings) -> Submission:
    try:
        script_options, leftovers = TABLE.parse(words, stop_at_operand=True)
    except GetoptError as error:
        raise SbatchExit(255, (f"{PROG}: {error.text}", TRY_HELP)) from None
    if leftovers:
        raise SbatchExit(255, (f"{PROG}: error: Invalid directive found in batch script: {leftovers[0]}",))
    from_script = _convert_all([o for o in script_options if o[0] not in ("h", "usage", "V")], cwd, now)
    from_env = _convert_all([(key, value) for key, value, _ in env_options(env)], cwd, now)

    state = _fold(from_script, from_env, cli, env)
    _check_combinations(state, env)
    spec = _spec(state, script, default_name, script_args, argv, env, cwd)
    return Submission(spec, bool(state.get("parsable")), bool(state.get("quiet")), warnings,
                      bool(state.get("wait")), bool(state.get("test_only")))


def _check_combinations(state: dict, env) -> None:
    """What sbatch refuses about options together, before contacting the controller."""
    if state.get("gpus_per_task") and not state.get("gpus") and not state.get("ntasks_set"):
        raise SbatchExit(_error_exit(env), (
            f"{PROG}: error: Failed to validate job spec. --gpus-per-task used without either --gpus or "
            "-n/--ntasks is not allowed.",
            f"{PROG}: error: Invalid generic resource (gres) specification"))
    deadline, begin = state.get("deadline") or 0, state.get("begin_time") or 0
    if deadline and begin and deadline < begin:
        raise SbatchExit(_error_exit(env), (f"{PROG}: error: Incompatible begin and deadline time specification",))


WAIT_POLL = 0.5   # seconds between looks at a job `sbatch --wait` follows (Slurm polls every few)


def wait_for(job_id: int) -> int:
    """sbatch -W: block until the job ends; its exit code (1 when a signal killed it or it did
    not complete), as Slurm's sbatch exits."""
    import time
    from sdk.discovery import find_conf
    from sdk.errors import SlurmError
    transport = controller_transport(find_conf())
    while True:
        try:
            jobs = transport.call("jobs", {"job_ids": [job_id], "include_finished": True})["jobs"]
        except SlurmError:
            jobs = []
        # an array id names all of its tasks: wait for every one, exit with the highest code
        if jobs and all(job["state"] not in ("PENDING", "RUNNING", "COMPLETING", "SUSPENDED") for job in jobs):
            return max(_wait_exit_code(job) for job in jobs)
        time.sleep(WAIT_POLL)


def _wait_exit_code(job: dict) -> int:
    if job.get("exit_signal"):
        return 1
    if job["state"] != "COMPLETED" and not job.get("exit_code"):
        return 1
    return int(job.get("exit_code") or 0)


def _convert_all(options, cwd: str, now: float, first_pass: bool = False) -> list[tuple[str, list]]:
    converted = []
    for key, value in options:
        if first_pass:
            if key == "V":
                raise SbatchExit(0, stdout=VERSION + "\n")
            if key in ("h", "usage"):
                from commands import usage_text
                raise SbatchExit(0, stdout=usage_text.SBATCH_HELP if key == "h" else usage_text.SBATCH_USAGE)
            if key == "gres" and (value or "").lower() == "help":   # observed: lists, exits 0
                raise SbatchExit(0, stdout="Valid gres options are:\ngpu[[:type]:count]\n")
        try:
            converted.append((key, convert(key, value, cwd, now)))
        except OptionValueError as error:
            kind = "fatal" if error.fatal else "error"
            lines = (error.preamble,) if error.preamble else ()
            raise SbatchExit(error.exit_code, (*lines, f"{PROG}: {kind}: {error.line}")) from None
    return converted


def _last(converted, key: str):
    value = None
    for option_key, updates in converted:
        if option_key == key:
            value = updates[0][1]
    return value


def _fold(from_script, from_env, from_cli, env) -> dict:
    """Apply script, then environment, then command line; settle --mem vs --mem-per-cpu."""
    env_memory = {key for key, _ in from_env if key in MEMORY_KEYS}
    other_memory = {key for key, _ in (*from_script, *from_cli) if key in MEMORY_KEYS}
    if len(env_memory) > 1:
        raise SbatchExit(_error_exit(env), (f"{PROG}: fatal: SLURM_MEM_PER_CPU, SLURM_MEM_PER_GPU, and "
                                            "SLURM_MEM_PER_NODE are mutually exclusive.",))
    if len(other_memory) > 1:
        raise SbatchExit(_error_exit(env), (f"{PROG}: fatal: --mem, --mem-per-cpu, and --mem-per-gpu "
                                            "are mutually exclusive.",))
    state: dict = {}
    for key, updates in (*from_script, *from_env, *from_cli):
        if key in env_memory and other_memory and key not in other_memory:
            continue  # a memory option from the script or command line displaces the other kind from SBATCH_*
        state.update(updates)
    return state


def _spec(state: dict, script: str, default_name: str, script_args: list[str], argv, env, cwd: str) -> dict:
    spec = {key: value for key, value in state.items() if key not in _LOCAL_FIELDS}
    export = spec.get("export") or "ALL"
    spec.update(
        script=script,
        name=spec.get("name") or default_name,
        argv=list(script_args),
        work_dir=spec.get("work_dir") or cwd,
        submit_dir=cwd,
        submit_host=os.uname().nodename.split(".", 1)[0],
        environment=_job_environment(state, export, env, spec.get("name") or default_name, default_name),
        export=export,
        submit_line=" ".join([PROG, *argv]),
    )
    return spec


def _job_environment(state: dict, export: str, env, name: str, default_name: str) -> dict[str, str]:
    """What the job's environment starts from: the --export selection, or only the variables of
    --export-file when one is given; sbatch adds SLURM_JOB_NAME when the job has a name of its
    own (observed: not for an unnamed script from stdin, nor with --export-file)."""
    file_env = state.get("export_file_env")
    if file_env is not None:
        return dict(file_env)
    environment = export_environment(export, env)
    if state.get("name") or default_name != "sbatch":
        environment["SLURM_JOB_NAME"] = name
    return environment


def export_environment(export: str, env) -> dict[str, str]:
    """The environment the job gets for an --export value: ALL (everything), NONE/NIL (only
    SLURM_*), `ALL,VAR=x,...` (everything plus these), `VAR,VAR2=x` (SLURM_* plus these)."""
    items = [item for item in export.split(",") if item]
    keep_all = not items or items[0].upper() == "ALL"
    if keep_all:
        result = dict(env)
    else:
        result = {key: value for key, value in env.items() if key.startswith("SLURM_")}
    for item in items:
        if item.upper() in ("ALL", "NONE", "NIL"):
            continue
        name, eq, value = item.partition("=")
        if eq:
            result[name] = value
        elif name in env:
            result[name] = env[name]
    return result


def _read_script_file(name: str, cwd: str, env) -> tuple[str, str]:
    """(script text, the name for messages). Lookup: `.` or `/` as given; else cwd, then PATH."""
    candidates = [name if name.startswith("/") else f"{cwd}/{name}"]
    if not name.startswith((".", "/")):
        candidates += [f"{directory or '.'}/{name}" for directory in env.get("PATH", "").split(":")]
    for path in candidates:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except IsADirectoryError:
            data = b""  # Slurm reads a directory as an empty script
        except (OSError, ValueError):  # ValueError: a NUL in the name
            continue
        return data.decode("utf-8", errors="replace"), name
    raise SbatchExit(_error_exit(env), (f"{PROG}: error: Unable to open file {name}",))


def _error_exit(env) -> int:
    """Slurm's exit code for errors: 1, or SLURM_EXIT_ERROR when set."""
    try:
        return int(env.get("SLURM_EXIT_ERROR", "1"))
    except ValueError:
        return 1


def controller_transport(conf_path: str | None):
    """The local transport to the controller of `conf_path`; a slurm.conf that cannot be read
    stops sbatch as Slurm does (22.05 prints the first line, retries for 60 s, then the fatal
    one; we do not make the user wait)."""
    from sdk.discovery import controller_socket
    from sdk.transport import LocalTransport
    try:
        return LocalTransport(controller_socket(conf_path or ""))
    except OSError as error:
        raise SbatchExit(1, [f"{PROG}: error: s_p_parse_file: cannot stat file {conf_path}: "
                             f"{error.strerror or error}",
                             f"{PROG}: fatal: Unable to process configuration file"]) from None


def submit(spec: dict, env) -> int:
    """Send the spec to the controller; returns the job id. Raises SbatchExit on failure."""
    from sdk.discovery import find_conf
    from sdk.errors import ERROR_TEXT, ControllerUnreachable, SlurmError

    key = os.urandom(16).hex()
    conf_path = find_conf()
    failure = SlurmError("CONNECTION")
    if conf_path is not None:
        transport = controller_transport(conf_path)
        for delay in (*CONNECT_RETRY_DELAYS, None):
            try:
                reply = transport.call("submit", {"jobs": [spec], "keys": [key]})
                return int(reply["job_ids"][0])  # type: ignore[index]
            except ControllerUnreachable as error:
                failure = error
                if delay is None:
                    break
                import time
                time.sleep(delay)
            except SlurmError as error:
                failure = error
                break
            except (KeyError, IndexError, TypeError, ValueError):
                failure = SlurmError("PROTOCOL", "malformed reply")
                break
    standard = ERROR_TEXT.get(failure.code)
    detail = getattr(failure, "detail", "")
    if not detail and standard and failure.message != standard and not isinstance(failure, ControllerUnreachable):
        detail = failure.message  # a controller that put its explanation in the message
    lines = [f"{PROG}: error: {detail}"] if detail else []  # slurmctld's explanation line comes first
    lines.append(f"{PROG}: error: Batch job submission failed: {standard or failure.message}")
    raise SbatchExit(_error_exit(env), lines)


def test_only(spec: dict) -> int:
    """sbatch --test-only: the controller's forecast for the job, which is not created."""
    from sdk.discovery import find_conf
    from sdk.errors import SlurmError
    transport = controller_transport(find_conf())
    try:
        reply = transport.call("will_run", {"job": spec})
    except SlurmError as error:
        sys.stderr.write(f"allocation failure: {error.message}\n")
        return 1
    import time
    start = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(reply["start_time"]))
    sys.stderr.write(f"{PROG}: Job {reply['job_id']} to start at {start} using {reply['cpus']} processors "
                     f"on nodes {reply['nodes']} in partition {reply['partition']}\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    env = os.environ
    try:
        submission = build_submission(args, env, os.getcwd(), _read_stdin)
        for line in submission.warnings:
            sys.stderr.write(line + "\n")
        if submission.test_only:
            return test_only(wire_safe(submission.spec))
        job_id = submit(wire_safe(submission.spec), env)
    except SbatchExit as stop:
        if stop.stdout:
            sys.stdout.write(stop.stdout)
        if stop.stderr_lines:
            sys.stderr.write("\n".join(stop.stderr_lines) + "\n")
        return stop.exit_code
    if submission.parsable:
        sys.stdout.write(f"{job_id}\n")
    elif not submission.quiet:
        sys.stdout.write(f"Submitted batch job {job_id}\n")
    if submission.wait:
        sys.stdout.flush()
        return wait_for(job_id)
    return 0


def wire_safe(value):
    """The value with every string made encodable as UTF-8: environment variables, arguments
    and paths may hold undecodable bytes (Python keeps them as surrogates), which msgpack
    refuses. Such bytes become U+FFFD; ASCII strings, nearly all of them, are left alone."""
    if isinstance(value, str):
        if value.isascii():
            return value
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if isinstance(value, dict):
        return {wire_safe(k): wire_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [wire_safe(item) for item in value]
    return value


def _read_stdin() -> str:
    try:
        return sys.stdin.buffer.read().decode("utf-8", errors="replace")
    except (OSError, AttributeError, ValueError):
        return ""


if __name__ == "__main__":
    sys.exit(main())
