"""sdiag: layout checked against `/usr/bin/sdiag` on the live Slurm 22.05.8 here (2026-11-28,
tests/commands/data/slurm_sdiag.txt), filled from the controller's `stats` op."""
import os
import re
import subprocess
import sys
import time

from commands import sdiag

sys.path.insert(0, os.path.dirname(__file__))
from fakectl_views import FakeController, conf_for  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), "data", "slurm_sdiag.txt")
STATS = {"jobs_submitted": 78, "jobs_started": 14, "jobs_ended": 6, "cycles": 92,
         "last_cycle_s": 0.00002, "mean_cycle_s": 0.000105,
         "rpc_counts": {"jobs": 73, "partitions": 82, "ping": 5, "submit": 80, "cancel": 99},
         "agent_frames_in": 3, "agent_frames_out": 4, "agent_frames_dropped": 0, "outbox": 0}
NOW = int(time.mktime((2026, 11, 28, 16, 30, 58, 0, 0, -1)))


def _label(line):
    return re.sub(r"[\d\s]+$", "", line.split(":", 1)[0]) if ":" in line else line


def test_head_and_job_counters_match_slurm_layout():
    text = sdiag.format_sdiag(STATS, NOW)
    lines = text.splitlines()
    assert lines[0] == "*" * 55
    assert lines[1] == f"sdiag output at Sat Nov 28 16:30:58 2026 ({NOW})"
    assert lines[3:19] == """\
*******************************************************
Server thread count:  0
Agent queue size:     0
Agent count:          0
Agent thread count:   0
DBD Agent queue size: 0

Jobs submitted: 78
Jobs started:   14
Jobs completed: 6
Jobs canceled:  0
Jobs failed:    0

Job states ts:  Sat Nov 28 16:30:58 2026 ({})
Jobs pending:   0
Jobs running:   0""".format(NOW).splitlines()
    assert "\tLast cycle:   20\n\tMax cycle:    0\n\tTotal cycles: 92\n\tMean cycle:   105\n" in text
    assert text.endswith("\nPending RPC statistics\n\tNo pending RPCs\n")


def test_every_label_is_one_slurm_prints():
    with open(DATA) as f:
        real = f.read()
    real_labels = {_label(line) for line in real.splitlines()}
    ours = sdiag.format_sdiag(STATS, NOW)
    for line in ours.splitlines():
        if line.startswith(("sdiag output", "Data since", "Job states ts", "\tREQUEST_")):
            continue
        assert _label(line) in real_labels or line == "\tLast cycle when: N/A", line


def test_rpc_table_uses_slurm_names_widths_and_count_order():
    text = sdiag.format_sdiag(STATS, NOW)
    table = text.split("by message type\n", 1)[1].split("\n\n", 1)[0].splitlines()
    with open(DATA) as f:
        real = f.read()
    # the same columns as Slurm: REQUEST_JOB_INFO (2003) lines up with the captured one
    assert "\tREQUEST_JOB_INFO                        ( 2003) count:73     ave_time:" in real
    assert table == [
        "\tREQUEST_KILL_JOB                        ( 5032) count:99     ave_time:0      total_time:0",
        "\tREQUEST_PARTITION_INFO                  ( 2009) count:82     ave_time:0      total_time:0",
        "\tREQUEST_SUBMIT_BATCH_JOB                ( 4003) count:80     ave_time:0      total_time:0",
        "\tREQUEST_JOB_INFO                        ( 2003) count:73     ave_time:0      total_time:0",
        "\tREQUEST_PING                            ( 1008) count:5      ave_time:0      total_time:0",
    ]
    by_id = [row[1] for row in sdiag.rpc_rows(STATS, "id")]
    assert by_id == sorted(by_id)


def test_rpc_times_when_the_controller_reports_them():
    rows = sdiag.rpc_rows({"rpc_counts": {"jobs": 4}, "rpc_times_s": {"jobs": 0.002}}, "time")
    assert rows == [("REQUEST_JOB_INFO", 2003, 4, 500, 2000)]


def test_e2e_module_runs(tmp_path):  # python -m commands.sdiag
    server = FakeController(str(tmp_path / "ctl.sock"), {"stats": STATS})
    try:
        env = dict(os.environ, SLURM_CONF=conf_for(server.path, tmp_path))
        res = subprocess.run([sys.executable, "-m", "commands.sdiag"], env=env,
                             capture_output=True, text=True, timeout=20)
    finally:
        server.close()
    assert res.returncode == 0, res.stderr
    assert "Jobs submitted: 78\n" in res.stdout
    assert server.requests == [("stats", {})]
    env = dict(os.environ, SLURM_CONF=conf_for(str(tmp_path / "gone.sock"), tmp_path))
    res = subprocess.run([sys.executable, "-m", "commands.sdiag"], env=env, capture_output=True,
                         text=True, timeout=20)
    assert res.returncode == 1 and res.stderr.startswith("slurm_get_statistics: ")


def test_backfill_block_with_cycles_has_slurms_lines():
    # labels and order from `sdiag` on the real Slurm 22.05 here after backfill had run:
    # Total backfilled jobs ... Total cycles: 22 / Last cycle when: ... / Mean cycle / Depth Mean /
    # Queue length mean / Last table size / Mean table size
    stats = {"cycles": 3, "backfill": {
        "cycles": 2, "backfilled_jobs": 5, "last_cycle_when": 1795888136, "last_cycle_s": 0.25,
        "max_cycle_s": 0.5, "total_cycle_s": 0.75, "last_depth": 7, "total_depth": 9,
        "last_queue_length": 4, "total_queue_length": 6}}
    text = sdiag.format_sdiag(stats, 1795888200)
    block = text.split("Backfilling stats\n", 1)[1].split("\n\n", 1)[0].split("\n")
    labels = [line.split(":")[0] for line in block]
    assert labels == [
        "\tTotal backfilled jobs (since last slurm start)",
        "\tTotal backfilled jobs (since last stats cycle start)",
        "\tTotal backfilled heterogeneous job components", "\tTotal cycles", "\tLast cycle when",
        "\tLast cycle", "\tMax cycle", "\tMean cycle", "\tLast depth cycle",
        "\tLast depth cycle (try sched)", "\tDepth Mean", "\tDepth Mean (try depth)",
        "\tLast queue length", "\tQueue length mean", "\tLast table size", "\tMean table size"]
    assert block[0].endswith(": 5") and block[3].endswith(": 2") and block[7] == "\tMean cycle: 375000"
    assert block[10] == "\tDepth Mean: 4" and block[13] == "\tQueue length mean: 3"
