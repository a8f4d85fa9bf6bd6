"""sacct: golden text captured from the live Slurm 22.05 here (`sacct -j 5,7,9,11` and variants,
jobs as in test_squeue_view.py; by then 5, 7 and 11 had been cancelled by root), fed through
commands.sacct with equivalent accounting records."""
import os
import subprocess
import sys
import time

import pytest

from commands import sacct

sys.path.insert(0, os.path.dirname(__file__))
from fakectl_views import FakeController, conf_for  # noqa: E402

T0 = int(time.mktime((2026, 11, 28, 15, 27, 54, 0, 0, -1)))
NOW = T0 + 40
BASE = dict(user="root", uid=0, gid=0, group="root", account="root", qos="normal",
            submit_time=T0, eligible_time=T0, work_dir="/tmp/gold", num_cpus=1)


def batch(state, start, end, code=0, sig=0, nodes="n1"):
    return dict(step_id="batch", name="batch", state=state, start_time=start, end_time=end,
                exit_code=code, exit_signal=sig, num_cpus=1, nodes=nodes,
                alloc_tres="cpu=1,mem=16000M,node=1", max_rss_kb=3212, total_cpu_s=0.003)


RECORDS = [
    {"job": dict(BASE, job_id=5, name="sleeper", partition="cpu", state="CANCELLED", cancelled_by=0,
                 start_time=T0 + 2, end_time=T0 + 36, nodes="n2"),
     "steps": [batch("CANCELLED", T0 + 2, T0 + 36, 0, 15, "n2")]},
    {"job": dict(BASE, job_id=7, name="gpujob", partition="gpu", state="CANCELLED", cancelled_by=0,
                 end_time=T0 + 36, num_cpus=2, time_limit_min=30), "steps": []},
    {"job": dict(BASE, job_id=9, name="failer", partition="cpu", state="FAILED", exit_code=3,
                 start_time=T0 + 5, end_time=T0 + 5, nodes="n1",
                 alloc_tres="cpu=1,mem=16000M,node=1,billing=1", req_tres="cpu=1,mem=16000M,node=1,billing=1",
                 submit_line="sbatch -J failer --wrap exit 3"),
     "steps": [batch("FAILED", T0 + 5, T0 + 5, 3)]},
    {"job": dict(BASE, job_id=11, name="longname_abcdefghijklmnop", partition="gpu", state="CANCELLED",
                 cancelled_by=0, num_cpus=2, start_time=T0 + 13, end_time=T0 + 36, nodes="n[3-4]"),
     "steps": [batch("CANCELLED", T0 + 13, T0 + 36, 0, 15, "n3")]},
    {"job": dict(BASE, job_id=54, name="held2", partition="cpu", state="PENDING", reason="JobHeldUser",
                 held=True), "steps": []},
]


def run(argv, records=RECORDS):
    return sacct.format_sacct(records, sacct.parse_options(argv, NOW, {}, uid=0), NOW)


def test_default():  # sacct -j 5,7,9,11,54
    assert run(["-j", "5,7,9,11,54"]) == """\
JobID           JobName  Partition    Account  AllocCPUS      State ExitCode 
------------ ---------- ---------- ---------- ---------- ---------- -------- 
5               sleeper        cpu       root          1 CANCELLED+      0:0 
5.batch           batch                  root          1  CANCELLED     0:15 
7                gpujob        gpu       root          2 CANCELLED+      0:0 
9                failer        cpu       root          1     FAILED      3:0 
9.batch           batch                  root          1     FAILED      3:0 
11           longname_+        gpu       root          2 CANCELLED+      0:0 
11.batch          batch                  root          1  CANCELLED     0:15 
54                held2        cpu       root          1    PENDING      0:0 
"""


def test_allocations_only():  # sacct -X
    assert [line.split()[0] for line in run(["-X", "-n", "-j", "5"]).splitlines()] == ["5", "7", "9", "11", "54"]


def test_parsable_forms():  # sacct -P ; sacct -p -n
    assert run(["-P", "-j", "5"], RECORDS[:1]) == (
        "JobID|JobName|Partition|Account|AllocCPUS|State|ExitCode\n"
        "5|sleeper|cpu|root|1|CANCELLED by 0|0:0\n"
        "5.batch|batch||root|1|CANCELLED|0:15\n")
    assert run(["-p", "-n", "-j", "5"], RECORDS[:1]) == (
        "5|sleeper|cpu|root|1|CANCELLED by 0|0:0|\n5.batch|batch||root|1|CANCELLED|0:15|\n")
    assert run(["-P", "--delimiter=,", "-n", "-X", "-j", "9", "-o", "jobid,state"], RECORDS[2:3]) == "9,FAILED\n"


def test_brief():  # sacct -b
    assert run(["-b", "-j", "9"], RECORDS[2:3]) == """\
JobID             State ExitCode 
------------ ---------- -------- 
9                FAILED      3:0 
9.batch          FAILED      3:0 
"""


def test_identity_and_resource_fields():  # sacct -j 9 -o JobID,JobIDRaw,...,ReqTRES
    assert run(["-j", "9", "-o", "JobID,JobIDRaw,JobName,Partition,Account,User,UID,Group,AllocCPUS,"
                "NCPUS,NNodes,NodeList,AllocTRES,ReqTRES"], RECORDS[2:3]) == """\
JobID        JobIDRaw        JobName  Partition    Account      User    UID     Group  AllocCPUS      NCPUS   NNodes        NodeList  AllocTRES    ReqTRES 
------------ ------------ ---------- ---------- ---------- --------- ------ --------- ---------- ---------- -------- --------------- ---------- ---------- 
9            9                failer        cpu       root      root      0      root          1          1        1              n1 billing=1+ billing=1+ 
9.batch      9.batch           batch                  root                                     1          1        1              n1 cpu=1,mem+            
"""


def test_time_fields():  # sacct -j 5,7,54 -o JobID,State,ExitCode,DerivedExitCode,Elapsed,...,Timelimit
    text = run(["-j", "5,7,54", "-o", "JobID,State,ExitCode,DerivedExitCode,Elapsed,ElapsedRaw,Start,End,"
                "Submit,Eligible,Timelimit"], [RECORDS[0], RECORDS[1], RECORDS[4]])
    assert text.splitlines() == [
        "JobID             State ExitCode DerivedExitCode    Elapsed ElapsedRaw               Start                 End              Submit            Eligible  Timelimit ",
        "------------ ---------- -------- --------------- ---------- ---------- ------------------- ------------------- ------------------- ------------------- ---------- ",
        "5            CANCELLED+      0:0             0:0   00:00:34         34 2026-11-28T15:27:56 2026-11-28T15:28:30 2026-11-28T15:27:54 2026-11-28T15:27:54  UNLIMITED ",
        "5.batch       CANCELLED     0:15                   00:00:34         34 2026-11-28T15:27:56 2026-11-28T15:28:30 2026-11-28T15:27:56 2026-11-28T15:27:56            ",
        # a job cancelled before it started shows its end time as Start once slurmdbd has the
        # record (re-observed 17:29 with a held and a --begin job: `sacct -X -j 501,502 -o ...Start,End`;
        # this capture's `None` was read before the database caught up)
        "7            CANCELLED+      0:0             0:0   00:00:00          0 2026-11-28T15:28:30 2026-11-28T15:28:30 2026-11-28T15:27:54 2026-11-28T15:27:54   00:30:00 ",
        # never started, no -t: the partition's limit is still to come (real Slurm: Partition+)
        "54              PENDING      0:0             0:0   00:00:00          0             Unknown             Unknown 2026-11-28T15:27:54             Unknown Partition+ ",
    ]


def test_misc_fields_parsable():  # sacct -j 9 -o JobID,Reason,Priority,QOS,WorkDir,MaxRSS,TotalCPU,Comment,SubmitLine -p
    assert run(["-j", "9", "-p", "-o", "JobID,Reason,Priority,QOS,WorkDir,MaxRSS,TotalCPU,Comment,SubmitLine"],
               [dict(RECORDS[2], job=dict(RECORDS[2]["job"], priority=10014))]) == (
        "JobID|Reason|Priority|QOS|WorkDir|MaxRSS|TotalCPU|Comment|SubmitLine|\n"
        "9|None|10014|normal|/tmp/gold||00:00.003||sbatch -J failer --wrap exit 3|\n"
        "9.batch|||||3212K|00:00.003|||\n")


def test_explicit_widths():  # sacct -j 10 -o JobID%5,JobName%-20,State%30,NodeList%3
    rec = {"job": dict(BASE, job_id=10, name="cancelme", partition="cpu", state="CANCELLED",
                       cancelled_by=0, start_time=T0 + 7, end_time=T0 + 10, nodes="n1"),
           "steps": [batch("CANCELLED", T0 + 7, T0 + 10, 0, 15)]}
    assert run(["-j", "10", "-o", "JobID%5,JobName%-20,State%30,NodeList%3"], [rec]) == """\
JobID JobName                                       State Nod 
----- -------------------- ------------------------------ --- 
   10 cancelme                             CANCELLED by 0  n1 
10.b+ batch                                     CANCELLED  n1 
"""


def test_option_errors():
    cases = [
        (["-o", "Bogus"], ['sacct: error: Invalid field requested: "Bogus"']),       # sacct -o Bogus
        (["-o", "Restarts"], ['sacct: error: Invalid field requested: "Restarts"']),  # not a 22.05 field
        (["-j", "abc"], ["sacct: fatal: Bad job/step specified: abc"]),                # sacct -j abc
        (["--state=bogus"], ["sacct: fatal: unrecognized job state value 'bogus'"]),
        (["-u", "nosuch_user_xyz"], ["sacct: error: Invalid user id: nosuch_user_xyz"]),
        (["-S", "garbage"], ["Invalid time specification (pos=0): garbage"]),
        (["-z"], ["sacct: invalid option -- 'z'"]),
    ]
    for argv, lines in cases:
        with pytest.raises(sacct.UsageError) as info:
            sacct.parse_options(argv, NOW, {}, uid=0)
        assert info.value.lines == lines, argv


def test_time_window_and_request():
    opts = sacct.parse_options([], NOW, {}, uid=0)
    assert (opts.start, opts.end) == (sacct.midnight(NOW), NOW)    # midnight today .. now
    opts = sacct.parse_options(["-j", "5", "-j", "7,9.batch"], NOW, {}, uid=0)
    assert opts.job_ids == [5, 7, 9] and opts.start == 0           # -j: from the epoch
    opts = sacct.parse_options(["-s", "CA,r"], NOW, {}, uid=1000)
    assert opts.states == ["CANCELLED", "RUNNING"] and opts.start == NOW and not opts.all_users
    opts = sacct.parse_options(["-a", "--name=x,y", "-r", "gpu", "-S", "2026-11-01", "-E", "now"], NOW, {}, uid=1000)
    args = sacct.request_args(opts)
    assert args["all_users"] and args["names"] == ["x", "y"] and args["partitions"] == ["gpu"]
    assert args["start"] == int(time.mktime((2026, 11, 1, 0, 0, 0, 0, 0, -1))) and args["end"] == NOW
    assert sacct.parse_options([], NOW, {"SACCT_FORMAT": "jobid,state"}, uid=0).fields == [("jobid", -12), ("state", 10)]


def test_e2e(tmp_path):
    server = FakeController(str(tmp_path / "ctl.sock"), {"accounting": {"records": RECORDS[2:3]}})
    env = dict(os.environ, SLURM_CONF=conf_for(server.path, tmp_path))
    try:
        res = subprocess.run([sys.executable, "-m", "commands.sacct", "-j", "9", "-X", "-P", "-n"], env=env,
                             capture_output=True, text=True, timeout=30)
        assert (res.returncode, res.stdout) == (0, "9|failer|cpu|root|1|FAILED|3:0\n")
        op, args = server.requests[-1]
        assert op == "accounting" and args["job_ids"] == [9] and args["start"] == 0
    finally:
        server.close()
    res = subprocess.run([sys.executable, "-m", "commands.sacct"], env=env, capture_output=True,
                         text=True, timeout=30)
    assert (res.returncode, res.stderr) == (1, "sacct: error: Problem talking to the database: Connection refused\n")
