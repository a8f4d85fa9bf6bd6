"""`squeue --start` and `sinfo -R`: golden text from the live Slurm 22.05.8 here (2026-11-28),
fed through our commands with equivalent wire records.

squeue --start jobs (root, from /tmp/jcap):
  164 sbatch --wrap ... ; scancel (CANCELLED on n1)   165 cancelled before it got nodes
  166 sbatch -H -J jsonheld -t 10                     PENDING (JobHeldUser), start unknown
  167 sbatch -J jsonrun -t 5 --wrap 'sleep 300'       RUNNING on n1
  168 sbatch -J bigx -p cpu -N 2 --exclusive -t 5     PENDING (Resources), expected 16:35:56
  169 sbatch -J bigy -p cpu -N 2 --exclusive -t 5     PENDING (Priority), expected 16:40:00
sinfo -R after `scontrol update nodename=n4 state=drain reason="json capture test"` and
`scontrol update nodename=n3 state=down reason="maint window"` (both at 16:31:32), and again after
draining n3 (reason "aaa first", 16:33:36) then n4 ("zzz second", 16:33:37).
"""
import time

from commands import sinfo, squeue


def at(h, m, s):
    return int(time.mktime((2026, 11, 28, h, m, s, 0, 0, -1)))


BASE = dict(user="root", uid=0, gid=0, group="root", account="root", qos="normal",
            partition="cpu", num_nodes=1, num_cpus=1, submit_time=at(16, 30, 54))
JOBS = [
    dict(BASE, job_id=164, name="wrap", state="CANCELLED", start_time=at(16, 30, 54),
         end_time=at(16, 30, 56), nodes="n1"),
    dict(BASE, job_id=165, name="x", state="CANCELLED", start_time=at(16, 30, 56),
         end_time=at(16, 30, 56)),
    dict(BASE, job_id=166, name="jsonheld", state="PENDING", reason="JobHeldUser", priority=0),
    dict(BASE, job_id=167, name="jsonrun", state="RUNNING", start_time=at(16, 30, 56), nodes="n1",
         priority=10014),
    dict(BASE, job_id=168, name="bigx", state="PENDING", reason="Resources", num_nodes=2,
         start_time=at(16, 35, 56), sched_nodes="n[1-2]", priority=10014),
    dict(BASE, job_id=169, name="bigy", state="PENDING", reason="Priority", num_nodes=2,
         start_time=at(16, 40, 0), sched_nodes="n[1-2]", priority=10014),
]
NOW = at(16, 31, 20)


def test_squeue_start_lists_pending_jobs_by_expected_start():  # squeue --start
    text, errors = squeue.format_jobs(JOBS, squeue.parse_options(["--start"], {}), NOW)
    assert errors == []
    assert text == """\
             JOBID PARTITION     NAME     USER ST          START_TIME  NODES SCHEDNODES           NODELIST(REASON)
               168       cpu     bigx     root PD 2026-11-28T16:35:56      2 n[1-2]               (Resources)
               169       cpu     bigy     root PD 2026-11-28T16:40:00      2 n[1-2]               (Priority)
               166       cpu jsonheld     root PD                 N/A      1 (null)               (JobHeldUser)
"""


def test_squeue_start_with_all_states():  # squeue --start -t all
    text, _ = squeue.format_jobs(JOBS, squeue.parse_options(["--start", "-t", "all"], {}), NOW)
    assert text == """\
             JOBID PARTITION     NAME     USER ST          START_TIME  NODES SCHEDNODES           NODELIST(REASON)
               164       cpu     wrap     root CA 2026-11-28T16:30:54      1 (null)               n1
               165       cpu        x     root CA 2026-11-28T16:30:56      1 (null)               
               167       cpu  jsonrun     root  R 2026-11-28T16:30:56      1 (null)               n1
               168       cpu     bigx     root PD 2026-11-28T16:35:56      2 n[1-2]               (Resources)
               169       cpu     bigy     root PD 2026-11-28T16:40:00      2 n[1-2]               (Priority)
               166       cpu jsonheld     root PD                 N/A      1 (null)               (JobHeldUser)
"""


def test_squeue_start_keeps_an_explicit_format_and_sort():
    opts = squeue.parse_options(["--start", "-o", "%i %S", "-S", "-i"], {})
    text, _ = squeue.format_jobs(JOBS, opts, NOW)
    assert text.splitlines()[1:] == ["169 2026-11-28T16:40:00", "168 2026-11-28T16:35:56",
                                     "166 N/A"]


NODE = dict(state="IDLE", cpus=8, real_memory_mb=16000)
NODES = [
    dict(NODE, name="n1", partitions=["cpu"], state="MIXED", cpus_alloc=1),
    dict(NODE, name="n2", partitions=["cpu"]),
    dict(NODE, name="n3", partitions=["gpu"], state="DOWN", reason="maint window",
         reason_user="root", reason_time=at(16, 31, 32)),
    dict(NODE, name="n4", partitions=["gpu"], state="DRAINED", reason="json capture test",
         reason_user="root", reason_time=at(16, 31, 32)),
]
PARTS = [dict(name="cpu", nodes="n[1-2]", is_default=True), dict(name="gpu", nodes="n[3-4]")]


def run_sinfo(argv, nodes=NODES):
    text, errors = sinfo.format_sinfo(PARTS, nodes, sinfo.parse_options(argv, {}), NOW)
    assert errors == []
    return text


def test_sinfo_list_reasons():  # sinfo -R
    assert run_sinfo(["-R"]) == """\
REASON               USER      TIMESTAMP           NODELIST
json capture test    root      2026-11-28T16:31:32 n4
maint window         root      2026-11-28T16:31:32 n3
"""
    assert run_sinfo(["-R", "-h"]).startswith("json capture test ")
    assert run_sinfo(["-R", "-p", "cpu"]) == \
        "REASON               USER      TIMESTAMP           NODELIST\n"  # sinfo -R -p cpu


def test_sinfo_list_reasons_sorted_by_reason_and_long():  # sinfo -R ; sinfo -R -l
    nodes = NODES[:2] + [
        dict(NODE, name="n3", partitions=["gpu"], state="DRAINED", reason="aaa first",
             reason_user="root", reason_time=at(16, 33, 36)),
        dict(NODE, name="n4", partitions=["gpu"], state="DRAINED", reason="zzz second",
             reason_user="root", reason_time=at(16, 33, 37)),
    ]
    assert run_sinfo(["-R"], nodes) == """\
REASON               USER      TIMESTAMP           NODELIST
aaa first            root      2026-11-28T16:33:36 n3
zzz second           root      2026-11-28T16:33:37 n4
"""
    lines = run_sinfo(["-R", "-l"], nodes).splitlines()
    assert lines[0] == time.ctime(NOW)
    assert lines[1:] == [
        "REASON               USER         TIMESTAMP           STATE  NODELIST",
        "aaa first            root(0)      2026-11-28T16:33:36 drain  n3",
        "zzz second           root(0)      2026-11-28T16:33:37 drain  n4",
    ]


def test_sinfo_list_reasons_groups_alike_nodes():
    nodes = [dict(NODE, name=f"n{i}", partitions=["cpu"], state="DRAINED", reason="swap disk",
                  reason_user="root", reason_time=at(16, 0, 0)) for i in range(1, 4)]
    assert run_sinfo(["-R"], nodes).splitlines()[1] == \
        "swap disk            root      2026-11-28T16:00:00 n[1-3]"
