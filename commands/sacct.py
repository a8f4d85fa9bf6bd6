"""sacct: accounting records as Slurm 22.05 prints them.

Fixed-width columns each followed by one space (so lines end in a space), positive widths
right-justify and negative ones left-justify, a value too long is cut with its last visible
character replaced by `+` (headers are cut without it), a dash line under the header;
`-p`/`-P` print `|`-separated values (with/without a trailing `|`). Pure parts:
`parse_options(argv, now)`, `rows_for(records, opts, now)`, `format_sacct(records, opts, now)`.
"""
from __future__ import annotations

import os
import sys
import time

from commands.formats import (JOB_STATE_COMPACT, JOB_STATE_LONG, cpu_time, duration_padded,
                              job_id_text, limit_padded, mem_units, rss_kb, timestamp, tracked_tres)
from commands.optscan import ScanError, scan
from commands.printfields import cell, title

PROG = "sacct"
VERSION = "slurm-wlm 22.05.8"   # as Debian's build of 22.05 (the reference) prints it
DEFAULT_FIELDS = "jobid,jobname,partition,account,alloccpus,state,exitcode"
BRIEF_FIELDS = "jobid,state,exitcode"
LONG_FIELDS = ("jobid,jobidraw,jobname,partition,maxvmsize,maxvmsizenode,maxvmsizetask,avevmsize,"
               "maxrss,maxrssnode,maxrsstask,averss,maxpages,maxpagesnode,maxpagestask,avepages,"
               "mincpu,mincpunode,mincputask,avecpu,ntasks,alloccpus,elapsed,state,exitcode")
_RUNNING = frozenset(("RUNNING", "COMPLETING", "SUSPENDED", "CONFIGURING", "SIGNALING"))


def _job_elapsed(j, now):
    start = j.get("start_time") or 0
    if not start:
        return 0
    end = now if j.get("state") in _RUNNING or not j.get("end_time") else j["end_time"]
    return max(0, end - start)


def _start(t, end):
    if t:
        return timestamp(t)
    return "None" if end else "Unknown"


def _job_start(j):
    # a job cancelled before it started gets its end time as start time (observed)
    if not j.get("start_time") and j.get("state") == "CANCELLED" and j.get("end_time"):
        return timestamp(j["end_time"])
    return _start(j.get("start_time"), j.get("end_time") and j.get("state") != "PENDING")


def _timelimit(j):
    # a job that never started without -t still has the partition's limit to come (observed)
    if j.get("time_limit_min") is None and not j.get("start_time"):
        return "Partition_Limit"
    return limit_padded(j.get("time_limit_min"))


def _exit(code, signal):
    return f"{code}:{signal}"


def _job_signal(j) -> int:
    # observed: the job line of a job ended by scancel or its time limit says 0:0 (scontrol
    # says 0:15, the batch step line keeps the signal); a script killed by a signal keeps it
    return 0 if j.get("state") in ("CANCELLED", "TIMEOUT") else j.get("exit_signal", 0)


def _job_state(j):
    state = j.get("state", "")
    if state == "CANCELLED" and j.get("cancelled_by") is not None:
        return f"CANCELLED by {j['cancelled_by']}"
    return state


def _job_end(j):
    if j.get("state") in _RUNNING or j.get("state") == "PENDING":
        return "Unknown"
    return timestamp(j.get("end_time"))


def _sorted_tres(text, j=None):
    # sacct lists TRES by name (billing=1,cpu=1,mem=16000M,node=1), as observed on 22.05, and only
    # those accounting tracks (AccountingStorageTRES)
    text = tracked_tres(text, (j or {}).get("_tracked"))
    return ",".join(sorted(filter(None, (text or "").split(","))))


# name (lower) -> (title, width, job getter(j, now), step getter(s, j, now))
FIELDS = {
    "jobid": ("JobID", -12, lambda j, now: job_id_text(j), lambda s, j, now: f"{job_id_text(j)}.{s['step_id']}"),
    "jobidraw": ("JobIDRaw", -12, lambda j, now: str(j["job_id"]), lambda s, j, now: f"{j['job_id']}.{s['step_id']}"),
    "jobname": ("JobName", 10, lambda j, now: j.get("name", ""), lambda s, j, now: s.get("name", "")),
    "partition": ("Partition", 10, lambda j, now: j.get("partition", ""), lambda s, j, now: ""),
    "account": ("Account", 10, lambda j, now: j.get("account", ""), lambda s, j, now: j.get("account", "")),
    "user": ("User", 9, lambda j, now: j.get("user", ""), lambda s, j, now: ""),
    "uid": ("UID", 6, lambda j, now: str(j.get("uid", "")), lambda s, j, now: ""),
    "group": ("Group", 9, lambda j, now: j.get("group", ""), lambda s, j, now: ""),
    "gid": ("GID", 6, lambda j, now: str(j.get("gid", "")), lambda s, j, now: ""),
    "alloccpus": ("AllocCPUS", 10, lambda j, now: str(j.get("num_cpus", 0)),
                  lambda s, j, now: str(s.get("num_cpus", 1))),
    "ncpus": ("NCPUS", 10, lambda j, now: str(j.get("num_cpus", 0)), lambda s, j, now: str(s.get("num_cpus", 1))),
    "reqcpus": ("ReqCPUS", 8, lambda j, now: str(j.get("num_cpus", 0)), lambda s, j, now: str(s.get("num_cpus", 1))),
    "nnodes": ("NNodes", 8, lambda j, now: str(j.get("num_nodes", 1)), lambda s, j, now: str(s.get("num_nodes", 1))),
    "allocnodes": ("AllocNodes", 10, lambda j, now: str(j.get("num_nodes", 1) if j.get("nodes") else 0),
                   lambda s, j, now: str(s.get("num_nodes", 1))),
    "reqnodes": ("ReqNodes", 8, lambda j, now: str(j.get("num_nodes", 1)), lambda s, j, now: str(s.get("num_nodes", 1))),
    "ntasks": ("NTasks", 8, lambda j, now: "", lambda s, j, now: str(s.get("num_tasks", 1))),
    "nodelist": ("NodeList", 15, lambda j, now: j.get("nodes") or "None assigned", lambda s, j, now: s.get("nodes", "")),
    "alloctres": ("AllocTRES", 10, lambda j, now: _sorted_tres(j.get("alloc_tres"), j),
                  lambda s, j, now: _sorted_tres(s.get("alloc_tres"), j)),
    "reqtres": ("ReqTRES", 10, lambda j, now: _sorted_tres(j.get("req_tres"), j), lambda s, j, now: ""),
    "reqmem": ("ReqMem", 10, lambda j, now: _reqmem(j), lambda s, j, now: ""),
    "state": ("State", 10, lambda j, now: _job_state(j), lambda s, j, now: s.get("state", "")),
    "exitcode": ("ExitCode", 8, lambda j, now: _exit(j.get("exit_code", 0), _job_signal(j)),
                 lambda s, j, now: _exit(s.get("exit_code", 0), s.get("exit_signal", 0))),
    "derivedexitcode": ("DerivedExitCode", 15,
                        lambda j, now: _exit(j.get("derived_exit_code", 0), j.get("derived_exit_signal", 0)),
                        lambda s, j, now: ""),
    "elapsed": ("Elapsed", 10, lambda j, now: duration_padded(_job_elapsed(j, now)),
                lambda s, j, now: duration_padded(_job_elapsed(s, now))),
    "elapsedraw": ("ElapsedRaw", 10, lambda j, now: str(_job_elapsed(j, now)), lambda s, j, now: str(_job_elapsed(s, now))),
    "cputime": ("CPUTime", 10, lambda j, now: duration_padded(_job_elapsed(j, now) * j.get("num_cpus", 1)),
                lambda s, j, now: duration_padded(_job_elapsed(s, now) * s.get("num_cpus", 1))),
    "cputimeraw": ("CPUTimeRAW", 10, lambda j, now: str(_job_elapsed(j, now) * j.get("num_cpus", 1)),
                   lambda s, j, now: str(_job_elapsed(s, now) * s.get("num_cpus", 1))),
    "start": ("Start", 19, lambda j, now: _job_start(j),
              lambda s, j, now: _start(s.get("start_time"), 0)),
    "end": ("End", 19, lambda j, now: _job_end(j),
            lambda s, j, now: "Unknown" if s.get("state") in _RUNNING else timestamp(s.get("end_time"))),
    "submit": ("Submit", 19, lambda j, now: timestamp(j.get("submit_time")), lambda s, j, now: timestamp(s.get("start_time"))),
    "eligible": ("Eligible", 19, lambda j, now: _eligible(j), lambda s, j, now: timestamp(s.get("start_time"))),
    "timelimit": ("Timelimit", 10, lambda j, now: _timelimit(j), lambda s, j, now: ""),
    "timelimitraw": ("TimelimitRaw", 10, lambda j, now: "UNLIMITED" if j.get("time_limit_min") is None else str(j["time_limit_min"]),
                     lambda s, j, now: ""),
    # a pending job's current reason; once started, Slurm's database keeps the reason the job last
    # waited for (state_reason_prev), which ours does not record: None, as for a job that started
    # at once
    "reason": ("Reason", 22, lambda j, now: (j.get("reason") or "None") if j.get("state") == "PENDING" else "None",
               lambda s, j, now: ""),
    "priority": ("Priority", 10, lambda j, now: str(j.get("priority", 0)), lambda s, j, now: ""),
    "qos": ("QOS", 10, lambda j, now: j.get("qos", ""), lambda s, j, now: ""),
    "workdir": ("WorkDir", 20, lambda j, now: j.get("work_dir", ""), lambda s, j, now: ""),
    "maxrss": ("MaxRSS", 10, lambda j, now: "", lambda s, j, now: rss_kb(s.get("max_rss_kb"))),
    "totalcpu": ("TotalCPU", 10, lambda j, now: cpu_time(_total_cpu(j)), lambda s, j, now: cpu_time(s.get("total_cpu_s"))),
    "comment": ("Comment", 14, lambda j, now: j.get("comment", ""), lambda s, j, now: ""),
    "submitline": ("SubmitLine", 20, lambda j, now: j.get("submit_line", ""), lambda s, j, now: ""),
    "constraints": ("Constraints", 19, lambda j, now: j.get("features", ""), lambda s, j, now: ""),
    "reservation": ("Reservation", 20, lambda j, now: "", lambda s, j, now: ""),
    "cluster": ("Cluster", 10, lambda j, now: j.get("_cluster", ""), lambda s, j, now: j.get("_cluster", "")),
}


def _reqmem(j):
    mem = j.get("mem_per_cpu_mb") or j.get("mem_per_node_mb")
    return mem_units(mem) if mem else "0"


def _eligible(j):
    if j.get("held") or j.get("reason") in ("JobHeldUser", "JobHeldAdmin"):
        return "Unknown"
    return timestamp(j.get("eligible_time") or j.get("submit_time"))


def _total_cpu(j):
    steps = j.get("_steps") or ()
    values = [s.get("total_cpu_s") or 0 for s in steps]
    return sum(values) if values else 0


class UsageError(Exception):
    def __init__(self, lines: list[str], code: int = 1) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines
        self.code = code


class Options:
    __slots__ = ("fields", "noheader", "allocations", "parsable", "delimiter", "job_ids",
                 "users", "all_users", "start", "end", "states", "names", "partitions",
                 "version", "help", "helpformat", "json", "job_tasks", "tracked")

    def __init__(self) -> None:
        self.fields = None           # list of (name, width)
        self.noheader = False
        self.allocations = False
        self.parsable = 0            # 0 fixed width, 1 = -p (trailing |), 2 = -P
        self.delimiter = "|"
        self.job_ids = None
        self.job_tasks = {}          # -j 12_3: array id -> indices asked for (None: the whole job)
        self.users = None
        self.all_users = False
        self.start = None
        self.end = None
        self.states = None
        self.names = None
        self.partitions = None
        self.version = False
        self.help = False
        self.helpformat = False
        self.json = False            # --json: filters apply, formatting options do not
        self.tracked = None          # TRES names accounting tracks (None: show all)


SHORT = "aA:bcC:DeE:f:g:hi:I:j:k:K:lLM:nN:o:pPq:r:s:S:Tu:vVW:xX"
LONGS = {
    "allusers": ("a", 0), "accounts": ("A", 1), "brief": ("b", 0), "completion": ("c", 0),
    "duplicates": ("D", 0), "helpformat": ("e", 0), "endtime": ("E", 1), "file": ("f", 1),
    "gid": ("g", 1), "group": ("g", 1), "help": ("h", 0), "jobs": ("j", 1), "long": ("l", 0),
    "allclusters": ("L", 0), "cluster": ("M", 1), "clusters": ("M", 1), "noheader": ("n", 0),
    "nodelist": ("N", 1), "format": ("o", 1), "parsable": ("p", 0), "parsable2": ("P", 0),
    "qos": ("q", 1), "partition": ("r", 1), "state": ("s", 1), "starttime": ("S", 1),
    "truncate": ("T", 0), "uid": ("u", 1), "user": ("u", 1), "usage": ("help", 0),
    "verbose": ("v", 0), "version": ("V", 0), "wckeys": ("W", 1), "allocations": ("X", 0),
    "name": ("name", 1), "delimiter": ("delimiter", 1), "array": ("array", 0),
    "noconvert": ("noconvert", 0), "units": ("units", 1), "json": ("json", 0),
    "yaml": ("yaml", 0), "local": ("local", 0), "federation": ("federation", 0),
}


def midnight(now: int) -> int:
    tm = time.localtime(now)
    return int(time.mktime((tm.tm_year, tm.tm_mon, tm.tm_mday, 0, 0, 0, 0, 0, -1)))


def _parse_fields(text: str) -> list[tuple[str, int]]:
    out = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, _, size = item.partition("%")
        key = name.lower()
        if key not in FIELDS:
            raise UsageError([f'{PROG}: error: Invalid field requested: "{name}"'])
        width = FIELDS[key][1]
        if size:
            try:
                width = int(size)
            except ValueError:
                raise UsageError([f'{PROG}: error: Invalid field requested: "{item}"']) from None
        out.append((key, width))
    return out


def _parse_time(text: str, now: int) -> int:
    from conf.timefmt import parse_timestamp
    try:
        return int(parse_timestamp(text, now))
    except ValueError:
        raise UsageError([f"Invalid time specification (pos=0): {text}"]) from None


def parse_options(argv: list[str], now: int, env: dict | None = None, uid: int | None = None) -> Options:
    env = os.environ if env is None else env
    try:
        pairs, operands = scan(argv, SHORT, LONGS)
    except ScanError as exc:
        raise UsageError([f"{PROG}: {exc.text}"])
    opts = Options()
    fields_text = None
    brief = long_list = False
    for key, value in pairs:
        if key == "a":
            opts.all_users = True
        elif key == "b":
            brief = True
        elif key == "l":
            long_list = True
        elif key == "o":
            fields_text = value if fields_text is None else fields_text + "," + value
        elif key == "n":
            opts.noheader = True
        elif key == "X":
            opts.allocations = True
        elif key == "p":
            opts.parsable = 1
        elif key == "P":
            opts.parsable = 2
        elif key == "delimiter":
            opts.delimiter = value
        elif key == "j":
            opts.job_ids = (opts.job_ids or []) + _parse_jobs(value, opts.job_tasks)
        elif key == "u":
            opts.users = (opts.users or []) + _parse_users(value)
        elif key == "S":
            opts.start = _parse_time(value, now)
        elif key == "E":
            opts.end = _parse_time(value, now)
        elif key == "s":
            opts.states = (opts.states or []) + _parse_states(value)
        elif key == "name":
            opts.names = (opts.names or []) + [n for n in value.split(",") if n]
        elif key == "r":
            opts.partitions = (opts.partitions or []) + [p for p in value.split(",") if p]
        elif key == "V":
            opts.version = True
        elif key == "help":
            opts.help = True
        elif key == "e":
            opts.helpformat = True
        elif key == "json":
            opts.json = True
    if operands:
        raise UsageError([f"{PROG}: error: Unknown arguments:"] + [f"{PROG}: error:  {o}" for o in operands])
    if fields_text is None:
        fields_text = BRIEF_FIELDS if brief else (LONG_FIELDS if long_list else
                                                    env.get("SACCT_FORMAT") or DEFAULT_FIELDS)
    if long_list and fields_text == LONG_FIELDS:
        opts.fields = [(k, FIELDS[k][1]) for k in fields_text.split(",") if k in FIELDS]
    else:
        opts.fields = _parse_fields(fields_text)
    uid = os.getuid() if uid is None else uid
    if uid == 0 and opts.users is None:
        opts.all_users = True   # root (and operators) see everyone's jobs by default
    # sacct.1 "DEFAULT TIME WINDOW"
    if opts.start is None:
        if opts.job_ids is not None:
            opts.start = 0
        elif opts.states is not None:
            opts.start = now
        else:
            opts.start = midnight(now)
    if opts.end is None:
        opts.end = now
    if opts.start > opts.end:
        raise UsageError([f"{PROG}: error: Start time ({timestamp(opts.start)}) requested is after end time "
                          f"({timestamp(opts.end)})."])
    return opts


def _parse_jobs(text: str, tasks: dict | None = None) -> list[int]:
    out = []
    for item in text.split(","):
        if not item:
            continue
        base = item.split(".", 1)[0].split("_", 1)[0].split("+", 1)[0]
        if not base.isdigit():
            raise UsageError([f"{PROG}: fatal: Bad job/step specified: {item}"])
        out.append(int(base))
        if tasks is not None:
            index = item.split(".", 1)[0].partition("_")[2]
            wanted = tasks.setdefault(int(base), set())
            if index.isascii() and index.isdigit() and wanted is not None:
                wanted.add(int(index))
            else:
                tasks[int(base)] = None
    return out


def select_array_tasks(records: list[dict], opts: Options) -> list[dict]:
    """`-j 12_3` keeps task 3 of array 12 (a task not started yet has no record to show)."""
    if not any(v is not None for v in opts.job_tasks.values()):
        return records
    out = []
    for record in records:
        job = record["job"]
        if job["job_id"] in opts.job_tasks and opts.job_tasks[job["job_id"]] is None:
            out.append(record)          # named by its own id
            continue
        wanted = opts.job_tasks.get(job.get("array_job_id") or 0)
        if wanted is None or job.get("array_task_id") in wanted:
            out.append(record)
    return out


def _parse_users(text: str) -> list[str]:
    import pwd
    out = []
    for name in text.split(","):
        if not name:
            continue
        try:
            out.append(pwd.getpwuid(int(name)).pw_name if name.isdigit() else pwd.getpwnam(name).pw_name)
        except (KeyError, ValueError):
            raise UsageError([f"{PROG}: error: Invalid user id: {name}"]) from None
    return out


_SACCT_STATES = dict(JOB_STATE_LONG, CANCELED="CANCELLED")


def _parse_states(text: str) -> list[str]:
    out = []
    for item in text.split(","):
        name = item.strip().upper()
        if not name:
            continue
        if name in JOB_STATE_COMPACT:
            out.append(name)
        elif name in _SACCT_STATES:
            out.append(_SACCT_STATES[name])
        else:
            raise UsageError([f"{PROG}: fatal: unrecognized job state value '{item.strip()}'"])
    return out


def rows_for(records: list[dict], opts: Options, now: int) -> list[list[str]]:
    """Cell texts per output row: each job, then (without -X) its steps."""
    rows = []
    names = [name for name, _ in opts.fields]
    for rec in records:
        job = dict(rec["job"], _steps=rec.get("steps") or (), _tracked=opts.tracked)
        rows.append([FIELDS[n][2](job, now) for n in names])
        if opts.allocations:
            continue
        for step in rec.get("steps") or ():
            rows.append([FIELDS[n][3](step, job, now) for n in names])
    return rows


def format_sacct(records: list[dict], opts: Options, now: int) -> str:
    rows = rows_for(records, opts, now)
    titles = [FIELDS[name][0] for name, _ in opts.fields]
    lines = []
    if opts.parsable:
        tail = opts.delimiter if opts.parsable == 1 else ""
        if not opts.noheader:
            lines.append(opts.delimiter.join(titles) + tail)
        lines.extend(opts.delimiter.join(row) + tail for row in rows)
    else:
        widths = [w for _, w in opts.fields]
        if not opts.noheader:
            lines.append("".join(title(t, w) + " " for t, w in zip(titles, widths)))
            lines.append("".join("-" * abs(w) + " " for w in widths))
        for row in rows:
            lines.append("".join(cell(v, w) + " " for v, w in zip(row, widths)))
    return ("\n".join(lines) + "\n") if lines else ""


# the job keys each field reads: the request names them so that only those travel (100,000
# full records are ~90 MB; the default columns a tenth of that)
_TIMES = ("start_time", "end_time", "state", "num_cpus")
WIRE_KEYS = {
    "jobid": (), "jobidraw": (), "jobname": ("name",), "partition": ("partition",), "account": ("account",),
    "user": ("user",), "uid": ("uid",), "group": ("group",), "gid": ("gid",), "alloccpus": ("num_cpus",),
    "ncpus": ("num_cpus",), "reqcpus": ("num_cpus",), "nnodes": ("num_nodes",), "allocnodes": ("num_nodes", "nodes"),
    "reqnodes": ("num_nodes",), "ntasks": (), "nodelist": ("nodes",), "alloctres": ("alloc_tres",),
    "reqtres": ("req_tres",), "reqmem": ("mem_per_cpu_mb", "mem_per_node_mb"), "state": ("cancelled_by",),
    "exitcode": ("exit_code", "exit_signal"), "derivedexitcode": ("derived_exit_code", "derived_exit_signal"),
    "elapsed": _TIMES, "elapsedraw": _TIMES, "cputime": _TIMES, "cputimeraw": _TIMES, "start": _TIMES,
    "end": _TIMES, "submit": ("submit_time",), "eligible": ("held", "reason", "eligible_time", "submit_time"),
    "timelimit": ("time_limit_min", "start_time"), "timelimitraw": ("time_limit_min",), "reason": ("reason",),
    "priority": ("priority",), "qos": ("qos",), "workdir": ("work_dir",), "maxrss": (), "totalcpu": (),
    "comment": ("comment",), "submitline": ("submit_line",), "constraints": ("features",),
    "reservation": (), "cluster": (),
}
_ALWAYS = ("job_id", "state", "array_job_id", "array_task_id", "array_task_str", "array_max_tasks")


def request_args(opts: Options) -> dict:
    """The `accounting` request the options describe (the controller filters)."""
    args = {"job_ids": opts.job_ids, "users": opts.users, "all_users": opts.all_users,
            "start": opts.start, "end": opts.end, "states": opts.states, "names": opts.names,
            "partitions": opts.partitions}
    names = [name for name, _ in opts.fields or ()]
    if not opts.json and names and all(n in WIRE_KEYS for n in names):
        args["fields"] = sorted({*_ALWAYS, *(k for n in names for k in WIRE_KEYS[n])})
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    now = int(time.time())
    try:
        opts = parse_options(argv, now)
    except UsageError as exc:
        sys.stderr.write("\n".join(exc.lines) + "\n")
        return exc.code
    if opts.version:
        sys.stdout.write(VERSION + "\n")
        return 0
    if opts.help:
        sys.stdout.write("sacct [<OPTION>]\n")
        return 0
    if opts.helpformat:
        titles = sorted(t for t, *_ in FIELDS.values())
        sys.stdout.write("".join(f"{t:<20}" + ("\n" if i % 4 == 3 else "")
                                 for i, t in enumerate(titles)).rstrip() + "\n")
        return 0
    from commands.formats import tracked_tres_names
    from sdk.acctquery import records as acct_records
    from sdk.discovery import find_conf, read_keys
    from sdk.errors import SlurmError
    try:
        conf = find_conf()
        if not conf:
            raise OSError("no slurm.conf")
        opts.tracked = tracked_tres_names(read_keys(conf, ("AccountingStorageTRES",)).get("AccountingStorageTRES"))
        records = select_array_tasks(acct_records(conf, request_args(opts)), opts)
    except (SlurmError, OSError) as exc:
        reason = "Connection refused" if isinstance(exc, OSError) or exc.code == "CONNECTION" else exc.message
        sys.stderr.write(f"{PROG}: error: Problem talking to the database: {reason}\n")
        return 1
    if opts.json:
        from commands import jsonacct, jsonview
        text = jsonview.dumps(jsonacct.acct_document(records, jsonview.cluster_name(), now))
    else:
        text = format_sacct(records, opts, now)
    from commands.output import write_stdout
    write_stdout(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
