"""squeue: list the controller's jobs as Slurm 22.05 prints them.

Hot path (users run it in loops): only os/sys/time, msgpack via sdk.transport, and our own lean
modules. Rows are formatted straight from the wire maps, without building records.
Pure parts: `parse_options(argv) -> Options`, `select_jobs(jobs, opts)`, `format_jobs(jobs, opts,
now)`; `main()` only fetches and prints.
"""
from __future__ import annotations

import os
import sys
import time

from commands import fieldfmt
from commands.formats import (ACTIVE_JOB_STATES, JOB_STATE_COMPACT, REASON_STATES, VALID_JOB_STATES,
                              duration_compact, mem_units, parse_job_states, run_seconds, timestamp)
from commands.formats import array_task_text as _task_text
from commands.formats import gres_colon as _gres_colon
from commands.formats import job_id_text as _job_id   # named in the generated row code
from commands.optscan import ScanError, scan

PROG = "squeue"
VERSION = "slurm-wlm 22.05.8"   # as Debian's build of 22.05 (the reference) prints it
DEFAULT_FORMAT = "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R"
LONG_FORMAT = "%.18i %.9P %.8j %.8u %.8T %.10M %.9l %.6D %R"
DEFAULT_SORT = "P,t,-p"
START_FORMAT = "%.18i %.9P %.8j %.8u %.2t %.19S %.6D %20Y %R"
START_SORT = "S"

TITLES = {
    "i": "JOBID", "A": "JOBID", "j": "NAME", "u": "USER", "U": "UID", "P": "PARTITION",
    "t": "ST", "T": "STATE", "M": "TIME", "l": "TIME_LIMIT", "L": "TIME_LEFT", "D": "NODES",
    "C": "CPUS", "R": "NODELIST(REASON)", "r": "REASON", "N": "NODELIST", "S": "START_TIME",
    "e": "END_TIME", "V": "SUBMIT_TIME", "Q": "PRIORITY", "p": "PRIORITY", "b": "TRES_PER_NODE",
    "m": "MIN_MEMORY", "E": "DEPENDENCY", "Z": "WORK_DIR", "o": "COMMAND", "k": "COMMENT",
    "a": "ACCOUNT", "q": "QOS", "y": "NICE", "F": "ARRAY_JOB_ID", "K": "ARRAY_TASK_ID",
    "Y": "SCHEDNODES", "g": "GROUP", "G": "GROUP", "n": "REQ_NODES", "x": "EXC_NODES",
    "c": "MIN_CPUS", "h": "OVER_SUBSCRIBE", "f": "FEATURES", "B": "EXEC_HOST", "v": "RESERVATION",
}
NOCUT = frozenset("MlL")          # time fields are never cut when right-justified
NOCUT_HEADER = frozenset("RN")

# -O/--Format names (case-insensitive) -> the % code they show
FORMAT2 = {
    "jobid": "i", "jobarrayid": "i", "arrayjobid": "F", "arraytaskid": "K", "name": "j",
    "username": "u", "userid": "U", "account": "a", "partition": "P", "qos": "q", "state": "T",
    "statecompact": "t", "reason": "r", "reasonlist": "R", "timeused": "M", "timelimit": "l",
    "timeleft": "L", "starttime": "S", "submittime": "V", "endtime": "e", "numnodes": "D",
    "numcpus": "C", "minmemory": "m", "dependency": "E", "prioritylong": "Q", "priority": "p",
    "tres-per-node": "b", "workdir": "Z", "command": "o", "comment": "k", "nodelist": "N",
    "nice": "y", "schednodes": "Y", "groupname": "g", "features": "f", "batchhost": "B",
    "reqnodes": "n", "excnodes": "x", "groupid": "G", "mincpus": "c", "oversubscribe": "h",
}


def _limit(j):
    lim = j.get("time_limit_min")
    return "UNLIMITED" if lim is None else duration_compact(lim * 60)


def _left(j, now):
    lim = j.get("time_limit_min")
    if lim is None:
        return "UNLIMITED"
    return duration_compact(max(0, lim * 60 - run_seconds(j, now)))


def _reason_list(j):
    if j.get("state", "") in REASON_STATES:
        return "(" + (j.get("reason") or "None") + ")"
    return j.get("nodes") or ""


def _end(j):
    if j.get("end_time"):
        return timestamp(j["end_time"])
    return "NONE" if j.get("state") in ("RUNNING", "SUSPENDED", "COMPLETING") else "N/A"


def _mem(j):
    mem = j.get("mem_per_node_mb")
    if mem is None:
        mem = j.get("mem_per_cpu_mb")
    return mem_units(mem) if mem else "0"


def _na(value):
    return str(value) if value else "N/A"


def _null(value):
    return str(value) if value else "(null)"


# code -> Python expression over the wire map `j` and `now`. Rows are compiled into one function
# per format (see compile_row), which keeps 1,000 rows to a few milliseconds.
CELL_EXPR = {
    "i": "_job_id(j)",
    "A": "str(j['job_id'])",
    "F": "str(j.get('array_job_id') or j['job_id'])",
    "K": "_task_text(j)",
    "j": "j.get('name', '')",
    "u": "j.get('user', '')",
    "U": "str(j.get('uid', ''))",
    "g": "j.get('group', '')",
    "G": "str(j.get('gid', ''))",
    "P": "j.get('partition', '')",
    "t": "_compact.get(j.get('state', ''), j.get('state', ''))",
    "T": "j.get('state', '')",
    "M": "duration_compact(run_seconds(j, now))",
    "l": "_limit(j)",
    "L": "_left(j, now)",
    "D": "str(j.get('num_nodes', 1))",
    "C": "str(j.get('num_cpus', 1))",
    "c": "str(j.get('cpus_per_task', 1))",
    "R": "_reason_list(j)",
    "r": "j.get('reason') or 'None'",
    "N": "j.get('nodes', '')",
    "B": "_na(j.get('batch_host'))",
    "S": "timestamp(j.get('start_time'), 'N/A')",
    "e": "_end(j)",
    "V": "timestamp(j.get('submit_time'), 'N/A')",
    "Q": "str(j.get('priority', 0))",
    "p": "f\"{j.get('priority', 0) / 4294967296:.14f}\"",
    "b": "_na(_gres_colon(j.get('tres_per_node')))",
    "m": "_mem(j)",
    "E": "_null(j.get('dependency'))",
    "Z": "j.get('work_dir', '')",
    "o": "_null(j.get('command'))",
    "k": "_null(j.get('comment'))",
    "a": "_null(j.get('account'))",
    "q": "j.get('qos', '')",
    "y": "str(j.get('nice', 0))",
    "Y": "j.get('sched_nodes') or '(null)'",
    "n": "j.get('req_nodes', '')",
    "x": "j.get('exc_nodes', '')",
    "f": "_null(j.get('features'))",
    "h": "'NO' if j.get('exclusive') else 'OK'",
    "v": "'(null)'",
}
_ROW_GLOBALS = {
    "_job_id": _job_id, "_task_text": _task_text, "_compact": JOB_STATE_COMPACT, "duration_compact": duration_compact,
    "run_seconds": run_seconds, "_limit": _limit, "_left": _left, "_reason_list": _reason_list,
    "_na": _na, "_null": _null, "timestamp": timestamp, "_end": _end, "_mem": _mem,
    "_gres_colon": _gres_colon,
}


_HELPER_FIELDS = {
    "_job_id": ("job_id", "array_job_id", "array_task_id", "array_task_str", "array_max_tasks"),
    "_task_text": ("array_task_id", "array_task_str", "array_max_tasks"),
    "run_seconds": ("start_time", "end_time", "suspend_time", "state"),
    "_limit": ("time_limit_min",), "_left": ("time_limit_min", "start_time", "end_time",
                                             "suspend_time", "state"),
    "_reason_list": ("state", "reason", "nodes"), "_end": ("end_time", "state"),
    "_mem": ("mem_per_node_mb", "mem_per_cpu_mb"), "_limit_key": ("time_limit_min",),
}
# what the filters and the default sort always read
_BASE_FIELDS = ("job_id", "state", "uid", "partition", "name", "account", "qos", "nodes",
                "priority", "array_job_id", "array_task_id", "array_task_str", "array_max_tasks")


def wanted_fields(exprs) -> list[str]:
    """Wire keys the given cell/sort expressions read: sent to the controller as a projection
    hint, so that it can leave out the rest (less to pack, send and unpack)."""
    found = set(_BASE_FIELDS)
    for expr in exprs:
        for chunk in expr.split("'")[1::2]:
            if chunk.isidentifier():
                found.add(chunk)
        for helper, fields in _HELPER_FIELDS.items():
            if helper in expr:
                found.update(fields)
    return sorted(found)


def compile_row(items: list):
    """One function (job, now) -> line for a parsed format: a single %-template applied to a
    tuple of cell expressions. Only our own CELL_EXPR texts go into the generated source; the
    user's literal text goes into the template with `%` doubled."""
    template = []
    exprs = []
    for item in items:
        if type(item) is str:
            template.append(item.replace("%", "%%"))
            continue
        code, width, right = item
        exprs.append(CELL_EXPR[code])
        if width <= 0:
            template.append("%s")
        elif right and code in NOCUT:
            template.append("%%%ds" % width)
        else:
            template.append("%%%s%d.%ds" % ("" if right else "-", width, width))
    source = "lambda j, now: (" + "".join(e + ", " for e in exprs) + ")"
    cells = eval(source, dict(_ROW_GLOBALS))
    text = "".join(template)
    return lambda j, now: text % cells(j, now)


# sort letter -> (expression, numeric?) over the wire map `j` and `now`
SORT_EXPR = {
    "i": ("(j.get('array_job_id') or j['job_id'])", True),
    "A": ("j['job_id']", True),
    "P": ("j.get('partition', '')", False),
    "t": ("_compact.get(j.get('state', ''), '')", False),
    "T": ("j.get('state', '')", False),
    "p": ("j.get('priority', 0)", True),
    "Q": ("j.get('priority', 0)", True),
    "j": ("j.get('name', '')", False),
    "u": ("j.get('user', '')", False),
    "U": ("j.get('uid', 0)", True),
    "M": ("run_seconds(j, now)", True),
    "l": ("_limit_key(j)", True),
    "S": ("(j.get('start_time') or _NEVER)", True),   # unknown (0) starts sort last
    "V": ("j.get('submit_time', 0)", True),
    "e": ("j.get('end_time', 0)", True),
    "D": ("j.get('num_nodes', 1)", True),
    "C": ("j.get('num_cpus', 1)", True),
    "N": ("j.get('nodes', '')", False),
    "r": ("j.get('reason', '')", False),
    "a": ("j.get('account', '')", False),
    "q": ("j.get('qos', '')", False),
    "y": ("j.get('nice', 0)", True),
}


_NEVER = float("inf")


def _limit_key(j):
    lim = j.get("time_limit_min")
    return float("inf") if lim is None else lim


class UsageError(Exception):
    """A bad argument: `lines` go to stderr as given, then exit with `code`."""

    def __init__(self, lines: list[str], code: int = 1) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines
        self.code = code


class Options:
    __slots__ = ("fmt", "iterate", "long", "noheader", "job_ids", "users", "bad_users", "partitions",
                 "states", "names", "nodes", "accounts", "qos", "sort", "version", "help",
                 "start", "json", "array", "job_tasks", "format_errors", "steps", "step_fmt")

    def __init__(self) -> None:
        self.fmt = None
        self.long = False
        self.noheader = False
        self.job_ids = None          # list[int] or None
        self.users = None            # set of uids or None
        self.bad_users = []
        self.partitions = None
        self.states = []             # [] = default filter, None = all, else long names
        self.names = None
        self.nodes = None            # set of node names or None
        self.accounts = None
        self.qos = None
        self.sort = None
        self.version = False
        self.help = False
        self.start = False           # --start: expected start times of pending jobs
        self.json = False
        self.array = False           # -r/--array: one line per pending array index
        self.job_tasks = {}          # -j 12_3: array id -> the indices asked for (12 alone: all)
        self.format_errors = []      # -O names that are no field (reported, the rest still shown)
        self.steps = False           # -s: job steps instead of jobs (True, or the step ids asked for)
        self.step_fmt = None         # -o/-O as given (steps have their own default format)
        self.iterate = 0             # -i N: print again every N seconds (0 = once)


SHORT = "A:ahj::lM:n:o:O:p:q:R:rs::S:t:u:vVw:i:L:"
LONGS = {
    "account": ("A", 1), "accounts": ("A", 1), "all": ("a", 0), "array": ("r", 0),
    "Format": ("O", 1), "format": ("o", 1), "federation": ("federation", 0), "help": ("help", 0),
    "hide": ("hide", 0), "json": ("json", 0), "iterate": ("i", 1), "jobs": ("j", 2),
    "local": ("local", 0),
    "long": ("l", 0), "licenses": ("L", 1), "cluster": ("M", 1), "clusters": ("M", 1),
    "me": ("me", 0), "name": ("n", 1), "noconvert": ("noconvert", 0), "node": ("w", 1),
    "nodes": ("w", 1), "nodelist": ("w", 1), "noheader": ("h", 0), "partition": ("p", 1),
    "partitions": ("p", 1), "priority": ("P", 0), "qos": ("q", 1), "reservation": ("R", 1),
    "sibling": ("sibling", 0), "sort": ("S", 1), "start": ("start", 0), "steps": ("s", 2),
    "states": ("t", 1), "state": ("t", 1), "usage": ("usage", 0), "user": ("u", 1),
    "users": ("u", 1), "verbose": ("v", 0), "version": ("V", 0),
}


def _parse_job_ids(text: str, tasks: dict | None = None) -> list[int]:
    """The job ids of a -j list; `12_3` also records index 3 of array 12 in `tasks` (observed:
    the index reads like strtol, so `12_x` and `12_[1-3]` ask for index 0)."""
    ids = []
    for item in text.replace(" ", ",").split(","):
        if not item:
            continue
        head, underscore, index = item.partition("_")
        base = head.split("+", 1)[0]
        if not base.isdigit() or int(base) == 0:
            raise UsageError([f"{PROG}: error: Invalid job id: {item}"])
        ids.append(int(base))
        if tasks is not None:
            digits = len(index) - len(index.lstrip("0123456789"))
            wanted = tasks.setdefault(int(base), set())
            if underscore and wanted is not None:
                wanted.add(int(index[:digits]) if digits else 0)
            else:
                tasks[int(base)] = None   # the whole job or array
    return ids


def _resolve_users(text: str, opts: Options) -> None:
    import pwd
    uids = opts.users if opts.users is not None else set()
    for name in text.split(","):
        if not name:
            continue
        try:
            uids.add(pwd.getpwnam(name).pw_uid)
        except KeyError:
            if name.isdigit():
                uids.add(int(name))
            else:
                opts.bad_users.append(name)
    opts.users = uids


def parse_options(argv: list[str], env: dict | None = None) -> Options:
    env = os.environ if env is None else env
    try:
        pairs, operands = scan(argv, SHORT, LONGS)
    except ScanError as exc:
        raise UsageError([f"{PROG}: {exc.text}", f'Try "{PROG} --help" for more information'])
    opts = Options()
    want_job_operands = False
    for key, value in pairs:
        if key == "h":
            opts.noheader = True
        elif key == "l":
            opts.long = True
        elif key == "o":
            opts.fmt = value
        elif key == "O":
            opts.fmt, opts.format_errors = _format2(value)
        elif key == "s":
            opts.steps = value.split(",") if value else True
        elif key == "j":
            if value is None:
                want_job_operands = True
            else:
                opts.job_ids = (opts.job_ids or []) + _parse_job_ids(value, opts.job_tasks)
        elif key == "u":
            _resolve_users(value, opts)
        elif key == "me":
            opts.users = (opts.users or set()) | {os.geteuid()}
        elif key == "p":
            opts.partitions = set(filter(None, value.split(",")))
        elif key == "t":
            try:
                opts.states = parse_job_states(value)
            except ValueError as bad:
                raise UsageError([f"{PROG}: error: Invalid job state specified: {bad}",
                                  f"{PROG}: error: Valid job states include: {VALID_JOB_STATES}\n"])
        elif key == "n":
            opts.names = set(filter(None, value.split(",")))
        elif key == "w":
            from conf.hostlist import expand_hostlist
            opts.nodes = set(expand_hostlist(value))
        elif key == "A":
            opts.accounts = set(filter(None, value.lower().split(",")))
        elif key == "q":
            opts.qos = set(filter(None, value.lower().split(",")))
        elif key == "S":
            opts.sort = value
        elif key == "V":
            opts.version = True
        elif key in ("help", "usage"):
            opts.help = True
        elif key == "start":
            opts.start = True
        elif key == "json":
            opts.json = True
        elif key == "r":
            opts.array = True
        elif key == "i":
            # observed: `squeue -i 0` / `-i x` -> "squeue: error: --iterate=0", a blank line, exit 1
            if not (value or "").isdigit() or int(value) <= 0:
                raise UsageError([f"{PROG}: error: --iterate={value}", ""])
            opts.iterate = int(value)
        # the rest (-a, -v, --local, -M ...) change nothing on a single cluster
    if operands:
        if not want_job_operands:
            raise UsageError([f"{PROG}: error: Unrecognized option: {operands[0]}",
                              f"Usage: {PROG} [-A account] [--clusters names] [-i seconds] [--job jobid]"])
        opts.job_ids = (opts.job_ids or []) + _parse_job_ids(",".join(operands), opts.job_tasks)
    if opts.start:
        # --start: pending jobs only (unless -t says otherwise), soonest expected start first
        if opts.states == []:
            opts.states = ["PENDING"]
        if opts.fmt is None and not opts.long:
            opts.fmt = START_FORMAT
        if opts.sort is None:
            opts.sort = START_SORT
    opts.step_fmt = opts.fmt
    if opts.fmt is None:
        opts.fmt = LONG_FORMAT if opts.long else (env.get("SQUEUE_FORMAT") or DEFAULT_FORMAT)
    if opts.sort is None:
        opts.sort = env.get("SQUEUE_SORT") or DEFAULT_SORT
    return opts


def _format2(value: str) -> tuple[str, list[str]]:
    """-O fields as a %-format (default width 20, `:.N` right-justified) and the unknown names."""
    parts = []
    bad = []
    for spec in value.split(","):
        name, _, size = spec.partition(":")
        code = FORMAT2.get(name.strip().lower())
        if code is None:
            bad.append(f"{PROG}: error: Invalid job format specification: {name}")
            continue
        dot = "." if size.startswith(".") else ""
        width = size.lstrip(".") or "20"
        parts.append(f"%{dot}{width}{code}")
    return "".join(parts), bad


def select_jobs(jobs: list[dict], opts: Options) -> list[dict]:
    """Apply squeue's filters; without -t only active jobs are shown (even with -j)."""
    states = opts.states
    active = ACTIVE_JOB_STATES if states == [] else (None if states is None else set(states))
    if opts.users is not None and not opts.users:
        return []   # every -u name was invalid
    out = []
    for j in jobs:
        if active is not None and j.get("state") not in active:
            continue
        if opts.users is not None and j.get("uid") not in opts.users:
            continue
        if opts.partitions is not None and opts.partitions.isdisjoint(
                j.get("partition", "").split(",")):
            continue
        if opts.names is not None and j.get("name") not in opts.names:
            continue
        if opts.accounts is not None and j.get("account", "").lower() not in opts.accounts:
            continue
        if opts.qos is not None and j.get("qos", "").lower() not in opts.qos:
            continue
        if opts.nodes is not None and not _on_nodes(j, opts.nodes):
            continue
        out.append(j)
    return out


def array_rows(jobs: list[dict], opts: Options) -> list[dict]:
    """Array records as squeue shows them: `-j 12_3` keeps index 3 of array 12 (a pending
    record narrowed to the indices asked for: `12_3`, or `12_[3-4]` for several), and -r gives
    each pending index a line of its own (`12_5`, %A still the record's id)."""
    if not opts.array and not any(v is not None for v in opts.job_tasks.values()):
        return jobs
    from conf.arrays import format_indices, parse_indices
    out = []
    for j in jobs:
        wanted = opts.job_tasks.get(j.get("array_job_id") or 0)
        if wanted is not None and j["job_id"] in opts.job_tasks and opts.job_tasks[j["job_id"]] is None:
            wanted = None                # also named by its own id
        pending = j.get("array_task_str") if j.get("array_task_id") is None and j.get("array_job_id") else ""
        if wanted is not None:
            if not pending:
                if j.get("array_task_id") in wanted:
                    out.append(j)
                continue
            indices = [t for t in parse_indices(pending) if t in wanted]
            if not indices:
                continue
            if len(indices) == 1 or opts.array:
                out.extend(dict(j, array_task_id=t) for t in indices)
            else:
                out.append(dict(j, array_task_str=format_indices(indices), array_max_tasks=0))
        elif pending and opts.array:
            out.extend(dict(j, array_task_id=t) for t in parse_indices(pending))
        else:
            out.append(j)
    return out


def _on_nodes(job: dict, wanted: set) -> bool:
    if not job.get("nodes"):
        return False
    from conf.hostlist import expand_hostlist
    return not wanted.isdisjoint(expand_hostlist(job["nodes"]))


def sort_jobs(jobs: list[dict], spec: str, now: int) -> list[dict]:
    """squeue -S: comma-separated letters, `-` for descending. Stable, so ties keep the order
    the controller sent. Runs of keys become one compiled tuple key (numeric descending keys
    are negated); a descending text key needs a pass of its own."""
    keys = []
    for part in spec.split(","):
        part = part.strip()
        entry = SORT_EXPR.get(part.lstrip("+-")[:1])
        if entry is not None:
            keys.append((entry[0], entry[1], part.startswith("-")))
    passes = []          # (key expressions, reverse), applied last-first
    current: list[str] = []
    for expr, numeric, descending in keys:
        if descending and not numeric:
            if current:
                passes.append((current, False))
                current = []
            passes.append(([expr], True))
        else:
            current.append(f"-{expr}" if descending else expr)
    if current:
        passes.append((current, False))
    out = list(jobs)
    scope = dict(_ROW_GLOBALS, _limit_key=_limit_key, _NEVER=_NEVER, now=now)
    for exprs, reverse in reversed(passes):
        key = eval("lambda j: (" + "".join(e + ", " for e in exprs) + ")", scope)
        out.sort(key=key, reverse=reverse)
    return out


STEP_FORMAT = "%.15i %.8j %.9P %.8u %.9M %N"
STEP_TITLES = {"i": "STEPID", "j": "NAME", "P": "PARTITION", "u": "USER", "U": "UID", "M": "TIME",
               "N": "NODELIST", "l": "TIME_LIMIT", "A": "JOBID"}


def step_rows(jobs: list[dict], opts: Options, now: int) -> list[dict]:
    """squeue -s: the running steps of the selected jobs (a batch job's `batch` step runs on
    its batch host for as long as the job), by partition then step id as Slurm sorts them."""
    wanted = opts.steps if isinstance(opts.steps, list) else None
    out = []
    for j in select_jobs(jobs, opts):
        if j.get("state") not in ("RUNNING", "SUSPENDED"):
            continue
        step_id = f"{_job_id(j)}.batch"
        if wanted is not None and step_id not in wanted:
            continue
        host = j.get("batch_host") or (j.get("nodes") or "").split(",")[0]
        out.append({"i": step_id, "j": "batch", "P": j.get("partition", ""), "u": j.get("user", ""),
                    "U": str(j.get("uid", "")), "M": duration_compact(run_seconds(j, now)), "N": host,
                    "l": _limit(j), "A": str(j["job_id"]), "_key": (j.get("partition", ""), j["job_id"])})
    out.sort(key=lambda row: row["_key"])
    return out


def format_steps(jobs: list[dict], opts: Options, now: int) -> tuple[str, list[str]]:
    fmt = opts.step_fmt or STEP_FORMAT
    items, unknown = fieldfmt.parse(fmt, STEP_TITLES)
    errors = [f"{PROG}: error: Invalid job format specification: {c}" for c in unknown]
    lines = [] if opts.noheader else [fieldfmt.header(items, STEP_TITLES, NOCUT_HEADER)]
    lines.extend(fieldfmt.render(items, row, NOCUT) for row in step_rows(jobs, opts, now))
    return ("\n".join(lines) + "\n") if lines else "", errors


def format_jobs(jobs: list[dict], opts: Options, now: int) -> tuple[str, list[str]]:
    """Filtered, sorted and formatted jobs; returns (stdout text, stderr lines)."""
    if opts.steps:
        return format_steps(jobs, opts, now)
    items, unknown = fieldfmt.parse(opts.fmt, CELL_EXPR)
    errors = opts.format_errors + [f"{PROG}: error: Invalid job format specification: {c}" for c in unknown]
    lines = []
    if opts.long and opts.fmt == LONG_FORMAT:
        lines.append(time.ctime(now))
    if not opts.noheader:
        lines.append(fieldfmt.header(items, TITLES, NOCUT_HEADER))
    selected = sort_jobs(select_jobs(array_rows(jobs, opts), opts), opts.sort, now)
    row = compile_row(items)
    lines.extend([row(j, now) for j in selected])
    return ("\n".join(lines) + "\n") if lines else "", errors


def _transport():
    from sdk.discovery import controller_socket, find_conf
    from sdk.errors import ControllerUnreachable
    from sdk.transport import LocalTransport
    conf = find_conf()
    if not conf:
        raise ControllerUnreachable("CONNECTION")
    try:
        return LocalTransport(controller_socket(conf))
    except OSError:
        raise ControllerUnreachable("CONNECTION") from None


def _print_json() -> int:
    """--json: every job the controller holds, finished ones included; like Slurm 22.05, the
    filter and format options are ignored."""
    from commands import jsonview
    from sdk.errors import SlurmError
    try:
        jobs = _transport().call("jobs", {"include_finished": True})["jobs"]
    except SlurmError as exc:
        sys.stderr.write(f"slurm_load_jobs error: {exc.message}\n")
        return 1
    sys.stdout.write(jsonview.dumps(jsonview.jobs_document(jobs, jsonview.cluster_name())))
    return 0


def _fetch(opts: Options):
    from sdk.discovery import controller_socket, find_conf
    from sdk.errors import ControllerUnreachable
    from sdk.transport import LocalTransport
    conf = find_conf()
    if not conf:
        raise ControllerUnreachable("CONNECTION")
    try:
        sock = controller_socket(conf)
    except OSError:
        raise ControllerUnreachable("CONNECTION") from None
    items, _ = fieldfmt.parse(opts.fmt, CELL_EXPR)
    exprs = [CELL_EXPR[it[0]] for it in items if type(it) is not str]
    exprs += [SORT_EXPR[k][0] for k in (p.strip().lstrip("+-")[:1] for p in opts.sort.split(","))
              if k in SORT_EXPR]
    fields = wanted_fields(exprs)
    if opts.steps:
        fields = sorted(set(fields) | {"batch_host", "user", "uid", "start_time", "end_time", "time_limit_min"})
    args: dict = {"include_finished": opts.states != [], "fields": fields}
    if opts.job_ids is not None:
        args["job_ids"] = opts.job_ids
    args["encoding"] = "marshal"
    reply = LocalTransport(sock).call("jobs", args, lean_reply=True)
    if "marshal" in reply:        # the fast path (see slurmctld_py.daemon): a trusted local reply
        import marshal
        reply = marshal.loads(reply["marshal"])
    if "jobs_columns" in reply:   # the controller honoured the projection: columns + rows
        table = reply["jobs_columns"]
        columns = table["columns"]
        return [dict(zip(columns, row)) for row in table["rows"]]
    return reply["jobs"]


USAGE = """\
Usage: squeue [-A account] [--clusters names] [-i seconds] [--job jobid]
              [-n name] [-o format] [-p partitions] [--qos qos]
              [--reservation reservation] [--sort fields] [--start]
              [--step step_id] [-t states] [-u user_name] [--usage]
              [-L licenses] [-w nodes] [--federation] [--local]
              [--sibling] [--me] [-ahjlrsv]
"""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        opts = parse_options(argv)
    except UsageError as exc:
        sys.stderr.write("\n".join(exc.lines) + "\n")
        return exc.code
    if opts.version:
        sys.stdout.write(VERSION + "\n")
        return 0
    if opts.help:
        sys.stdout.write(USAGE)
        return 0
    if opts.json:
        return _print_json()
    for name in opts.bad_users:
        sys.stderr.write(f"{PROG}: error: Invalid user: {name}\n\n")
    from sdk.errors import SlurmError
    try:
        jobs = _fetch(opts)
    except SlurmError as exc:
        if exc.code == "INVALID_JOB_ID" and opts.job_ids is not None and len(opts.job_ids) > 1:
            jobs = []   # Slurm looks several ids up in the full list: unknown ones just don't show
        else:
            sys.stderr.write(f"slurm_load_jobs error: {exc.message}\n")
            return 1
    text, errors = format_jobs(jobs, opts, int(time.time()))
    if errors:
        sys.stderr.write("\n".join(errors) + "\n")
    from commands.output import write_stdout
    if not opts.iterate:
        write_stdout(text)
        return 0
    return _iterate(opts, text)


def _iterate(opts: Options, first: str) -> int:
    """-i N: as Slurm, each round is the time (with the header), the queue and a blank line."""
    from commands.output import write_stdout
    from sdk.errors import SlurmError
    text = first
    try:
        while True:
            stamp = "" if opts.noheader else time.strftime("%a %b %d %H:%M:%S %Y") + "\n"
            write_stdout(stamp + text + "\n")
            time.sleep(opts.iterate)
            try:
                text = format_jobs(_fetch(opts), opts, int(time.time()))[0]
            except SlurmError as exc:
                text = f"slurm_load_jobs error: {exc.message}\n"
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
