"""Job arrays in squeue, scontrol show job and sacct, against golden text from Slurm 22.05 here.

Array 185 was `sbatch --array=1-5%2 a.sh` (tasks 1 and 2 running as jobs 204 and 206, 3-5
pending behind the throttle); array 424 was `sbatch --hold --array=0-5%2 --wrap true`.
Each test names the command that produced its expected text.
"""
import pytest

from commands import sacct, scontrol, squeue

BASE = dict(user="root", uid=0, gid=0, group="root", account="root", qos="normal", partition="cpu",
            name="a.sh", submit_time=1000, num_nodes=1, num_cpus=1, priority=10014)
PENDING_185 = dict(BASE, job_id=185, state="PENDING", reason="JobArrayTaskLimit", array_job_id=185,
                   array_task_id=None, array_task_str="3-5", array_max_tasks=2)
TASK_1 = dict(BASE, job_id=204, state="RUNNING", reason="None", array_job_id=185, array_task_id=1,
              array_max_tasks=2, start_time=1010, nodes="n1")
TASK_2 = dict(BASE, job_id=206, state="RUNNING", reason="None", array_job_id=185, array_task_id=2,
              array_max_tasks=2, start_time=1012, nodes="n1")
ARRAY_185 = [PENDING_185, TASK_2, TASK_1]
HELD_424 = dict(BASE, job_id=424, name="wrap", state="PENDING", reason="JobHeldUser", priority=0,
                array_job_id=424, array_task_id=None, array_task_str="0-5", array_max_tasks=2)


def show(argv, jobs):
    text, errors = squeue.format_jobs(jobs, squeue.parse_options(argv, {}), 1020)
    assert errors == []
    return text


def test_pending_record_and_started_tasks():   # squeue -o "%.14i %.6F %.6K %.5A %.4t %r"
    assert show(["-o", "%.14i %.6F %.6K %.5A %.4t %r"], ARRAY_185) == """\
         JOBID ARRAY_ ARRAY_ JOBID   ST REASON
   185_[3-5%2]    185  3-5%2   185   PD JobArrayTaskLimit
         185_2    185      2   206    R None
         185_1    185      1   204    R None
"""


def test_array_option_gives_each_pending_index_a_line():   # squeue -r -o "%i/%A/%t/%r" -h
    assert show(["-r", "-h", "-o", "%i/%A/%t/%r"], ARRAY_185).split() == [
        "185_3/185/PD/JobArrayTaskLimit", "185_4/185/PD/JobArrayTaskLimit", "185_5/185/PD/JobArrayTaskLimit",
        "185_2/206/R/None", "185_1/204/R/None"]
    assert show(["--array", "-h", "-o", "%i"], ARRAY_185).split()[:3] == ["185_3", "185_4", "185_5"]


@pytest.mark.parametrize("ids, lines", [
    ("424_3", ["424_3 424 424 3"]),                      # squeue -j 424_3 -o "%i %A %F %K"
    ("424_3,424_4", ["424_[3-4] 424 424 3-4"]),           # squeue -j 424_3,424_4 ...
    ("424", ["424_[0-5%2] 424 424 0-5%2"]),               # squeue -j 424 ...
    ("424_9", []),                                        # squeue -j 424_9 ...
    ("424_x", ["424_0 424 424 0"]),                       # squeue -j 424_x ... (strtol reads 0)
    ("424_[1-3]", ["424_0 424 424 0"]),                   # squeue -j 424_[1-3] ...
])
def test_job_ids_select_array_tasks(ids, lines):
    assert show(["-h", "-j", ids, "-o", "%i %A %F %K"], [HELD_424]).splitlines() == lines


def test_array_with_task_list_and_r():   # squeue -r -j 424_3 -o "%i %A"
    assert show(["-h", "-r", "-j", "424_3", "-o", "%i %A"], [HELD_424]) == "424_3 424\n"


def test_task_ids_select_started_records_and_own_ids():
    assert show(["-h", "-j", "185_1", "-o", "%i %A"], ARRAY_185) == "185_1 204\n"
    # named by its own id and by another index of the same array: both shown
    assert show(["-h", "-j", "206,185_1", "-o", "%i"], ARRAY_185).split() == ["185_2", "185_1"]


def test_plain_jobs_are_unchanged():
    plain = dict(BASE, job_id=7, state="PENDING", reason="Priority")
    assert show(["-h", "-r", "-o", "%i %F %K"], [plain]) == "7 7 N/A\n"


def _call(jobs):
    def call(op, args):
        assert op == "jobs"
        wanted = set(args.get("job_ids") or [])
        return {"jobs": [j for j in jobs if not wanted or j["job_id"] in wanted or j.get("array_job_id") in wanted]}
    return call


def test_scontrol_heads():
    # scontrol show job 185 (pending record) / 204 (a started task)
    outcome = scontrol.run(["show", "job", "185"], _call(ARRAY_185), now=1020)
    heads = [line for line in outcome.out.splitlines() if line.startswith("JobId=")]
    assert heads == ["JobId=185 ArrayJobId=185 ArrayTaskId=3-5%2 ArrayTaskThrottle=2 JobName=a.sh",
                     "JobId=204 ArrayJobId=185 ArrayTaskId=1 ArrayTaskThrottle=2 JobName=a.sh",
                     "JobId=206 ArrayJobId=185 ArrayTaskId=2 ArrayTaskThrottle=2 JobName=a.sh"]


def test_scontrol_task_of_pending_record_and_unknown_task():
    # scontrol show job 424_3: the pending record shown as that task
    outcome = scontrol.run(["show", "job", "424_3"], _call([HELD_424]), now=1020)
    assert outcome.out.splitlines()[0] == "JobId=424 ArrayJobId=424 ArrayTaskId=3 ArrayTaskThrottle=2 JobName=wrap"
    # scontrol show job 424_9: on stdout, exit 1; 424_x: refused
    outcome = scontrol.run(["show", "job", "424_9"], _call([HELD_424]), now=1020)
    assert (outcome.out, outcome.code) == ("Job 424_9 not found\n", 1)
    outcome = scontrol.run(["show", "job", "424_x"], _call([HELD_424]), now=1020)
    assert (outcome.err, outcome.code) == ("scontrol_print_job error: Invalid job id specified\n", 1)


def _records(jobs):
    return [{"job": j, "steps": [{"step_id": "batch", "name": "batch", "state": j["state"]}]} for j in jobs]


def test_sacct_job_ids():
    # sacct -j 185 -o JobID,JobIDRaw (finished: 185_1 .. 185_5, raw ids 204 206 222 240 185)
    done = [dict(TASK_1, state="COMPLETED"), dict(TASK_2, state="COMPLETED"),
            dict(PENDING_185, state="COMPLETED", array_task_id=5, array_task_str="")]
    opts = sacct.parse_options(["-j", "185", "-X", "-n", "-o", "JobID,JobIDRaw"], 2000, {}, 0)
    rows = sacct.format_sacct(sacct.select_array_tasks(_records(done), opts), opts, 2000).split("\n")
    assert [r.split() for r in rows if r] == [["185_1", "204"], ["185_2", "206"], ["185_5", "185"]]
    opts = sacct.parse_options(["-j", "185_2", "-X", "-n", "-o", "JobID,JobIDRaw"], 2000, {}, 0)
    rows = sacct.format_sacct(sacct.select_array_tasks(_records(done), opts), opts, 2000).split("\n")
    assert [r.split() for r in rows if r] == [["185_2", "206"]]


def test_sacct_pending_record():   # sacct -j 266 -o JobID%30,JobIDRaw,State
    record = dict(HELD_424, job_id=266, array_job_id=266, array_task_str="0,4-6,8-9", array_max_tasks=3)
    opts = sacct.parse_options(["-j", "266", "-X", "-n", "-o", "JobID%30,JobIDRaw,State"], 2000, {}, 0)
    assert sacct.format_sacct(_records([record]), opts, 2000).split() == ["266_[0,4-6,8-9%3]", "266", "PENDING"]
    # sacct -j 266_4: a task that has not started has no record
    opts = sacct.parse_options(["-j", "266_4", "-X", "-n"], 2000, {}, 0)
    assert sacct.select_array_tasks(_records([record]), opts) == []


def test_record_with_every_index_cancelled():
    # scancel 473_[0-2] on `sbatch --hold --array=0-2`: squeue -t all / scontrol show job 473
    record = dict(HELD_424, job_id=473, array_job_id=473, array_task_str="", array_max_tasks=0, state="CANCELLED")
    assert show(["-h", "-t", "all", "-o", "%i|%t"], [record]) == "473|CA\n"
    outcome = scontrol.run(["show", "job", "473"], _call([record]), now=1020)
    assert outcome.out.splitlines()[0] == "JobId=473 ArrayJobId=473 ArrayTaskId=4294967294 JobName=wrap"
