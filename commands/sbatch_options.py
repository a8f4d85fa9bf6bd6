"""sbatch's option table and the conversion of each option's text into JobSpec fields.

The long-option table is in the order Slurm 22.05's sbatch declares it (observed: `sbatch --=x`
lists every option as ambiguous, in table order), because glibc lists ambiguous candidates in
that order. Which options take an argument was observed one by one (`sbatch --opt` and
`sbatch --opt=x`).

Every conversion raises OptionValueError with Slurm's message and exit code: bad values found
while parsing options exit 255 (Slurm's `exit(-1)`); a bad number exits 1.
"""
from __future__ import annotations

from commands.getopt import NO_ARGUMENT as _N, OPTIONAL as _O, REQUIRED as _R, OptionTable
from commands.sbatch_job_options import HANDLERS as JOB_OPTION_HANDLERS

SHORT_OPTIONS = "+a:A:b:B:c:C:d:D:e:F:G:hHi:J:kL:m:M:n:N:o:Op:q:QsS:t:vVw:Wx:"

LONG_OPTIONS = (
    ("account", _R, "A"), ("acctg-freq", _R, "acctg-freq"), ("array", _R, "a"), ("batch", _R, "batch"),
    ("begin", _R, "b"), ("bb", _R, "bb"), ("bbf", _R, "bbf"),
    ("cluster-constraint", _R, "cluster-constraint"), ("chdir", _R, "D"), ("cluster", _R, "M"),
    ("clusters", _R, "M"), ("comment", _R, "comment"), ("container", _R, "container"),
    ("context", _R, "context"), ("contiguous", _N, "contiguous"), ("constraint", _R, "C"),
    ("core-spec", _R, "S"), ("cores-per-socket", _R, "cores-per-socket"), ("cpu-freq", _R, "cpu-freq"),
    ("cpus-per-gpu", _R, "cpus-per-gpu"), ("cpus-per-task", _R, "c"), ("deadline", _R, "deadline"),
    ("delay-boot", _R, "delay-boot"), ("dependency", _R, "d"), ("distribution", _R, "m"),
    ("error", _R, "e"), ("exclude", _R, "x"), ("exclusive", _O, "exclusive"), ("export", _R, "export"),
    ("export-file", _R, "export-file"), ("extra-node-info", _R, "B"), ("get-user-env", _O, "get-user-env"),
    ("gid", _R, "gid"), ("gpu-bind", _R, "gpu-bind"), ("gpu-freq", _R, "gpu-freq"), ("gpus", _R, "G"),
    ("gpus-per-node", _R, "gpus-per-node"), ("gpus-per-socket", _R, "gpus-per-socket"),
    ("gpus-per-task", _R, "gpus-per-task"), ("gres", _R, "gres"), ("gres-flags", _R, "gres-flags"),
    ("help", _N, "h"), ("hint", _R, "hint"), ("hold", _N, "H"), ("ignore-pbs", _N, "ignore-pbs"),
    ("input", _R, "i"), ("job-name", _R, "J"), ("kill-on-invalid-dep", _R, "kill-on-invalid-dep"),
    ("licenses", _R, "L"), ("mail-type", _R, "mail-type"), ("mail-user", _R, "mail-user"),
    ("mcs-label", _R, "mcs-label"), ("mem", _R, "mem"), ("mem-bind", _R, "mem-bind"),
    ("mem-per-cpu", _R, "mem-per-cpu"), ("mem-per-gpu", _R, "mem-per-gpu"), ("mincpus", _R, "mincpus"),
    ("network", _R, "network"), ("nice", _O, "nice"), ("no-kill", _O, "k"), ("no-requeue", _N, "no-requeue"),
    ("nodefile", _R, "F"), ("nodelist", _R, "w"), ("nodes", _R, "N"), ("ntasks", _R, "n"),
    ("ntasks-per-core", _R, "ntasks-per-core"), ("ntasks-per-gpu", _R, "ntasks-per-gpu"),
    ("ntasks-per-node", _R, "ntasks-per-node"), ("ntasks-per-socket", _R, "ntasks-per-socket"),
    ("ntasks-per-tres", _R, "ntasks-per-tres"), ("open-mode", _R, "open-mode"), ("output", _R, "o"),
    ("overcommit", _N, "O"), ("oversubscribe", _N, "s"), ("parsable", _N, "parsable"),
    ("partition", _R, "p"), ("power", _R, "power"), ("prefer", _R, "prefer"), ("priority", _R, "priority"),
    ("profile", _R, "profile"), ("propagate", _O, "propagate"), ("qos", _R, "q"), ("quiet", _N, "Q"),
    ("reboot", _N, "reboot"), ("requeue", _N, "requeue"), ("reservation", _R, "reservation"),
    ("signal", _R, "signal"), ("sockets-per-node", _R, "sockets-per-node"), ("spread-job", _N, "spread-job"),
    ("switches", _R, "switches"), ("tasks-per-node", _R, "ntasks-per-node"), ("test-only", _N, "test-only"),
    ("thread-spec", _R, "thread-spec"), ("threads-per-core", _R, "threads-per-core"), ("time", _R, "t"),
    ("time-min", _R, "time-min"), ("tmp", _R, "tmp"), ("uid", _R, "uid"), ("use-min-nodes", _N, "use-min-nodes"),
    ("verbose", _N, "v"), ("version", _N, "V"), ("usage", _N, "usage"), ("wait", _N, "W"),
    ("wait-all-nodes", _R, "wait-all-nodes"), ("wckey", _R, "wckey"), ("wrap", _R, "wrap"),
)

TABLE = OptionTable(SHORT_OPTIONS, LONG_OPTIONS)

# Options that change what a submission means and that we cannot honour yet: refusing them is
# better than silently running a job other than the one the user asked for.
UNSUPPORTED = {
    "M": "--clusters", "uid": "--uid", "gid": "--gid", "batch": "--batch",
}

# Valid Slurm options accepted and ignored for now (binding, frequencies, power, burst buffers,
# topology hints, ...): a script written for Slurm must still submit.
IGNORED = frozenset({
    "acctg-freq", "bb", "bbf", "cluster-constraint", "container", "context", "contiguous", "S",
    "cores-per-socket", "cpu-freq", "delay-boot", "m", "B", "get-user-env",
    "gpu-bind", "gpu-freq", "gpus-per-socket", "gres-flags", "hint", "ignore-pbs",
    "mcs-label", "mem-bind", "mincpus", "network",
    "k", "F", "ntasks-per-core", "ntasks-per-gpu", "ntasks-per-socket", "ntasks-per-tres", "O", "s",
    "power", "prefer", "profile", "propagate", "reboot",
    "sockets-per-node", "spread-job", "switches", "thread-spec", "threads-per-core", "tmp",
    "use-min-nodes", "v", "wait-all-nodes",
})

# SBATCH_* input variables (sbatch.1 "INPUT ENVIRONMENT VARIABLES") -> option key. There is no
# SBATCH_NODES, SBATCH_NTASKS or SBATCH_CPUS_PER_TASK. Flags map to options without a value.
ENV_OPTIONS = (
    ("SBATCH_ACCOUNT", "A"), ("SBATCH_ARRAY_INX", "a"), ("SBATCH_CONSTRAINT", "C"), ("SBATCH_ERROR", "e"),
    ("SBATCH_EXCLUSIVE", "exclusive"), ("SBATCH_EXPORT", "export"), ("SBATCH_GPUS", "G"),
    ("SBATCH_GPUS_PER_NODE", "gpus-per-node"), ("SBATCH_GRES", "gres"), ("SBATCH_INPUT", "i"),
    ("SBATCH_JOB_NAME", "J"), ("SBATCH_MEM_PER_CPU", "mem-per-cpu"), ("SBATCH_MEM_PER_NODE", "mem"),
    ("SBATCH_NO_REQUEUE", "no-requeue"), ("SBATCH_OPEN_MODE", "open-mode"), ("SBATCH_OUTPUT", "o"),
    ("SBATCH_PARTITION", "p"), ("SBATCH_QOS", "q"), ("SBATCH_REQUEUE", "requeue"),
    ("SBATCH_TIMELIMIT", "t"),
)
ENV_FLAGS = frozenset({"no-requeue", "requeue"})

MEMORY_KEYS = ("mem", "mem-per-cpu")
NICE_LIMIT = 2147483645
INT_MAX = 2147483647


class OptionValueError(Exception):
    """An option value sbatch refuses: `line` is printed after `sbatch: error: ` (or `fatal: `)."""

    def __init__(self, line: str, exit_code: int = 255, *, fatal: bool = False) -> None:
        super().__init__(line)
        self.line = line
        self.exit_code = exit_code
        self.fatal = fatal
        self.preamble = ""   # a line Slurm prints before the error (the time parser's complaint)


def convert(key: str, value: str | None, cwd: str, now: float) -> list[tuple[str, object]]:
    """The (field, value) updates one option makes; raises OptionValueError."""
    simple = _STRING_FIELDS.get(key)
    if simple is not None:
        return [(simple, value)]
    if key in IGNORED:
        return []
    handler = _HANDLERS.get(key)
    if handler is not None:
        return handler(value, cwd, now)
    if key in UNSUPPORTED:
        raise OptionValueError(f"{UNSUPPORTED[key]} is not supported by this scheduler yet", 1)
    raise OptionValueError(f"option {key!r} is not handled", 1)  # a table entry without a handler


_STRING_FIELDS = {
    "J": "name", "p": "partition", "G": "gpus", "gpus-per-node": "gpus_per_node", "o": "stdout",
    "e": "stderr", "i": "stdin", "export": "export", "A": "account", "q": "qos", "comment": "comment",
    "x": "exclude", "C": "constraint", "d": "dependency", "wrap": "wrap", "wckey": "wckey",
    "reservation": "reservation", "mail-user": "mail_user",
    "a": "array",   # checked by the controller, as Slurm's sbatch leaves it to slurmctld
}


def parse_positive(value: str, option: str) -> int:
    """strtol-like (leading blanks, optional sign, decimal digits, nothing after), > 0."""
    text = value.lstrip(" \t\n\v\f\r")
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits or not digits.isascii() or not digits.isdigit() or text[:1] == "-":
        raise OptionValueError(f'Invalid numeric value "{value}" for {option}.', 1)
    number = int(digits)
    if number <= 0 or number > INT_MAX:
        raise OptionValueError(f'Invalid numeric value "{value}" for {option}.', 1)
    return number


def _ntasks(value, cwd, now):
    return [("ntasks", parse_positive(value, "--ntasks")), ("ntasks_set", True)]


def _cpus(value, cwd, now):
    return [("cpus_per_task", parse_positive(value, "--cpus-per-task")), ("cpus_per_task_set", True)]


def _tasks_per_node(value, cwd, now):
    return [("ntasks_per_node", parse_positive(value, "--ntasks-per-node"))]


def _node_count(text: str) -> int:
    # Slurm accepts a k/m multiplier on node counts (`-N 3k` asks for 3072 nodes)
    multiplier = 1
    if text[-1:] in ("k", "K"):
        text, multiplier = text[:-1], 1024
    elif text[-1:] in ("m", "M"):
        text, multiplier = text[:-1], 1024 * 1024
    if not text.isascii() or not text.isdigit():
        raise ValueError(text)
    return int(text) * multiplier


def _nodes(value, cwd, now):
    low_text, dash, high_text = value.partition("-")
    try:
        low = _node_count(low_text) if low_text or not dash else 1
    except ValueError:
        raise OptionValueError(f'"{value}" is not a valid node count') from None
    high = low
    if dash:
        if high_text == "":
            high = -1  # Slurm reads a missing maximum as -1 and reports it so
        else:
            try:
                high = _node_count(high_text)
            except ValueError:
                raise OptionValueError(f'"{high_text}" is not a valid node count') from None
        if high < low:
            raise OptionValueError(f"Maximum node count {high} is less than minimum node count {low}")
    if low > INT_MAX or high > INT_MAX:
        raise OptionValueError(f'"{value}" is not a valid node count')
    return [("min_nodes", low), ("max_nodes", high if dash else 0), ("nodes_set", True)]


# Fast paths for the everyday spellings (`-t 60`, `-t 1-00:00:00`, `--mem=4G`): importing
# conf.timefmt / conf.units pulls in re, datetime and dataclasses, which would double the cost of
# an sbatch call. They only accept what they are sure of and hand anything else to conf; a
# Hypothesis test (tests/commands/test_sbatch_options.py) holds them equal to conf on their domain.
_MEMORY_UNITS_KIB = {"": None, "K": 1, "M": 1024, "G": 1024 ** 2, "T": 1024 ** 3}


def fast_memory_mb(text: str) -> int | None:
    """MiB for `<digits>[KMGT]` (default unit MiB), or None when conf must decide."""
    digits, unit = (text[:-1], text[-1].upper()) if text[-1:].isalpha() else (text, "")
    if unit not in _MEMORY_UNITS_KIB or not digits.isascii() or not digits.isdigit():
        return None
    kib = int(digits) * (_MEMORY_UNITS_KIB[unit] or 1024)
    return -(-kib // 1024)


def fast_minutes(text: str) -> int | None:
    """Minutes for `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S` (seconds rounded up), or
    None when conf must decide (including UNLIMITED, which conf reports as None too)."""
    days_text, dash, clock = text.rpartition("-") if "-" in text else ("", "", text)
    parts = clock.split(":")
    if len(parts) > 3 or not all(p.isascii() and p.isdigit() for p in parts):
        return None
    if dash:
        if not (days_text.isascii() and days_text.isdigit()):
            return None
        hours, minutes, seconds = (int(p) for p in (parts + ["0", "0"])[:3])
        total = ((int(days_text) * 24 + hours) * 60 + minutes) * 60 + seconds
    elif len(parts) == 3:
        total = (int(parts[0]) * 60 + int(parts[1])) * 60 + int(parts[2])
    else:
        total = int(parts[0]) * 60 + (int(parts[1]) if len(parts) == 2 else 0)
    return -(-total // 60)


def _memory(option: str, field: str):
    def handler(value, cwd, now):
        quick = fast_memory_mb(value)
        if quick is not None:
            return [(field, quick)]
        from conf.units import parse_memory_mb  # only paid for unusual spellings
        try:
            return [(field, parse_memory_mb(value))]
        except ValueError:
            raise OptionValueError(f"Invalid --{option} specification") from None
    return handler


def _gres(value, cwd, now):
    from conf.units import parse_gres
    try:
        parse_gres(value)
    except ValueError:
        raise OptionValueError("Invalid generic resource (gres) specification", 1) from None
    return [("gres", value)]


def _time(value, cwd, now):
    quick = fast_minutes(value)
    if quick is not None:
        return [("time_limit_min", quick)]
    from conf.timefmt import parse_minutes
    try:
        minutes = parse_minutes(value)
    except ValueError:
        raise OptionValueError("Invalid --time specification") from None
    return [("time_limit_min", 0 if minutes is None else minutes)]  # UNLIMITED is "no limit" (0)


def _time_min(value, cwd, now):
    quick = fast_minutes(value)
    if quick is None:
        from conf.timefmt import parse_minutes
        try:
            quick = parse_minutes(value) or 0
        except ValueError:
            raise OptionValueError("Invalid --time-min specification") from None
    return [("time_min", quick)]


def _begin(value, cwd, now):
    from commands.sbatch_job_options import time_option
    return time_option("begin", "begin_time")(value, cwd, now)


def _chdir(value, cwd, now):
    return [("work_dir", value if value.startswith("/") else f"{cwd.rstrip('/')}/{value}")]


def _nice(value, cwd, now):
    if value is None:
        return [("nice", 100)]
    text = value.lstrip(" \t\n\v\f\r")
    sign = -1 if text[:1] == "-" else 1
    digits = text[1:] if text[:1] in ("+", "-") else text
    end = 0
    while end < len(digits) and "0" <= digits[end] <= "9":
        end += 1
    number = sign * int(digits[:end]) if end else 0  # strtol: "abc" is 0, as Slurm 22.05 takes it
    if abs(number) > NICE_LIMIT:
        raise OptionValueError(f"Invalid --nice value, out of range (+/- {NICE_LIMIT})")
    return [("nice", number)]


def _exclusive(value, cwd, now):
    if value is not None and value.lower() not in ("user", "mcs"):
        raise OptionValueError("Invalid --exclusive specification")
    return [("exclusive", True)]  # =user/=mcs are approximated by whole-node exclusivity


def _nodelist(value, cwd, now):
    if "/" in value:  # a node list containing '/' names a file of node names (sbatch.1)
        try:
            with open(value if value.startswith("/") else f"{cwd}/{value}") as handle:
                value = ",".join(handle.read().split())
        except (OSError, ValueError):
            raise OptionValueError(f"Unable to open file {value}") from None
    return [("nodelist", value)]


def _open_mode(value, cwd, now):
    mode = value.lower()
    if mode not in ("append", "truncate"):
        raise OptionValueError("Invalid --open-mode specification")
    return [("open_mode", mode)]


def _kill_on_invalid_dep(value, cwd, now):
    answer = value.lower()
    if answer not in ("yes", "no"):
        raise OptionValueError("Invalid --kill-on-invalid-dep specification")
    return [("kill_on_invalid_dep", answer == "yes")]


_HANDLERS = {
    "n": _ntasks, "c": _cpus, "ntasks-per-node": _tasks_per_node, "N": _nodes,
    "mem": _memory("mem", "mem_per_node_mb"), "mem-per-cpu": _memory("mem-per-cpu", "mem_per_cpu_mb"),
    "gres": _gres, "t": _time, "time-min": _time_min, "b": _begin, "D": _chdir, "nice": _nice,
    "exclusive": _exclusive,
    "w": _nodelist, "open-mode": _open_mode, "kill-on-invalid-dep": _kill_on_invalid_dep,
    "H": lambda value, cwd, now: [("hold", True)],
    "requeue": lambda value, cwd, now: [("requeue", True)],
    "no-requeue": lambda value, cwd, now: [("requeue", False)],
    "parsable": lambda value, cwd, now: [("parsable", True)],
    "Q": lambda value, cwd, now: [("quiet", True)],
    "W": lambda value, cwd, now: [("wait", True)],
    # help, usage and version act in the first pass over the command line; elsewhere they are inert
    "h": lambda value, cwd, now: [], "usage": lambda value, cwd, now: [], "V": lambda value, cwd, now: [],
}
_HANDLERS.update(JOB_OPTION_HANDLERS)


def _licenses(value, cwd, now):
    # No licenses are configured here (Licenses= is not read): slurmctld then refuses any -L,
    # as Slurm 22.05 here did for `sbatch -L foo`.
    raise OptionValueError("Batch job submission failed: Invalid license specification", 1)


_HANDLERS["L"] = _licenses


def env_options(env: dict[str, str]) -> list[tuple[str, str | None, str]]:
    """(key, value, variable) for each SBATCH_* input variable that is set."""
    found = []
    for variable, key in ENV_OPTIONS:
        value = env.get(variable)
        if value is None:
            continue
        if key in ENV_FLAGS:
            if not _env_true(value):
                continue
            value = None
        elif key == "exclusive" and value == "":
            value = None
        found.append((key, value, variable))
    return found


def _env_true(value: str) -> bool:
    # Slurm's boolean input variables count as set when empty, "yes" or a non-zero number
    text = value.strip().lower()
    if text in ("", "yes", "y", "true"):
        return True
    try:
        return int(text) != 0
    except ValueError:
        return False
