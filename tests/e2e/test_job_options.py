"""The sbatch options acted on after submission, on a real cluster of ours: --signal (sent by the
node agent before the time limit), --deadline (a pending job past it ends as DEADLINE),
--test-only (the solver's forecast, no job created), scontrol requeue/requeuehold, and
scontrol update of the request (NumCPUs, MinMemoryNode, Dependency)."""
from __future__ import annotations

import os
import re
import time

import pytest

pytestmark = pytest.mark.slow


def _show(cluster, job_id: int) -> dict[str, str]:
    out = cluster.cmd("scontrol", "-o", "show", "job", str(job_id), check=True).stdout
    return dict(re.findall(r"(\S+?)=(\S*)", out))


def _wait_file(path: str, text: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    content = ""
    while time.monotonic() < deadline:
        try:
            content = open(path).read()
        except OSError:
            content = ""
        if text in content:
            return content
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in {path}: {content!r}")


def test_signal_reaches_the_batch_shell_before_the_time_limit(cluster):
    out = os.path.join(cluster.workdir, "sig.out")
    # time limit 1 minute, USR1 at 55 s before it: about 5 s after the start
    job = cluster.sbatch("-t", "1", "--signal=B:USR1@55", "-o", out,
                         "--wrap", "trap 'echo got-usr1; exit 0' USR1; for i in $(seq 60); do sleep 1; done")
    started = time.monotonic()
    _wait_file(out, "got-usr1", timeout=30)
    assert time.monotonic() - started >= 3
    assert cluster.wait_state(job, ("COMPLETED",)) == "COMPLETED"


def test_pending_job_past_its_deadline_ends_as_deadline(cluster):
    busy = [cluster.sbatch("--exclusive", "-t", "2", "--wrap", "sleep 120") for _ in range(2)]
    for running in busy:
        cluster.wait_state(running, ("RUNNING",))
    held = cluster.sbatch("-H", "--deadline=now+30seconds", "--wrap", "true")
    job = cluster.sbatch("--deadline=now+30seconds", "--wrap", "true")   # waits for resources
    assert cluster.wait_state(job, ("DEADLINE",), timeout=15) == "DEADLINE"
    fields = _show(cluster, job)
    assert fields["Reason"] == "DeadLine" and fields["Deadline"] != "N/A"
    assert cluster.state(held) == "PENDING"     # a held job is not ended by its deadline (observed)
    cluster.cmd("scancel", str(held), *map(str, busy), check=True)


def test_deadline_caps_the_time_limit_of_the_run(cluster):
    job = cluster.sbatch("--deadline=now+10minutes", "--wrap", "sleep 30")
    cluster.wait_state(job, ("RUNNING",))
    fields = _show(cluster, job)
    assert fields["TimeLimit"] in ("00:09:00", "00:10:00") and fields["TimeMin"] == "00:01:00"
    cluster.cmd("scancel", str(job), check=True)


def test_test_only_forecasts_without_creating_a_job(cluster):
    assert cluster.cmd("squeue", "-h", "-o", "%i").stdout.split() == []
    now = cluster.cmd("sbatch", "--test-only", "--wrap", "true")
    assert now.returncode == 0 and now.stdout == ""
    assert re.fullmatch(r"sbatch: Job \d+ to start at \S+ using 1 processors on nodes n\d in partition \w+\n",
                        now.stderr)
    assert cluster.cmd("squeue", "-h", "-o", "%i").stdout.split() == []   # no job was created
    # both nodes busy for 2 minutes: the forecast is their end, on one of them
    busy = [cluster.sbatch("-N", "1", "--exclusive", "-t", "2", "--wrap", "sleep 120") for _ in range(2)]
    for job in busy:
        cluster.wait_state(job, ("RUNNING",))
    later = cluster.cmd("sbatch", "--test-only", "-n", "2", "--wrap", "true")
    match = re.search(r"to start at (\S+) using 2 processors", later.stderr)
    assert match, later.stderr
    start = time.mktime(time.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S"))
    assert 60 < start - time.time() <= 125
    impossible = cluster.cmd("sbatch", "--test-only", "-N", "3", "--wrap", "true")
    assert (impossible.returncode, impossible.stderr) == (
        1, "allocation failure: Requested node configuration is not available\n")
    assert {int(j) for j in cluster.cmd("squeue", "-h", "-o", "%i").stdout.split()} == set(busy)
    cluster.cmd("scancel", *map(str, busy), check=True)


def test_requeue_and_requeuehold(cluster):
    out = os.path.join(cluster.workdir, "rq.out")
    job = cluster.sbatch("-o", out, "--wrap", "echo started; sleep 30")
    cluster.wait_state(job, ("RUNNING",))
    _wait_file(out, "started")
    assert cluster.cmd("scontrol", "requeue", str(job)).returncode == 0
    cluster.wait_state(job, ("PENDING",))
    fields = _show(cluster, job)
    assert (fields["Reason"], fields["Restarts"]) == ("BeginTime", "1")
    assert "DUE TO JOB REQUEUE" in _wait_file(out, "DUE TO JOB REQUEUE")
    pending = cluster.cmd("scontrol", "requeue", str(job))
    assert (pending.returncode, pending.stderr) == (1, f"Job is pending execution for job {job}\n")
    cluster.cmd("scancel", str(job), check=True)

    held = cluster.sbatch("--wrap", "sleep 30")
    cluster.wait_state(held, ("RUNNING",))
    assert cluster.cmd("scontrol", "requeuehold", str(held)).returncode == 0
    cluster.wait_state(held, ("PENDING",))
    assert _show(cluster, held)["Reason"] == "job_requeued_in_held_state"
    cluster.cmd("scancel", str(held), check=True)


def test_update_request_fields(cluster):
    first = cluster.sbatch("-H", "--wrap", "true")
    job = cluster.sbatch("-H", "--wrap", "true")
    assert cluster.cmd("scontrol", "update", f"JobId={job}", "NumCPUs=3", "MinMemoryNode=2000").returncode == 0
    fields = _show(cluster, job)
    assert (fields["NumCPUs"], fields["MinMemoryNode"]) == ("3", "2000M")
    assert fields["TRES"].startswith("cpu=3,mem=2000M")
    assert cluster.cmd("scontrol", "update", f"JobId={job}", f"Dependency=afterany:{first}").returncode == 0
    cluster.cmd("scontrol", "release", str(job))
    time.sleep(1)
    assert _show(cluster, job)["Dependency"] == f"afterany:{first}(unfulfilled)"
    bad = cluster.cmd("scontrol", "update", f"JobId={job}", "NumCPUs=abc")
    assert (bad.returncode, bad.stderr) == (1, 'scontrol: error: Invalid numeric value "abc" for NumCPUs.\n'
                                               "scontrol: error: Invalid NumCPUs value: abc\n")
    self_dep = cluster.cmd("scontrol", "update", f"JobId={job}", f"Dependency=afterok:{job}")
    assert (self_dep.returncode, self_dep.stderr) == (1, f"Job dependency problem for job {job}\n")
    cluster.cmd("scancel", str(first), str(job), check=True)
