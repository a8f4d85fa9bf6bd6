"""Job arrays on a real local cluster: sbatch --array, the throttle, each task's environment and
output file, squeue/scontrol/sacct views, scancel of indices, dependencies on the whole array,
and the pending remainder surviving a controller restart. Expected forms were observed on the
Slurm 22.05 here (see tests/commands/test_array_views.py and tests/conf/test_arrays.py)."""
import os
import time

import pytest

pytestmark = pytest.mark.slow

SCRIPT = """#!/bin/bash
echo "job=$SLURM_JOB_ID array=$SLURM_ARRAY_JOB_ID task=$SLURM_ARRAY_TASK_ID count=$SLURM_ARRAY_TASK_COUNT \
min=$SLURM_ARRAY_TASK_MIN max=$SLURM_ARRAY_TASK_MAX step=$SLURM_ARRAY_TASK_STEP"
sleep 1
"""


def _squeue(cluster, *argv):
    return cluster.cmd("squeue", "-h", *argv, check=True).stdout.split()


def test_array_runs_throttled_and_is_accounted(cluster):
    script = os.path.join(cluster.workdir, "arr.sh")
    with open(script, "w") as f:
        f.write(SCRIPT)
    out = cluster.cmd("sbatch", "--array=0-5%2", "--mem=100", "-o", "arr-%A_%3a.out", script, check=True).stdout
    assert out.startswith("Submitted batch job ")
    array_id = int(out.split()[-1])
    after = cluster.sbatch("-d", f"afterok:{array_id}", "--mem=100", "--wrap", "true")
    # the throttle holds the rest back with Slurm's reason, never more than 2 running
    seen_limit = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = [line.split("|") for line in cluster.cmd(
            "squeue", "-h", "-j", str(array_id), "-o", "%i|%t|%r", check=True).stdout.splitlines()]
        assert sum(1 for _, st, _ in rows if st == "R") <= 2
        seen_limit = seen_limit or any(r == "JobArrayTaskLimit" and i.startswith(f"{array_id}_[") for i, _, r in rows)
        if not rows:
            break
        time.sleep(0.1)
    assert seen_limit
    cluster.wait_state(after, ("COMPLETED",))
    job_ids = {}
    for task in range(6):
        text = open(os.path.join(cluster.workdir, f"arr-{array_id}_{task:03d}.out")).read().split()
        fields = dict(item.split("=") for item in text)
        assert (fields["array"], fields["task"], fields["count"], fields["min"], fields["max"], fields["step"]) == (
            str(array_id), str(task), "6", "0", "5", "1")
        job_ids[task] = int(fields["job"])
    assert job_ids[5] == array_id and len(set(job_ids.values())) == 6      # the last one keeps the id
    rows = cluster.cmd("sacct", "-j", str(array_id), "-X", "-n", "-P", "-o", "JobID,JobIDRaw,State",
                       check=True).stdout.split()
    assert sorted(rows) == sorted(f"{array_id}_{t}|{job_ids[t]}|COMPLETED" for t in range(6))
    one = cluster.cmd("sacct", "-j", f"{array_id}_3", "-X", "-n", "-P", "-o", "JobID,JobIDRaw", check=True).stdout
    assert one.split() == [f"{array_id}_3|{job_ids[3]}"]
    # the dependent job started only after every task had ended
    ends = [cluster.client().job(j).end_time for j in job_ids.values()]
    assert cluster.client().job(after).start_time >= max(ends)


def test_cancel_indices_and_restart(cluster):
    array_id = cluster.sbatch("--hold", "--array=0-9%3", "--wrap", "true")
    assert _squeue(cluster, "-o", "%i") == [f"{array_id}_[0-9%3]"]
    assert cluster.cmd("scancel", f"{array_id}_7", f"{array_id}_[1-3]").returncode == 0
    assert _squeue(cluster, "-j", str(array_id), "-o", "%i|%K|%r") == [f"{array_id}_[0,4-6,8-9%3]|0,4-6,8-9%3|JobHeldUser"]
    assert _squeue(cluster, "-r", "-j", str(array_id), "-o", "%i") == [
        f"{array_id}_{t}" for t in (0, 4, 5, 6, 8, 9)]
    head = cluster.cmd("scontrol", "show", "job", f"{array_id}_4", check=True).stdout.splitlines()[0]
    assert head == f"JobId={array_id} ArrayJobId={array_id} ArrayTaskId=4 ArrayTaskThrottle=3 JobName=wrap"
    proc = cluster.cmd("scancel", f"{array_id}_[2-x]")
    assert (proc.returncode, proc.stderr.splitlines()) == (1, [
        "scancel: error: _parse_single_range: Invalid range: `2-x'", f"scancel: error: Invalid job id {array_id}_[2-x]"])
    # what is left is committed: a restarted controller still has exactly these indices
    cluster.kill_controller()
    cluster.restart_controller()
    assert _squeue(cluster, "-o", "%i") == [f"{array_id}_[0,4-6,8-9%3]"]
    assert cluster.cmd("scancel", str(array_id)).returncode == 0
    assert cluster.state(array_id) == "CANCELLED"
    assert _squeue(cluster, "-t", "all", "-j", str(array_id), "-o", "%i|%t") == [f"{array_id}_[0,4-6,8-9%3]|CA"]


def test_bad_array_is_refused_like_slurm(cluster):
    for text in ("5-2", "abc", "0-1001"):
        proc = cluster.cmd("sbatch", f"--array={text}", "--wrap", "true")
        assert (proc.returncode, proc.stdout, proc.stderr) == (
            1, "", "sbatch: error: Batch job submission failed: Invalid job array specification\n")
    proc = cluster.cmd("sbatch", "--wrap", "true", SBATCH_ARRAY_INX="2-3")
    array_id = int(proc.stdout.split()[-1])
    deadline = time.monotonic() + 60
    while _squeue(cluster, "-j", str(array_id), "-o", "%i") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sorted(os.listdir(cluster.workdir)) == [f"slurm-{array_id}_2.out", f"slurm-{array_id}_3.out"]


def test_wait_returns_the_highest_task_exit_code(cluster):
    # sbatch.1: with --wait, "the exit code recorded will be the highest value for any task"
    proc = cluster.cmd("sbatch", "-W", "--array=0-2", "--mem=100", "--wrap", "exit $((SLURM_ARRAY_TASK_ID * 2))")
    assert proc.returncode == 4 and proc.stdout.startswith("Submitted batch job ")
