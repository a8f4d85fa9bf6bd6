"""scontrol (view part): show job|node|partition|hostnames|hostlist, ping, version.

Records print as Slurm 22.05 prints them: `Key=value` tokens, continuation lines indented by three
spaces, a blank line after each record; `-o` joins a record's lines with single spaces; `-d` adds
the detail lines. Pure parts: `job_lines(job, now, details)`, `node_lines(node, details)`,
`partition_lines(partition, nodes)`, `render(records, oneliner)`, `run(argv, call)`.
"""
from __future__ import annotations

import sys
import time

from commands.formats import (duration_padded, gres_colon, index_ranges, limit_padded, mem_units,
                              node_state_scontrol, null, run_seconds, timestamp, tracked_tres)
from commands.optscan import ScanError, scan

PROG = "scontrol"
VERSION = "slurm-wlm 22.05.8"   # as Debian's build of 22.05 (the reference) prints it
INDENT = "   "


# ---- records ------------------------------------------------------------------------------

def job_lines(j: dict, now: int, details: bool = False, tracked: frozenset | None = None) -> list[str]:
    """The lines of one `scontrol show job` record (without the trailing blank line). `tracked`:
    the TRES names accounting tracks (formats.tracked_tres_names), None = show every TRES."""
    state = j.get("state", "")
    pending = state == "PENDING"
    jid = j["job_id"]
    head = f"JobId={jid}"
    if j.get("array_job_id"):
        from commands.formats import array_task_text
        task = array_task_text(j)   # none left (every index cancelled): Slurm's NO_VAL
        head += f" ArrayJobId={j['array_job_id']} ArrayTaskId={'4294967294' if task == 'N/A' else task}"
        if j.get("array_max_tasks"):
            head += f" ArrayTaskThrottle={j['array_max_tasks']}"
    lines = [f"{head} JobName={j.get('name', '')}"]
    add = lines.append
    add(f"UserId={j.get('user', '')}({j.get('uid', '')}) GroupId={j.get('group', '')}({j.get('gid', '')}) MCS_label=N/A")
    add(f"Priority={j.get('priority', 0)} Nice={j.get('nice', 0)} Account={null(j.get('account'))} QOS={j.get('qos', '')}")
    reason = (j.get("reason") or "None").replace(" ", "_")
    add(f"JobState={state} Reason={reason} Dependency={null(j.get('dependency'))}")
    add(f"Requeue={1 if j.get('requeue', True) else 0} Restarts={j.get('restarts', 0)} BatchFlag=1 "
        f"Reboot=0 ExitCode={j.get('exit_code', 0)}:{j.get('exit_signal', 0)}")
    if details:
        add(f"DerivedExitCode={j.get('derived_exit_code', 0)}:{j.get('derived_exit_signal', 0)}")
    time_min = limit_padded(j["time_min_min"]) if j.get("time_min_min") else "N/A"
    add(f"RunTime={duration_padded(run_seconds(j, now))} "
        f"TimeLimit={limit_padded(j.get('time_limit_min'))} TimeMin={time_min}")
    # a job held at submit, or waiting on a dependency, has not become eligible yet: Unknown, even
    # once cancelled; a hold placed later keeps the time it had (observed, sbatch corpus)
    eligible = timestamp(j["eligible_time"]) if j.get("eligible_time") else "Unknown"
    add(f"SubmitTime={timestamp(j.get('submit_time'))} EligibleTime={eligible}")
    add(f"AccrueTime={eligible}")
    start = j.get("start_time") or 0
    end = j.get("end_time") or 0
    if not end and start and j.get("time_limit_min") is not None and state != "PENDING":
        end = start + j["time_limit_min"] * 60
    deadline = timestamp(j["deadline"]) if j.get("deadline") else "N/A"
    add(f"StartTime={timestamp(start)} EndTime={timestamp(end)} Deadline={deadline}")
    last_eval = start if start and not pending else (j.get("submit_time") or 0)
    add(f"SuspendTime={timestamp(j.get('suspend_time'), 'None')} SecsPreSuspend=0 "
        f"LastSchedEval={timestamp(last_eval)} Scheduler=Main")
    add(f"Partition={j.get('partition', '')} AllocNode:Sid={j.get('submit_host') or 'localhost'}:0")
    add(f"ReqNodeList={null(j.get('req_nodes'))} ExcNodeList={null(j.get('exc_nodes'))}")
    add(f"NodeList={'' if pending else j.get('nodes', '')}")
    if j.get("batch_host") and not pending:
        add(f"BatchHost={j['batch_host']}")
    never_ran = state == "CANCELLED" and not j.get("start_time")
    num_tasks = "N/A" if never_ran else j.get("num_tasks", 1)   # observed for a job cancelled pending
    add(f"NumNodes={j.get('num_nodes', 1)} NumCPUs={j.get('num_cpus', 1)} "
        f"NumTasks={num_tasks} CPUs/Task={j.get('cpus_per_task', 1)} ReqB:S:C:T=0:0:*:*")
    tres = j.get("req_tres") if pending else (j.get("alloc_tres") or j.get("req_tres"))
    add(f"TRES={tracked_tres(tres, tracked)}")
    add(f"Socks/Node=* NtasksPerN:B:S:C={j.get('ntasks_per_node', 0)}:0:*:* CoreSpec=*")
    if details and not pending and j.get("nodes"):
        gres = j.get("tres_per_node") or ""
        add(f"JOB_GRES={gres.split('/', 1)[-1] if gres else '(null)'}")
        gpus = j.get("gpus") or ()
        per_node = max(1, j.get("num_cpus", 1) // max(1, j.get("num_nodes", 1)))
        add(f"  Nodes={j['nodes']} CPU_IDs={index_ranges(range(per_node))} "
            f"Mem={j.get('mem_per_node_mb') or 0} GRES={f'gpu:{len(gpus)}(IDX:{index_ranges(gpus)})' if gpus else ''}")
    min_cpus = j.get("cpus_per_task", 1) * max(1, j.get("ntasks_per_node") or 1)
    if j.get("mem_per_cpu_mb"):
        mem = f"MinMemoryCPU={mem_units(j['mem_per_cpu_mb'])}"
    else:
        mem = f"MinMemoryNode={mem_units(j.get('mem_per_node_mb') or 0)}"
    add(f"MinCPUsNode={min_cpus} {mem} MinTmpDiskNode=0")
    add(f"Features={null(j.get('features'))} DelayBoot=00:00:00")
    add(f"OverSubscribe={'NO' if j.get('exclusive') else 'OK'} Contiguous=0 Licenses=(null) Network=(null)")
    add(f"Command={null(j.get('command'))}")
    add(f"WorkDir={j.get('work_dir', '')}")
    if j.get("comment"):
        add(f"Comment={j['comment']} ")
    stdout = j.get("stdout") or _default_output(j)
    add(f"StdErr={j.get('stderr') or stdout}")
    add(f"StdIn={j.get('stdin') or '/dev/null'}")
    add(f"StdOut={stdout}")
    add("Power=")
    for key, label in (("cpus_per_tres", "CpusPerTres"), ("mem_per_tres", "MemPerTres"),
                       ("tres_per_job", "TresPerJob"), ("tres_per_node", "TresPerNode"),
                       ("tres_per_task", "TresPerTask")):
        if j.get(key):   # 22.05 writes these as gres:gpu:N (the controller sends gres/gpu:N per node)
            add(f"{label}={gres_colon(j[key])}")
    if j.get("mail_type"):
        add(f"MailUser={j.get('mail_user', '')} MailType={j['mail_type']}")
    add("")   # Slurm ends a job record with an indented empty line
    return lines


def _default_output(j: dict) -> str:
    """sbatch's default output file, as Slurm shows it before the job has started."""
    if not j.get("work_dir"):
        return ""
    if j.get("array_job_id") and j.get("array_task_id") is not None:
        name = f"slurm-{j['array_job_id']}_{j['array_task_id']}.out"
    else:
        name = f"slurm-{j['job_id']}.out"
    return f"{j['work_dir'].rstrip('/')}/{name}"


def _gres_count(gres: str) -> int:
    total = 0
    for item in gres.split(","):
        count = item.split("(", 1)[0].rsplit(":", 1)[-1]
        total += int(count) if count.isdigit() else 0
    return total


def node_lines(n: dict, details: bool = False, tracked: frozenset | None = None) -> list[str]:
    lines = [f"NodeName={n['name']} Arch={n.get('arch') or 'x86_64'} CoresPerSocket={n.get('cores_per_socket', 1)} "]
    add = lines.append
    cpus = n.get("cpus", 0)
    add(f"CPUAlloc={n.get('cpus_alloc', 0)} CPUEfctv={cpus} CPUTot={cpus} CPULoad=N/A")
    add(f"AvailableFeatures={null(n.get('features'))}")
    add(f"ActiveFeatures={null(n.get('features'))}")
    add(f"Gres={null(n.get('gres'))}")
    if details:
        add("GresDrain=N/A")
        used = n.get("gres_used") or ""
        if not used and n.get("gres"):
            name = n["gres"].split(",")[0].rsplit(":", 1)[0]
            used = f"{name}:0"
        add(f"GresUsed={used}")
    add(f"NodeAddr={n.get('address') or n['name']} NodeHostName={n.get('hostname') or n['name']} "
        f"Version={n.get('version') or '22.05.8'}")
    add(f"OS={n.get('os', '')} ")
    free = n.get("free_memory_mb")
    add(f"RealMemory={n.get('real_memory_mb', 0)} AllocMem={n.get('alloc_memory_mb', 0)} "
        f"FreeMem={'N/A' if free is None else free} Sockets={n.get('sockets', 1)} Boards=1")
    add(f"State={node_state_scontrol(n)} ThreadsPerCore={n.get('threads_per_core', 1)} TmpDisk=0 "
        f"Weight={n.get('weight', 1)} Owner=N/A MCS_label=N/A")
    add(f"Partitions={','.join(n.get('partitions') or ())} ")
    add(f"BootTime={timestamp(n.get('boot_time'), 'None')} "
        f"SlurmdStartTime={timestamp(n.get('slurmd_start_time'), 'None')}")
    add(f"LastBusyTime={timestamp(n.get('last_busy_time'), 'None')}")
    cfg = f"cpu={cpus},mem={mem_units(n.get('real_memory_mb', 0))},billing={cpus}"
    gpus = _gres_count(n.get("gres") or "")
    if gpus:
        cfg += f",gres/gpu={gpus}"
    add(f"CfgTRES={tracked_tres(cfg, tracked)}")
    alloc = []
    if n.get("cpus_alloc"):
        alloc.append(f"cpu={n['cpus_alloc']}")
    if n.get("alloc_memory_mb"):
        alloc.append(f"mem={mem_units(n['alloc_memory_mb'])}")
    used_gpus = _gres_count(n.get("gres_used") or "")
    if used_gpus:
        alloc.append(f"gres/gpu={used_gpus}")
    add(f"AllocTRES={tracked_tres(','.join(alloc), tracked)}")
    add("CapWatts=n/a")
    add("CurrentWatts=0 AveWatts=0")
    add("ExtSensorsJoules=n/s ExtSensorsWatts=0 ExtSensorsTemp=n/s")
    if n.get("reason"):
        who = n.get("reason_user") or "root"
        add(f"Reason={n['reason']} [{who}@{timestamp(n.get('reason_time'))}]")
    return lines


def partition_lines(p: dict, nodes: list[dict] | None = None, tracked: frozenset | None = None) -> list[str]:
    members = [n for n in nodes or () if p["name"] in (n.get("partitions") or ())]
    total_cpus = p.get("total_cpus") or sum(n.get("cpus", 0) for n in members)
    total_nodes = p.get("total_nodes") or len(members)
    mem = sum(n.get("real_memory_mb", 0) for n in members)
    gpus = sum(_gres_count(n.get("gres") or "") for n in members)

    def limit(value, none="UNLIMITED"):
        return none if value is None else str(value)

    default_time = "NONE" if p.get("default_time_min") is None else limit_padded(p["default_time_min"])
    if p.get("def_mem_per_cpu_mb"):
        defmem = f"DefMemPerCPU={p['def_mem_per_cpu_mb']}"
    else:
        defmem = "DefMemPerNode=UNLIMITED"
    if p.get("max_mem_per_cpu_mb"):
        maxmem = f"MaxMemPerCPU={p['max_mem_per_cpu_mb']}"
    else:
        maxmem = "MaxMemPerNode=UNLIMITED"
    tres = f"cpu={total_cpus},mem={mem_units(mem)},node={total_nodes},billing={total_cpus}"
    if gpus:
        tres += f",gres/gpu={gpus}"
    return [
        f"PartitionName={p['name']}",
        f"AllowGroups={p.get('allow_groups', 'ALL')} AllowAccounts={p.get('allow_accounts', 'ALL')} "
        f"AllowQos={p.get('allow_qos', 'ALL')}",
        f"AllocNodes=ALL Default={'YES' if p.get('is_default') else 'NO'} QoS=N/A",
        f"DefaultTime={default_time} DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 "
        f"Hidden={'YES' if p.get('hidden') else 'NO'}",
        f"MaxNodes={limit(p.get('max_nodes'))} MaxTime={limit_padded(p.get('max_time_min'))} "
        f"MinNodes={p.get('min_nodes', 0)} LLN=NO MaxCPUsPerNode=UNLIMITED",
        f"Nodes={p.get('nodes', '')}",
        f"PriorityJobFactor={p.get('priority_job_factor', 1)} PriorityTier={p.get('priority_tier', 1)} "
        f"RootOnly={'YES' if p.get('root_only') else 'NO'} ReqResv=NO "
        f"OverSubscribe={p.get('oversubscribe', 'NO')}",
        "OverTimeLimit=NONE PreemptMode=OFF",
        f"State={p.get('state', 'UP')} TotalCPUs={total_cpus} TotalNodes={total_nodes} "
        f"SelectTypeParameters=NONE",
        "JobDefaults=(null)",
        f"{defmem} {maxmem}",
        f"TRES={tracked_tres(tres, tracked)}",
    ]


def render(records: list[list[str]], oneliner: bool = False) -> str:
    """Records as scontrol prints them: indented continuation lines and a blank line after
    each, or one line per record with -o."""
    out = []
    for lines in records:
        if oneliner:
            out.append(" ".join(lines) + "\n")
        else:
            out.append(lines[0] + "\n" + "".join(INDENT + line + "\n" for line in lines[1:]) + "\n")
    return "".join(out)


# ---- command ------------------------------------------------------------------------------

SHORT = "adhM:oQu:vV"
LONGS = {
    "all": ("a", 0), "details": ("d", 0), "help": ("h", 0), "hide": ("hide", 0),
    "cluster": ("M", 1), "clusters": ("M", 1), "oneliner": ("o", 0), "quiet": ("Q", 0),
    "uid": ("u", 1), "verbose": ("v", 0), "version": ("V", 0), "future": ("F", 0),
    "local": ("local", 0), "sibling": ("sibling", 0), "federation": ("federation", 0),
    "json": ("json", 0), "yaml": ("yaml", 0), "usage": ("h", 0),
}

ENTITIES = ("job", "jobs", "node", "nodes", "partition", "partitions", "hostnames", "hostlist",
            "hostlistsorted", "config")


class Outcome:
    """What a run printed and how it ended (kept as a value so tests can check all three)."""

    __slots__ = ("out", "err", "code")

    def __init__(self, out: str = "", err: str = "", code: int = 0) -> None:
        self.out, self.err, self.code = out, err, code


def _match(word: str, choices) -> str | None:
    word = word.lower()
    if word in choices:
        return word
    hits = [c for c in choices if c.startswith(word)]
    return hits[0] if hits else None


def run(argv: list[str], call, now: int | None = None, conf_keys: dict | None = None) -> Outcome:
    """Execute one scontrol command line; `call(op, args)` reaches the controller."""
    now = int(time.time()) if now is None else now
    try:
        pairs, words = scan(argv, SHORT, LONGS)
    except ScanError as exc:
        return Outcome(err=f"{PROG}: {exc.text}\nTry \"{PROG} --help\" for more information\n", code=1)
    oneliner = details = as_json = False
    for key, _ in pairs:
        if key == "json":
            as_json = True
        elif key == "o":
            oneliner = True
        elif key == "d":
            details = True
        elif key == "V":
            return Outcome(out=VERSION + "\n")
        elif key == "h":
            return Outcome(out=f"{PROG} [<OPTION>] [<COMMAND>]\n")
    # leading keywords that only set modes
    while words and words[0].lower() in ("oneliner", "details", "quiet", "verbose", "all"):
        mode = words.pop(0).lower()
        oneliner = oneliner or mode == "oneliner"
        details = details or mode == "details"
    if not words:
        return Outcome(err="", code=0)
    keyword = words[0].lower()
    if keyword in ("version", "-v"):
        return Outcome(out=VERSION + "\n")
    if keyword == "ping":
        return _ping(call, conf_keys)
    if keyword == "token":
        return _token(words[1:], call)
    if keyword in ("hold", "uhold", "release", "update", "requeue", "requeuehold"):
        from commands import scontrol_update
        if keyword == "update":
            done = scontrol_update.update(words[1:], call)
        elif keyword in ("requeue", "requeuehold"):
            done = scontrol_update.requeue(keyword, words[1:], call)
        else:
            done = scontrol_update.hold_release(keyword, words[1:], call)
        return Outcome(out=done.out, err=done.err, code=done.code)
    if len(keyword) >= 3 and "show".startswith(keyword):
        if as_json:
            return _show_json(words[1:], call, (conf_keys or {}).get("ClusterName", ""))
        from commands.formats import tracked_tres_names
        tracked = tracked_tres_names((conf_keys or {}).get("AccountingStorageTRES"))
        return _show(words[1:], call, now, oneliner, details, tracked, conf_keys or {})
    return Outcome(err=f"invalid keyword: {words[0]}\n", code=1)


def _ping(call, conf_keys) -> Outcome:
    from commands.formats import short_hostname_for
    from sdk.errors import SlurmError
    try:
        reply = call("ping", {})
        host = short_hostname_for(reply.get("host") or "localhost")
        return Outcome(out=f"Slurmctld(primary) at {host} is UP\n")
    except SlurmError:
        host = short_hostname_for((conf_keys or {}).get("SlurmctldHost", "localhost").split("(")[0] or "localhost")
        return Outcome(out=f"Slurmctld(primary) at {host} is DOWN\n"
                           "*****************************************\n"
                           "** RESTORE SLURMCTLD DAEMON TO SERVICE **\n"
                           "*****************************************\n", code=1)


def _token(args: list[str], call) -> Outcome:
    """`scontrol token [lifespan=SECONDS] [username=NAME]`: a signed token for remote clients,
    printed as Slurm prints it (SLURM_JWT=...)."""
    from sdk.errors import SlurmError
    request: dict = {}
    for arg in args:
        key, _, value = arg.partition("=")
        key = key.lower()
        if key == "lifespan" and value.isdigit() and int(value) > 0:
            request["lifespan"] = int(value)
        elif key == "username" and value:
            request["user"] = value
        else:
            return Outcome(err=f"Invalid parameter: {arg}\n", code=1)
    try:
        reply = call("token", request)
    except SlurmError as exc:
        return Outcome(err=f"scontrol: error: {exc.message}\n", code=1)
    return Outcome(out=f"SLURM_JWT={reply['token']}\n")


def _show(args: list[str], call, now: int, oneliner: bool, details: bool,
          tracked: frozenset | None = None, conf_keys: dict | None = None) -> Outcome:
    if not args:
        return Outcome(err="too few arguments for keyword:show\n", code=1)
    if len(args) > 2:
        return Outcome(err="too many arguments for keyword:show\n", code=1)
    entity = _match(args[0], ENTITIES)
    target = args[1] if len(args) > 1 else None
    if entity is None:
        return Outcome(err=f"invalid entity:{args[0]} for keyword:show \n", code=1)
    from sdk.errors import SlurmError
    if entity in ("hostnames", "hostlist", "hostlistsorted"):
        return _hostlists(entity, target)
    try:
        if entity.startswith("job"):
            return _show_jobs(target, call, now, oneliner, details, tracked)
        if entity.startswith("node"):
            return _show_nodes(target, call, oneliner, details, tracked)
        if entity.startswith("partition"):
            return _show_partitions(target, call, oneliner, tracked)
        from commands.showconfig import config_text
        return Outcome(out=config_text(call("config", {}), conf_keys or {}, now))
    except SlurmError as exc:
        what = {"j": "slurm_load_jobs", "n": "slurm_load_node", "p": "slurm_load_partitions",
                "c": "slurm_load_ctl_conf"}[entity[0]]
        return Outcome(err=f"{what} error: {exc.message}\n", code=1)


def _load_jobs(target, call):
    """The jobs `show job [target]` names, or an Outcome for a malformed id."""
    args: dict = {"include_finished": True}
    task = None
    if target is not None:
        base, underscore, index = target.split(".", 1)[0].partition("_")
        if not base.isdigit() or (underscore and not (index.isascii() and index.isdigit())):
            return Outcome(err="scontrol_print_job error: Invalid job id specified\n", code=1)
        args["job_ids"] = [int(base)]
        task = int(index) if underscore else None
    jobs = call("jobs", args)["jobs"]
    if task is not None:
        jobs = _array_task(jobs, int(base), task)
        if not jobs:   # observed: on stdout, exit 1
            return Outcome(out=f"Job {target} not found\n", code=1)
    return jobs


def _array_task(jobs: list[dict], array_id: int, task: int) -> list[dict]:
    """`show job 12_3`: task 3's own record, or the array's pending record holding index 3
    (shown as that task, as Slurm does)."""
    from conf.arrays import parse_indices
    mine = [j for j in jobs if j.get("array_job_id") == array_id]
    started = [j for j in mine if j.get("array_task_id") == task]
    if started:
        return started
    return [dict(j, array_task_id=task) for j in mine
            if j.get("array_task_id") is None and task in parse_indices(j.get("array_task_str") or "")]


def _show_json(args: list[str], call, cluster: str) -> Outcome:
    """`scontrol --json show job|node|partition [name]`: the documents squeue/sinfo --json and
    slurmrestd v0.0.38 print (Slurm 22.05's own scontrol has no --json; 23.02's does)."""
    from commands import jsonview
    from sdk.errors import SlurmError
    if not args or len(args) > 2:
        return Outcome(err=f"too {'few' if not args else 'many'} arguments for keyword:show\n", code=1)
    entity = _match(args[0], ENTITIES)
    target = args[1] if len(args) > 1 else None
    if entity is None or not entity.startswith(("job", "node", "partition")):
        return Outcome(err=f"invalid entity:{args[0]} for keyword:show \n", code=1)
    try:
        if entity.startswith("job"):
            jobs = _load_jobs(target, call)
            if isinstance(jobs, Outcome):
                return jobs
            if not jobs and target is not None:
                return Outcome(err="slurm_load_jobs error: Invalid job id specified\n", code=1)
            doc = jsonview.jobs_document(jobs, cluster)
        elif entity.startswith("node"):
            nodes = call("nodes", {})["nodes"]
            if target is not None:
                from conf.hostlist import expand_hostlist
                wanted = set(expand_hostlist(target))
                nodes = [n for n in nodes if n["name"] in wanted]
                if not nodes:
                    return Outcome(out=f"Node {target} not found\n", code=1)
            doc = jsonview.nodes_document(nodes)
        else:
            partitions = call("partitions", {})["partitions"]
            if target is not None:
                partitions = [p for p in partitions if p["name"] == target]
                if not partitions:
                    return Outcome(out=f"Partition {target} not found\n", code=1)
            doc = jsonview.partitions_document(partitions)
    except SlurmError as exc:
        what = {"j": "slurm_load_jobs", "n": "slurm_load_node", "p": "slurm_load_partitions"}
        return Outcome(err=f"{what[entity[0]]} error: {exc.message}\n", code=1)
    return Outcome(out=jsonview.dumps(doc))


def _show_jobs(target, call, now, oneliner, details, tracked=None) -> Outcome:
    jobs = _load_jobs(target, call)
    if isinstance(jobs, Outcome):
        return jobs
    if not jobs:
        if target is not None:
            return Outcome(err="slurm_load_jobs error: Invalid job id specified\n", code=1)
        return Outcome(out="No jobs in the system\n")
    jobs = sorted(jobs, key=lambda j: j["job_id"])
    return Outcome(out=render([job_lines(j, now, details, tracked) for j in jobs], oneliner))


def _show_nodes(target, call, oneliner, details, tracked=None) -> Outcome:
    nodes = call("nodes", {})["nodes"]
    if target is not None:
        from conf.hostlist import expand_hostlist
        wanted = set(expand_hostlist(target))
        nodes = [n for n in nodes if n["name"] in wanted]
        if not nodes:
            return Outcome(out=f"Node {target} not found\n", code=1)
    if not nodes:
        return Outcome(out="No nodes in the system\n")
    return Outcome(out=render([node_lines(n, details, tracked) for n in nodes], oneliner))


def _show_partitions(target, call, oneliner, tracked=None) -> Outcome:
    partitions = call("partitions", {})["partitions"]
    nodes = call("nodes", {})["nodes"]
    if target is not None:
        partitions = [p for p in partitions if p["name"] == target]
        if not partitions:
            return Outcome(out=f"Partition {target} not found\n", code=1)
    if not partitions:
        return Outcome(out="No partitions in the system\n")
    return Outcome(out=render([partition_lines(p, nodes, tracked) for p in partitions], oneliner))


def _hostlists(entity: str, target) -> Outcome:
    from conf.errors import ConfError
    from conf.hostlist import compress_hostlist, expand_hostlist
    if not target:
        return Outcome(err=f"{PROG}: error: host list is empty\n", code=1)
    if target.startswith("/"):
        try:
            with open(target) as f:
                target = ",".join(f.read().split())
        except OSError:
            return Outcome(err=f"{PROG}: error: host list is empty\n", code=1)
    try:
        names = expand_hostlist(target)
    except (ConfError, ValueError) as exc:
        return Outcome(err=f"{PROG}: error: {exc}\n", code=1)
    if entity == "hostnames":
        return Outcome(out="".join(name + "\n" for name in names))
    if entity == "hostlist":
        return Outcome(out=hostlist_in_order(names) + "\n")
    return Outcome(out=compress_hostlist(names) + "\n")


def hostlist_in_order(names: list[str]) -> str:
    """`show hostlist` keeps the order given (only `hostlistsorted` sorts): a name joins the
    previous bracket when it has the same prefix and digit width (n1,n2,n3,n5,m7 -> n[1-3,5],m7)."""
    import re
    groups: list[tuple[str, int, list[int]]] = []
    plain: dict[int, str] = {}
    for name in names:
        m = re.fullmatch(r"(.*?)(\d+)", name)
        if m is None:
            plain[len(groups)] = name
            groups.append(("", -1, []))
            continue
        prefix, digits = m.group(1), m.group(2)
        width = len(digits) if digits.startswith("0") else 0
        last = groups[-1] if groups else None
        if last is not None and last[1] >= 0 and last[0] == prefix and last[1] == width:
            last[2].append(int(digits))
        else:
            groups.append((prefix, width, [int(digits)]))
    out = []
    for i, (prefix, width, numbers) in enumerate(groups):
        if width < 0:
            out.append(plain[i])
        elif len(numbers) == 1:
            out.append(f"{prefix}{numbers[0]:0{width}d}")
        else:
            out.append(f"{prefix}[{_ranges(numbers, width)}]")
    return ",".join(out)


def _ranges(numbers: list[int], width: int) -> str:
    parts = []
    start = prev = numbers[0]
    for n in numbers[1:] + [None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(f"{start:0{width}d}" if start == prev else f"{start:0{width}d}-{prev:0{width}d}")
        if n is not None:
            start = prev = n
    return ",".join(parts)


def _controller_call():
    from sdk.discovery import controller_socket, find_conf, read_keys
    from sdk.errors import ControllerUnreachable
    from sdk.transport import LocalTransport
    conf = find_conf()
    keys: dict = {}
    transport = None
    if conf:
        try:
            keys = read_keys(conf, ("SlurmctldHost", "ClusterName", "AccountingStorageTRES"))
            keys["SLURM_CONF"] = conf
            transport = LocalTransport(controller_socket(conf))
        except OSError:
            transport = None

    def call(op, args=None):
        if transport is None:
            raise ControllerUnreachable("CONNECTION")
        return transport.call(op, args)
    return call, keys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    call, keys = _controller_call()
    outcome = run(argv, call, conf_keys=keys)
    if outcome.out:
        from commands.output import write_stdout
        write_stdout(outcome.out)
    if outcome.err:
        sys.stderr.write(outcome.err)
    return outcome.code


if __name__ == "__main__":
    sys.exit(main())
