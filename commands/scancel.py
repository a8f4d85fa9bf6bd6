"""scancel: cancel or signal jobs, as Slurm 22.05's scancel does (observed on /usr/bin/scancel).

- Silent on success. An unknown or finished job with the default signal (SIGKILL) is not an
  error: silent and exit 0, or printed with -v. Any other failure is printed (unless -Q) and
  makes the exit code 1.
- A malformed id stops everything before any job is touched: `Invalid job id abc`, exit 1.
- Ids and filters combine with AND; filters alone act on every matching job.
- getopt permutes (`scancel 12 -v` works), and its errors exit 1, unlike sbatch's 255.

Array tasks (`12_3`, `12_[1-3,7]`, `12_*`) go to the controller with their indices (a bracket
list is checked here first, with Slurm's hostlist-range messages). Step ids (`12.0`) parse; the
controller has no cancellable steps yet, so they fail as Slurm fails for a job that has none.
"""
from __future__ import annotations

import os
import sys

from commands.getopt import NO_ARGUMENT as _N, REQUIRED as _R, GetoptError, OptionTable

PROG = "scancel"
VERSION = "slurm-wlm 22.05.8"   # as Debian's build of 22.05 (the reference) prints it
TRY_HELP = 'Try "scancel --help" for more information'
CONNECT_RETRY_DELAYS = (0.1, 0.2, 0.4, 0.8)
SIGKILL = 9

TABLE = OptionTable("A:bfHiM:n:p:Qq:R:s:t:u:vVw:", (
    ("account", _R, "A"), ("batch", _N, "b"), ("ctld", _N, "ctld"), ("full", _N, "f"), ("help", _N, "help"),
    ("hurry", _N, "H"), ("interactive", _N, "i"), ("cluster", _R, "M"), ("clusters", _R, "M"),
    ("jobname", _R, "n"), ("me", _N, "me"), ("name", _R, "n"), ("nodelist", _R, "w"), ("partition", _R, "p"),
    ("qos", _R, "q"), ("quiet", _N, "Q"), ("reservation", _R, "R"), ("sibling", _R, "sibling"),
    ("signal", _R, "s"), ("state", _R, "t"), ("usage", _N, "usage"), ("user", _R, "u"), ("verbose", _N, "v"),
    ("version", _N, "V"), ("wckey", _R, "wckey"),
))

# Filters the controller cannot apply yet: ignoring one would cancel more than was asked.
UNSUPPORTED = {"A": "--account", "q": "--qos", "R": "--reservation", "wckey": "--wckey",
               "i": "--interactive", "M": "--clusters", "sibling": "--sibling"}
ENV_OPTIONS = (("SCANCEL_ACCOUNT", "A"), ("SCANCEL_NAME", "n"), ("SCANCEL_PARTITION", "p"),
               ("SCANCEL_QOS", "q"), ("SCANCEL_STATE", "t"), ("SCANCEL_USER", "u"), ("SCANCEL_WCKEY", "wckey"))
ENV_FLAGS = (("SCANCEL_BATCH", "b"), ("SCANCEL_FULL", "f"), ("SCANCEL_INTERACTIVE", "i"),
             ("SCANCEL_VERBOSE", "v"), ("SCANCEL_QUIET", "Q"))

SIGNALS = {
    "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "BUS": 7, "FPE": 8, "KILL": 9,
    "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15, "STKFLT": 16, "CHLD": 17,
    "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25,
    "VTALRM": 26, "PROF": 27, "WINCH": 28, "IO": 29, "PWR": 30, "SYS": 31,
}
JOB_STATES = {
    "PENDING": "PENDING", "PD": "PENDING", "RUNNING": "RUNNING", "R": "RUNNING",
    "SUSPENDED": "SUSPENDED", "S": "SUSPENDED", "COMPLETING": "COMPLETING", "CG": "COMPLETING",
    "COMPLETED": "COMPLETED", "CD": "COMPLETED", "CANCELLED": "CANCELLED", "CA": "CANCELLED",
    "FAILED": "FAILED", "F": "FAILED", "TIMEOUT": "TIMEOUT", "TO": "TIMEOUT",
    "NODE_FAIL": "NODE_FAIL", "NF": "NODE_FAIL", "PREEMPTED": "PREEMPTED", "PR": "PREEMPTED",
    "BOOT_FAIL": "BOOT_FAIL", "BF": "BOOT_FAIL", "DEADLINE": "DEADLINE", "DL": "DEADLINE",
    "OUT_OF_MEMORY": "OUT_OF_MEMORY", "OOM": "OUT_OF_MEMORY",
}
_IGNORED_FOR_KILL = ("INVALID_JOB_ID", "ALREADY_DONE")
# scancel exits with the last error's errno (truncated to 8 bits); observed: access denied (2002)
# exits 210 and a signal to a pending job (2020) 228; an unknown job id exits 1
EXIT_CODES = {"ACCESS_DENIED": 2002 & 0xFF, "TRANSITION_STATE_NO_UPDATE": 2020 & 0xFF}
_SHOWN_WHEN_QUIET = ("ACCESS_DENIED",)   # observed: -Q does not hide a permission error


class ScancelExit(Exception):
    def __init__(self, exit_code: int, lines: tuple[str, ...] = (), stdout: str = "") -> None:
        super().__init__("\n".join(lines) or stdout)
        self.exit_code, self.lines, self.stdout = exit_code, lines, stdout


class Request:
    """A parsed scancel command line."""

    __slots__ = ("tokens", "signal", "batch_only", "full", "user", "user_label", "name", "partition", "state",
                 "nodes", "verbose", "quiet")

    def __init__(self) -> None:
        self.tokens: list[tuple[str, int, str]] = []  # (text as given, job id, kind: job|array|step)
        self.signal: int | None = None
        self.batch_only = False
        self.full = False          # -f: the batch shell and every step, not the steps only
        self.user: str | None = None
        self.user_label: str | None = None  # how -v's "no match" line shows the user
        self.name = self.partition = self.state = self.nodes = None
        self.verbose = self.quiet = False

    def has_filters(self) -> bool:
        return any(v is not None for v in (self.user, self.name, self.partition, self.state, self.nodes))

    def wire_args(self, job_ids: list[int]) -> dict:
        return {"job_ids": job_ids, "signal": self.signal, "batch_only": self.batch_only, "full": self.full,
                "user": self.user,
                "name": self.name, "partition": self.partition,
                "states": [self.state] if self.state else None, "nodes": self.nodes}

    def filter_text(self) -> str:
        parts = [("job_name", self.name), ("nodelist", self.nodes), ("partition", self.partition),
                 ("state", self.state), ("user_name", self.user_label)]
        return "".join(f"{key}={value} " for key, value in parts if value is not None)


def parse_args(argv: list[str], env) -> Request:
    """Parse scancel's command line (no program name). Raises ScancelExit."""
    try:
        options, operands = TABLE.parse(argv, stop_at_operand="POSIXLY_CORRECT" in env)
    except GetoptError as error:
        raise ScancelExit(1, (f"{PROG}: {error.text}", TRY_HELP)) from None
    from_env = [(key, value) for variable, key in ENV_OPTIONS if (value := env.get(variable)) is not None]
    from_env += [(key, None) for variable, key in ENV_FLAGS if env.get(variable) not in (None, "", "0", "no")]
    request = Request()
    for key, value in (*from_env, *options):
        _apply(request, key, value)
    for operand in operands:
        for text in _split_ids(operand):
            request.tokens.append(parse_job_token(text))
    if not request.tokens and not request.has_filters():
        raise ScancelExit(1, (f"{PROG}: error: No job identification provided",))
    return request


def _apply(request: Request, key: str, value: str | None) -> None:
    if key == "V":
        raise ScancelExit(0, stdout=VERSION + "\n")
    if key in ("help", "usage"):
        from commands import usage_text
        raise ScancelExit(0, stdout=usage_text.SCANCEL_HELP if key == "help" else usage_text.SCANCEL_USAGE)
    if key in UNSUPPORTED:
        raise ScancelExit(1, (f"{PROG}: error: {UNSUPPORTED[key]} is not supported by this scheduler yet",))
    if key == "s":
        request.signal = parse_signal(value or "")
    elif key == "b":
        request.batch_only = True
    elif key == "f":
        request.full = True
    elif key == "u":
        request.user = request.user_label = _check_user(value or "")
    elif key == "me":
        import pwd
        uid = os.getuid()
        try:
            request.user = pwd.getpwuid(uid).pw_name
        except KeyError:
            request.user = str(uid)
        request.user_label = str(uid)
    elif key == "n":
        request.name = value
    elif key == "p":
        request.partition = value
    elif key == "t":
        request.state = parse_state(value or "")
    elif key == "w":
        request.nodes = value
    elif key == "v":
        request.verbose = True
    elif key == "Q":
        request.quiet = True
    # -H/--hurry and --ctld change nothing the controller does today


def parse_signal(text: str) -> int:
    name = text.strip().upper()
    if name.isascii() and name.isdigit() and int(name) > 0:
        return int(name)
    number = SIGNALS.get(name[3:] if name.startswith("SIG") else name)
    if number is None:
        raise ScancelExit(1, (f"Unknown job signal: {text}",))
    return number


def parse_state(text: str) -> str:
    state = JOB_STATES.get(text.upper())
    if state is None:
        raise ScancelExit(1, (f"Invalid job state specified: {text}",
                              "Valid job states are PENDING, RUNNING, and SUSPENDED"))
    return state


def _check_user(name: str) -> str:
    import pwd
    try:
        return pwd.getpwnam(name).pw_name
    except KeyError:
        pass
    if name.isascii() and name.isdigit():
        try:
            return pwd.getpwuid(int(name)).pw_name
        except (KeyError, OverflowError):
            pass
    raise ScancelExit(1, (f"{PROG}: error: Invalid user name: {name}",))


def parse_job_token(text: str) -> tuple[str, int, str]:
    """(text, job id, 'job' | 'array' | 'step') for `N`, `N_T`, `N_[a-b]`, `N.S` (strtol-like:
    leading blanks allowed). Raises ScancelExit for anything else, as Slurm does."""
    body = text.lstrip(" \t\n\v\f\r")
    end = 0
    while end < len(body) and "0" <= body[end] <= "9":
        end += 1
    rest = body[end:]
    job_id = int(body[:end]) if end else 0
    kind = "job"
    if rest.startswith("_"):
        task = rest[1:]
        kind = "job" if task == "*" else "array"    # N_* is the whole array
        if task.startswith("[") and task.endswith("]") and len(task) >= 2 and job_id > 0:
            array_tasks(text)       # observed: a bad range is reported before the id
        elif not (_digits(task) or task == "*"):
            job_id = 0
    elif rest.startswith("."):
        if not _digits(rest[1:]):
            job_id = 0
        kind = "step"
    elif rest:
        job_id = 0
    if job_id <= 0 or job_id >= 0xFFFFFFFF:
        if job_id == 0xFFFFFFFF and kind == "job":  # Slurm's NO_VAL: accepted, matches nothing
            return text, job_id, "array"
        raise ScancelExit(1, (f"{PROG}: error: Invalid job id {text}",))
    return text, job_id, kind


def _split_ids(operand: str) -> list[str]:
    """Comma-separated ids; commas inside `[...]` belong to an array's index list."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(operand):
        depth += (ch == "[") - (ch == "]" and depth > 0)
        if ch == "," and depth == 0:
            parts.append(operand[start:i])
            start = i + 1
    parts.append(operand[start:])
    return parts


def array_tasks(text: str) -> list[int]:
    """The indices an `N_T` / `N_[a-b,c]` token names (ScancelExit with Slurm's lines)."""
    task = text.lstrip(" \t\n\v\f\r").partition("_")[2]
    if _digits(task):
        return [int(task)]
    from conf.arrays import ArrayError, parse_task_ranges
    try:
        return parse_task_ranges(task[1:-1])
    except ArrayError as error:
        raise ScancelExit(1, (f"{PROG}: error: {error.message}", f"{PROG}: error: Invalid job id {text}")) from None


def _digits(text: str) -> bool:
    return bool(text) and text.isascii() and text.isdigit()


def cancel(request: Request) -> tuple[int, list[str], list[str]]:
    """Send the request; returns (exit code, stdout lines, stderr lines)."""
    from sdk.errors import ERROR_TEXT, SlurmError

    err: list[str] = []
    killing = request.signal in (None, SIGKILL)
    if request.verbose:
        for text, _, kind in request.tokens:
            if kind != "step":
                err.append(f"{PROG}: {_action(request, killing)} {text}")
    job_ids = [job_id for _, job_id, kind in request.tokens if kind == "job"]
    task_requests = [{"job_id": job_id, "tasks": array_tasks(text), "token": text}
                     for text, job_id, kind in request.tokens if kind == "array" and "_" in text]
    results: list[dict] = []
    if job_ids or task_requests or not request.tokens:
        try:
            args = request.wire_args(job_ids)
            if task_requests:
                args["array_tasks"] = task_requests
            reply = _call(args)
            results = list(reply["results"])  # type: ignore[index]
        except SlurmError as error:
            if not request.tokens:
                return 1, [], [*err, f"{PROG}: error: slurm_load_jobs error: {error.message}"]
            text = ERROR_TEXT.get(error.code, error.message)
            results = [{"job_id": job_id, "code": error.code, "message": text} for job_id in job_ids]
            results += [dict(r, code=error.code, message=text) for r in task_requests]
        except (KeyError, TypeError):
            return 1, [], [*err, f"{PROG}: error: Unexpected message received"]
    exit_code = 0
    if not request.tokens:  # filters only: the controller says which jobs it acted on
        if request.verbose:
            if not results:
                err.append(f"{PROG}: error: No active jobs match ALL job filters, including: {request.filter_text()}")
            for result in results:
                err.append(f"{PROG}: {_action(request, killing)} {result.get('job_id')}")
    by_id = {int(r.get("job_id", 0)): r for r in results if isinstance(r, dict) and "token" not in r}
    by_token = {r["token"]: r for r in results if isinstance(r, dict) and "token" in r}
    labels = [(text, job_id, kind) for text, job_id, kind in request.tokens] if request.tokens else \
        [(str(job_id), job_id, "job") for job_id in by_id]
    for text, job_id, kind in labels:
        if kind in ("job", "array") and (kind == "job" or text in by_token):
            result = by_id.get(job_id, {}) if kind == "job" else by_token[text]
            code = str(result.get("code") or "")
            message = str(result.get("message") or ERROR_TEXT.get(code, code))
        else:
            code, message = "INVALID_JOB_ID", ERROR_TEXT["INVALID_JOB_ID"]
        if not code:
            continue
        what = "job step id" if kind == "step" else "job id"
        line = f"{PROG}: error: Kill job error on {what} {text}: {message}"
        if killing and code in _IGNORED_FOR_KILL and kind != "step":
            if request.verbose:
                err.append(line)
            continue
        exit_code = EXIT_CODES.get(code, 1)
        if not request.quiet or code in _SHOWN_WHEN_QUIET:
            err.append(line)
    return exit_code, [], err


def _action(request: Request, killing: bool) -> str:
    target = "batch job" if request.batch_only else "job"
    return f"Terminating {target}" if killing else f"Signal {request.signal} to {target}"


def _call(args: dict) -> object:
    from sdk.discovery import controller_socket, find_conf
    from sdk.errors import ControllerUnreachable
    from sdk.transport import LocalTransport

    conf_path = find_conf()
    if conf_path is None:
        raise ControllerUnreachable("CONNECTION")
    transport = LocalTransport(controller_socket(conf_path))
    for delay in CONNECT_RETRY_DELAYS:
        try:
            return transport.call("cancel", args)
        except ControllerUnreachable:  # cancelling twice is harmless, so plain retries are safe
            import time
            time.sleep(delay)
    return transport.call("cancel", args)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        request = parse_args(args, os.environ)
    except ScancelExit as stop:
        if stop.stdout:
            sys.stdout.write(stop.stdout)
        if stop.lines:
            sys.stderr.write("\n".join(stop.lines) + "\n")
        return stop.exit_code
    exit_code, out, err = cancel(request)
    if out:
        sys.stdout.write("\n".join(out) + "\n")
    if err:
        sys.stderr.write("\n".join(err) + "\n")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
