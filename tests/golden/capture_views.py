"""Capture the view corpus from the real Slurm 22.05 on this machine (the reference).

    python tests/golden/capture_views.py            # writes tests/golden/views/*.json

It submits a fixed set of jobs as the user `nobody` (other people use the same real cluster as
root; every case filters to nobody's jobs or names them, so their jobs never show), waits for the
state below, then runs each case with the real command (`/usr/bin/squeue` ...) and records its
argv, environment, stdout, stderr and exit status. tests/e2e/test_views_corpus.py builds the same
state on our cluster (same slurm.conf, FirstJobId = the first id used here, the same jobs in the
same order, ids that others took filled with held jobs) and compares after `normalize()`.

The state: alpha R on n1 (-w n1, 2 CPUs), beta R on n3 (gpu, 2 GPUs), omega R on n2 (-w n2, 2
tasks, 2 days), gamma PD held (long name), delta PD on afterok:alpha, eps COMPLETED, phi FAILED
(exit 3), sig FAILED (killed by signal 9), chi CANCELLED while held. Pinned nodes, explicit time
limits and --mem keep the real cluster's choices deterministic while others use it (without
--mem a job asks for the whole node's memory; an UNLIMITED job started by the backfill pass gets
365 days). The capture waits until slurmdbd agrees with squeue: it receives job records
asynchronously, and sacct shows placeholders (JobName `allocation`) until then.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "views")
REAL_BIN = "/usr/bin"
REAL_CONF = "/etc/slurm/slurm.conf"
WORKDIR = "/tmp/slurm-golden-views"
USER = "nobody"

# (role, sbatch argv after `sbatch`); run as USER in WORKDIR, in this order
JOBS: list[tuple[str, list[str]]] = [
    ("alpha", ["-J", "alpha", "-p", "cpu", "-w", "n1", "-c", "2", "--mem=1000", "-t", "30", "--wrap", "sleep 900"]),
    ("beta", ["-J", "beta", "-p", "gpu", "--gres=gpu:2", "--mem=500", "-t", "1:00:00", "--wrap", "sleep 900"]),
    ("gamma", ["-J", "gamma_has_a_long_name", "--hold", "-t", "10", "--wrap", "true"]),
    ("delta", ["-J", "delta", "-d", "afterok:{alpha}", "--wrap", "true"]),
    ("eps", ["-J", "eps", "-t", "2", "--mem=100", "--wrap", "true"]),
    ("phi", ["-J", "phi", "-t", "2", "--mem=100", "--wrap", "exit 3"]),
    ("sig", ["-J", "sig", "-t", "2", "--mem=100", "--wrap", "kill -9 $$"]),
    ("chi", ["-J", "chi", "--hold", "--wrap", "true"]),
    ("omega", ["-J", "omega", "-w", "n2", "-n", "2", "--mem=200", "-t", "2-00:00:00", "--wrap", "sleep 900"]),
]
ENDED = ("eps", "phi", "sig")
RUNNING = ("alpha", "beta", "omega")
CANCEL = ("chi",)

# Cases: (family, name, argv, options). argv[0] is the command; `{role}` is that job's id,
# `{t0}` the local time (YYYY-MM-DDTHH:MM:SS) just before the first submission. Options: "user" runs it as that user, "env" adds variables,
# "nodes": True marks cases whose output shows node states (captured only while no foreign job runs).
U = ["-u", USER]
SQ_JOBS = "{alpha},{beta},{gamma},{delta},{omega}"
ALL = "{alpha},{beta},{gamma},{delta},{eps},{phi},{sig},{chi},{omega}"
ENDS = "{eps},{phi},{sig},{chi}"
CASES: list[tuple[str, str, list[str], dict]] = []


def case(family: str, name: str, argv: list[str], **opts) -> None:
    CASES.append((family, name, argv, opts))


# ---- squeue
case("squeue", "default_user", ["squeue", *U])
case("squeue", "long", ["squeue", "-l", *U])
case("squeue", "steps", ["squeue", "-s", *U])
case("squeue", "noheader", ["squeue", "-h", *U])
case("squeue", "jobs_list", ["squeue", "-j", SQ_JOBS])
case("squeue", "one_job", ["squeue", "-j", "{alpha}"])
case("squeue", "finished_job_id", ["squeue", "-j", "{eps}"])
case("squeue", "unknown_job", ["squeue", "-j", "999999"])
case("squeue", "bad_job_id", ["squeue", "-j", "abc"])
case("squeue", "me", ["squeue", "--me"], user=USER)
case("squeue", "me_long", ["squeue", "--me", "-l"], user=USER)
case("squeue", "partition_cpu", ["squeue", "-p", "cpu", *U])
case("squeue", "partition_gpu", ["squeue", "-p", "gpu", *U])
case("squeue", "partition_bad", ["squeue", "-p", "nosuch", *U])
case("squeue", "state_pd", ["squeue", "-t", "PD", *U])
case("squeue", "state_r", ["squeue", "-t", "R", *U])
case("squeue", "state_running_long", ["squeue", "-t", "running", *U])
case("squeue", "state_all", ["squeue", "-t", "all", "-j", ALL])
case("squeue", "state_cd_f", ["squeue", "-t", "CD,F,CA", "-j", ALL])
case("squeue", "state_bad", ["squeue", "-t", "bogus", *U])
case("squeue", "name", ["squeue", "-n", "alpha,delta", *U])
case("squeue", "name_none", ["squeue", "-n", "nosuchname", *U])
case("squeue", "nodelist", ["squeue", "-w", "n1", *U])
case("squeue", "nodelist_range", ["squeue", "-w", "n[2-3]", *U])
case("squeue", "account", ["squeue", "-A", "nosuchacct", *U])
case("squeue", "qos", ["squeue", "-q", "normal", *U])
case("squeue", "user_empty", ["squeue", "-u", "daemon"])
case("squeue", "user_bad", ["squeue", "-u", "no_such_user_x"])
case("squeue", "sort_name", ["squeue", "-S", "j", *U])
case("squeue", "sort_name_desc", ["squeue", "-S", "-j", *U])
case("squeue", "sort_id_desc", ["squeue", "-S", "-i", *U])
case("squeue", "sort_state_name", ["squeue", "-S", "t,j", *U])
case("squeue", "fmt_basic", ["squeue", "-o", "%i %j %u %t %M %D %R", *U])
case("squeue", "fmt_widths", ["squeue", "-o", "%.7i %.9P %.8j %.8u %.2t %.10M %.6D %R", *U])
case("squeue", "fmt_left", ["squeue", "-o", "%10i|%-12j|%5t|%20R|", *U])
case("squeue", "fmt_trunc", ["squeue", "-o", "%.3j %.2i %.1u", *U])
case("squeue", "fmt_states", ["squeue", "-o", "%i %T %t %r", "-t", "all", "-j", ALL])
case("squeue", "fmt_cpus_mem", ["squeue", "-o", "%i %C %m %c %D %N", *U])
case("squeue", "fmt_times", ["squeue", "-o", "%i %l %L %V %S %e", *U])
case("squeue", "fmt_ids", ["squeue", "-o", "%A %F %K %i %u %U %g %G", *U])
case("squeue", "fmt_misc", ["squeue", "-o", "%i %a %q %P %h %E", *U])
case("squeue", "fmt_work", ["squeue", "-o", "%i %Z %o", *U])
case("squeue", "fmt_gres", ["squeue", "-o", "%i %b %N", *U])
case("squeue", "fmt_percent", ["squeue", "-o", "%i%%%j", *U])
case("squeue", "fmt_literal", ["squeue", "-o", "job=%i name=%j", *U])
case("squeue", "fmt_noheader", ["squeue", "-h", "-o", "%i", *U])
case("squeue", "fmt_reason_width", ["squeue", "-o", "%.18i %.12r", *U])
case("squeue", "Format_basic", ["squeue", "-O", "JobID,Name,State,UserName", *U])
case("squeue", "Format_widths", ["squeue", "-O", "JobID:8,Name:5,State:.10,Partition:4", *U])
case("squeue", "Format_more", ["squeue", "-O", "JobID,NumCPUs,NumNodes,MinMemory,TimeLimit,Reason", *U])
case("squeue", "Format_nodes", ["squeue", "-O", "JobID,NodeList,ReqNodes,SchedNodes", *U])
case("squeue", "Format_account", ["squeue", "-O", "JobID,Account,QOS,Partition,Dependency", *U])
case("squeue", "Format_states", ["squeue", "-O", "JobID,StateCompact,State", "-t", "all", "-j", ALL])
case("squeue", "Format_bad", ["squeue", "-O", "JobID,NoSuchField", *U])
case("squeue", "env_format", ["squeue", *U], env={"SQUEUE_FORMAT": "%.6i %.5t %j"})
case("squeue", "env_sort", ["squeue", *U], env={"SQUEUE_SORT": "-j"})
case("squeue", "version", ["squeue", "-V"])
case("squeue", "bad_option", ["squeue", "--bogus"])
case("squeue", "long_prefix", ["squeue", "--part=gpu", "--user=" + USER])

# ---- sinfo
case("sinfo", "default", ["sinfo"], nodes=True)
case("sinfo", "nodes", ["sinfo", "-N"], nodes=True)
case("sinfo", "long", ["sinfo", "-l"], nodes=True)
case("sinfo", "nodes_long", ["sinfo", "-N", "-l"], nodes=True)
case("sinfo", "summarize", ["sinfo", "-s"], nodes=True)
case("sinfo", "reasons", ["sinfo", "-R"], nodes=True)
case("sinfo", "partition_gpu", ["sinfo", "-p", "gpu"], nodes=True)
case("sinfo", "partition_bad", ["sinfo", "-p", "nosuch"], nodes=True)
case("sinfo", "state_idle", ["sinfo", "-t", "idle"], nodes=True)
case("sinfo", "state_mix_alloc", ["sinfo", "-t", "mix,alloc"], nodes=True)
case("sinfo", "state_bad", ["sinfo", "-t", "bogus"], nodes=True)
case("sinfo", "nodes_n", ["sinfo", "-n", "n[1-3]"], nodes=True)
case("sinfo", "nodes_n_N", ["sinfo", "-N", "-n", "n3"], nodes=True)
case("sinfo", "noheader", ["sinfo", "-h"], nodes=True)
case("sinfo", "fmt", ["sinfo", "-o", "%P %a %l %D %t %N"], nodes=True)
case("sinfo", "fmt_widths", ["sinfo", "-o", "%10P %.5a %.3D %-8t %N"], nodes=True)
case("sinfo", "fmt_cpus", ["sinfo", "-o", "%P %c %C %m %G"], nodes=True)
case("sinfo", "fmt_node", ["sinfo", "-N", "-o", "%N %T %c %m %G %P"], nodes=True)
case("sinfo", "fmt_misc", ["sinfo", "-o", "%R %F %A %z %f %w"], nodes=True)
case("sinfo", "Format", ["sinfo", "-O", "Partition,Available,Nodes,StateCompact,NodeList"], nodes=True)
case("sinfo", "Format_widths", ["sinfo", "-O", "Partition:5,CPUs:.4,Memory:8,Gres:12"], nodes=True)
case("sinfo", "Format_node", ["sinfo", "-N", "-O", "NodeList,StateLong,CPUsState,AllocMem"], nodes=True)
case("sinfo", "Format_bad", ["sinfo", "-O", "Bogus"], nodes=True)
case("sinfo", "fmt_no_partition", ["sinfo", "-o", "%t %D %N"], nodes=True)
case("sinfo", "fmt_cpus_only", ["sinfo", "-o", "%c %D"], nodes=True)
case("sinfo", "fmt_percent", ["sinfo", "-o", "%P%%%a"], nodes=True)
case("sinfo", "version", ["sinfo", "-V"])
case("sinfo", "summarize_gpu", ["sinfo", "-s", "-p", "gpu"], nodes=True)

# ---- sacct (the default window starts at midnight: the jobs above are all from today)
case("sacct", "default_user", ["sacct", "-S", "{t0}", *U])
case("sacct", "alloc_only", ["sacct", "-X", "-S", "{t0}", *U])
case("sacct", "jobs_list", ["sacct", "-j", ENDS])
case("sacct", "jobs_repeat", ["sacct", "-j", "{eps}", "-j", "{phi}"])
case("sacct", "jobs_all_X", ["sacct", "-X", "-j", ALL])
case("sacct", "one_job_steps", ["sacct", "-j", "{phi}"])
case("sacct", "unknown_job", ["sacct", "-j", "999999"])
case("sacct", "bad_job", ["sacct", "-j", "x1"])
case("sacct", "parsable", ["sacct", "-p", "-j", ENDS])
case("sacct", "parsable2", ["sacct", "-P", "-j", ENDS])
case("sacct", "parsable2_noheader", ["sacct", "-P", "-n", "-j", ENDS])
case("sacct", "noheader", ["sacct", "-n", "-X", "-j", ENDS])
case("sacct", "fmt_basic", ["sacct", "-X", "-j", ENDS, "-o", "JobID,JobName,State,ExitCode"])
case("sacct", "fmt_widths", ["sacct", "-X", "-j", ENDS, "-o", "JobID%5,JobName%3,State%-12,ExitCode%4"])
case("sacct", "fmt_ids", ["sacct", "-j", ENDS, "-o", "JobID,JobIDRaw,User,Partition,AllocCPUS"])
case("sacct", "fmt_tres", ["sacct", "-X", "-j", "{alpha},{beta},{eps}", "-o", "JobID,ReqTRES%40,AllocTRES%40"])
case("sacct", "fmt_nodes", ["sacct", "-j", "{alpha},{omega},{eps}", "-o", "JobID,NodeList,NNodes,NCPUS"])
case("sacct", "fmt_limits", ["sacct", "-X", "-j", ALL, "-o", "JobID,Timelimit,State"])
# (Reason is left out: what the real slurmdbd holds for a pending job depends on update timing)
case("sacct", "fmt_derived", ["sacct", "-X", "-j", ENDS, "-o", "JobID,ExitCode,DerivedExitCode,State"])
case("sacct", "fmt_qos", ["sacct", "-X", "-j", ENDS, "-o", "JobID,QOS%4,Account"])
case("sacct", "fmt_times", ["sacct", "-j", ENDS, "-o", "JobID,Submit,Start,End,Elapsed"])
case("sacct", "fmt_pending_times", ["sacct", "-j", "{gamma},{delta}", "-o", "JobID,State,Start,End,Elapsed,NodeList"])
case("sacct", "fmt_bad", ["sacct", "-o", "JobID,Bogus", *U])
case("sacct", "state_cd", ["sacct", "-s", "CD", "-S", "{t0}", "-E", "now", *U])
case("sacct", "state_f_ca", ["sacct", "-X", "-s", "F,CA", "-S", "{t0}", "-E", "now", *U])
case("sacct", "state_r", ["sacct", "-X", "-s", "R", *U])
case("sacct", "state_bad", ["sacct", "-s", "bogus", *U])
case("sacct", "name", ["sacct", "--name", "eps,phi", "-S", "{t0}", *U])
case("sacct", "name_X", ["sacct", "-X", "--name=alpha", "-S", "{t0}", *U])
case("sacct", "partition", ["sacct", "-X", "-r", "gpu", "-S", "{t0}", *U])
case("sacct", "window_future", ["sacct", "-X", "-S", "now+1hour", *U])
case("sacct", "window_ends_before", ["sacct", "-X", "-S", "2020-01-01", "-E", "2020-01-02", *U])
case("sacct", "user_none", ["sacct", "-u", "daemon"])
case("sacct", "brief", ["sacct", "-b", "-j", ENDS])
case("sacct", "version", ["sacct", "-V"])
case("sacct", "delimiter", ["sacct", "-p", "--delimiter=,", "-X", "-j", ENDS, "-o", "JobID,State"])

# ---- scontrol
case("scontrol", "show_job_running", ["scontrol", "show", "job", "{alpha}"])
case("scontrol", "show_job_gpu", ["scontrol", "show", "job", "{beta}"])
case("scontrol", "show_job_held", ["scontrol", "show", "job", "{gamma}"])
case("scontrol", "show_job_dep", ["scontrol", "show", "job", "{delta}"])
case("scontrol", "show_job_completed", ["scontrol", "show", "job", "{eps}"])
case("scontrol", "show_job_failed", ["scontrol", "show", "job", "{phi}"])
case("scontrol", "show_job_detail", ["scontrol", "show", "job", "-d", "{alpha}"])
case("scontrol", "show_job_detail_gpu", ["scontrol", "-d", "show", "job", "{beta}"])
case("scontrol", "show_job_detail_omega", ["scontrol", "-d", "show", "job", "{omega}"])
case("scontrol", "show_job_oneliner", ["scontrol", "-o", "show", "job", "{alpha}"])
case("scontrol", "show_job_unknown", ["scontrol", "show", "job", "999999"])
case("scontrol", "show_node", ["scontrol", "show", "node", "n1"], nodes=True)
case("scontrol", "show_node_gpu", ["scontrol", "show", "node", "n3"], nodes=True)
case("scontrol", "show_node_oneliner", ["scontrol", "-o", "show", "node", "n4"], nodes=True)
case("scontrol", "show_node_unknown", ["scontrol", "show", "node", "n9"])
case("scontrol", "show_partition", ["scontrol", "show", "partition"], nodes=True)
case("scontrol", "show_partition_gpu", ["scontrol", "show", "partition", "gpu"], nodes=True)
case("scontrol", "show_partition_oneliner", ["scontrol", "-o", "show", "partition", "cpu"], nodes=True)
case("scontrol", "show_partition_unknown", ["scontrol", "show", "partition", "nosuch"])
case("scontrol", "show_config", ["scontrol", "show", "config"])
case("scontrol", "hostnames", ["scontrol", "show", "hostnames", "n[1-3],gpu[01-02]"])
case("scontrol", "hostlist", ["scontrol", "show", "hostlist", "n1,n2,n3,n5,m7"])
case("scontrol", "hostlist_sorted", ["scontrol", "show", "hostlistsorted", "n3,n1,n2"])
case("scontrol", "ping", ["scontrol", "ping"])
case("scontrol", "version", ["scontrol", "-V"])
case("scontrol", "version_long", ["scontrol", "--version"])
case("scontrol", "show_bad_entity", ["scontrol", "show", "bogus"])
case("scontrol", "bad_command", ["scontrol", "frobnicate"])


def normalize(text: str) -> str:
    """What may differ between two runs of the same state: times, durations, session ids.

    Every replacement keeps the text's width, so column alignment is still compared."""
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", "YYYY-MM-DDTHH:MM:SS", text)
    text = re.sub(r"\b[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\b", "Www Mmm dd HH:MM:SS YYYY", text)
    # durations: [D-][HH:]MM:SS; each digit becomes 'd' (ExitCode 'N:S' has one digit after ':')
    text = re.sub(r"(?<![\w:])(\d+-)?(\d+:)?\d+:\d\d(?![\w:])", lambda m: re.sub(r"\d", "d", m.group(0)), text)
    text = re.sub(r"(AllocNode:Sid=)\S+", r"\1*", text)
    # multifactor priorities depend on the submit second (age) and usage history (fair share)
    text = re.sub(r"\bPriority=\d+", "Priority=*", text)
    # which scheduler pass (main or backfill) happened to start a job
    text = re.sub(r"\bScheduler=\w+", "Scheduler=*", text)
    # where the node daemons listen differs by deployment (ours have no slurmd port)
    text = re.sub(r"NodeAddr=\S+ NodeHostName=\S+( Port=\d+)?", "NodeAddr=* NodeHostName=*", text)
    # the host's load and free memory at that moment
    text = re.sub(r"\b(CPULoad|FreeMem)=\S+", r"\1=*", text)
    return text


def _run(argv: list[str], *, user: str | None = None, env: dict | None = None, cwd: str = WORKDIR):
    full = dict(os.environ, SLURM_CONF=REAL_CONF, **(env or {}))
    for key in ("SQUEUE_FORMAT", "SQUEUE_SORT", "SACCT_FORMAT", "SINFO_FORMAT", "SQUEUE_FORMAT2"):
        if key not in (env or {}):
            full.pop(key, None)
    if user:
        argv = ["runuser", "-u", user, "--", *argv]
    return subprocess.run(argv, capture_output=True, text=True, env=full, cwd=cwd, timeout=120)


def _expand(argv: list[str], ids: dict[str, int | str]) -> list[str]:
    return [a.format(**ids) if "{" in a else a for a in argv]


def _foreign_running() -> list[str]:
    proc = _run([f"{REAL_BIN}/squeue", "-h", "-t", "R,CG,CF,S", "-o", "%i %u"])
    return [line for line in proc.stdout.splitlines() if not line.endswith(" " + USER)]


def submit_state() -> dict[str, int | str]:
    os.makedirs(WORKDIR, exist_ok=True)
    os.chmod(WORKDIR, 0o1777)
    time.sleep(1.0)    # jobs a previous capture cancelled ended before t0
    ids: dict[str, int | str] = {"t0": time.strftime("%Y-%m-%dT%H:%M:%S")}
    for role, argv in JOBS:
        proc = _run([f"{REAL_BIN}/sbatch", "--parsable", *_expand(argv, ids)], user=USER)
        if proc.returncode != 0:
            raise SystemExit(f"sbatch for {role} failed: {proc.stderr}")
        ids[role] = int(proc.stdout.strip().split(";")[0])
        if role in CANCEL:
            _run([f"{REAL_BIN}/scancel", str(ids[role])], user=USER)
    deadline = time.time() + 120
    while time.time() < deadline:
        proc = _run([f"{REAL_BIN}/squeue", "-h", "-t", "all", "-u", USER, "-o", "%i %T"])
        states = dict(line.split() for line in proc.stdout.splitlines())
        ended = all(states.get(str(ids[r]), "GONE") not in ("PENDING", "RUNNING", "COMPLETING", "CONFIGURING")
                    for r in ENDED)
        running = all(states.get(str(ids[r])) == "RUNNING" for r in RUNNING)
        if ended and running and _database_caught_up(ids, states):
            return ids
        time.sleep(0.5)
    raise SystemExit(f"the state did not settle: {states}")


def _database_caught_up(ids: dict, states: dict[str, str]) -> bool:
    """slurmctld sends job records to slurmdbd asynchronously: until they arrive, sacct shows
    placeholders (JobName `allocation`, no partition). Wait until it agrees with squeue."""
    roles = {str(ids[role]): argv[argv.index("-J") + 1] for role, argv in JOBS}
    proc = _run([f"{REAL_BIN}/sacct", "-X", "-n", "-P", "-o", "jobid,jobname,state,partition",
                 "-j", ",".join(roles)])
    seen = {}
    for line in proc.stdout.splitlines():
        job_id, name, state, partition = line.split("|")
        seen[job_id] = (name, state.split()[0], partition)
    return all(job_id in seen and seen[job_id][0] == name and seen[job_id][2]
               and seen[job_id][1] == states.get(job_id, seen[job_id][1])
               for job_id, name in roles.items())


def capture(ids: dict[str, int | str]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for family, name, argv, opts in CASES:
        real = [f"{REAL_BIN}/{argv[0]}", *_expand(argv[1:], ids)]
        for _ in range(60):
            if not opts.get("nodes") or not _foreign_running():
                proc = _run(real, user=opts.get("user"), env=opts.get("env"))
                if not opts.get("nodes") or not _foreign_running():
                    break
            time.sleep(2)
        else:
            raise SystemExit(f"{family}/{name}: other jobs kept running on the real cluster")
        out.setdefault(family, []).append({
            "name": name, "argv": argv, "user": opts.get("user"), "env": opts.get("env") or {},
            "real_command": " ".join(real),
            "stdout": proc.stdout, "stderr": proc.stderr, "rc": proc.returncode,
        })
    return out


def golden_conf() -> str:
    """The reference slurm.conf without what is specific to the real daemons (ports, paths,
    munge, slurmdbd): `slurm-local up --conf` fills those in for ours."""
    drop = re.compile(r"^(SlurmctldPort|SlurmdPort|AuthType|StateSaveLocation|SlurmdSpoolDir|\w+PidFile|"
                      r"\w+LogFile|ProctrackType|TaskPlugin|SwitchType|MpiDefault|JobComp\w+|"
                      r"AccountingStorage\w+|JobAcctGather\w+|SlurmdParameters)=", re.I)
    lines = []
    for line in open(REAL_CONF).read().splitlines():
        if drop.match(line):
            continue
        lines.append(re.sub(r" (NodeHostname|Port)=\S+", "", line))
    return "\n".join(lines) + "\n"


def main() -> int:
    ids = submit_state()
    try:
        families = capture(ids)
    finally:
        for role in RUNNING + ("gamma", "delta"):
            _run([f"{REAL_BIN}/scancel", str(ids[role])], user=USER)
    os.makedirs(OUT_DIR, exist_ok=True)
    setup = {"captured_by": "tests/golden/capture_views.py", "slurm": _run([f"{REAL_BIN}/sinfo", "-V"]).stdout.strip(),
             "captured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "user": USER, "workdir": WORKDIR,
             "t0": ids["t0"], "jobs": [{"role": r, "argv": a, "job_id": ids[r]} for r, a in JOBS], "ended": ENDED,
             "running": RUNNING, "cancel": CANCEL, "slurm_conf": golden_conf()}
    with open(os.path.join(OUT_DIR, "setup.json"), "w") as f:
        json.dump(setup, f, indent=1)
        f.write("\n")
    total = 0
    for family, cases in families.items():
        with open(os.path.join(OUT_DIR, f"{family}.json"), "w") as f:
            json.dump(cases, f, indent=1)
            f.write("\n")
        total += len(cases)
    print(f"{total} cases in {OUT_DIR}; job ids {ids}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
