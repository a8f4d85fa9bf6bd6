"""srun and salloc on a real local cluster (controller, node agents, SQLite).

Expected texts were observed on Slurm 22.05 (this machine's /usr/bin/srun and /usr/bin/salloc,
SLURM_CONF=/etc/slurm/slurm.conf, two 8-CPU nodes in partition cpu); the commands that produced
them are quoted next to each assertion.
"""
import os
import signal
import subprocess
import time

import pytest

from tests.e2e import harness

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("srun")
    old = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp / "xdg")
    c = harness.start(tmp, nodes=2, cpus=4, mem=4000)
    yield c
    harness.stop(c)
    if old is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = old


def sacct(cluster, job_id: int) -> list[str]:
    deadline = time.monotonic() + 10
    while True:
        lines = cluster.cmd("sacct", "-j", str(job_id), "-P", "-n", "-o", "JobID,JobName,State,ExitCode,NTasks,NodeList",
                            check=True).stdout.splitlines()
        if not any("RUNNING" in line for line in lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def last_job(cluster) -> int:
    return max(r.job.job_id for r in cluster.client().accounting(all_users=True, start=0))


def test_srun_outside_an_allocation(cluster):
    # /usr/bin/srun -n3 -N2 -l bash -c '...; exit $SLURM_PROCID': tasks 0,1 on n1 and 2 on n2,
    # stderr "srun: error: n1: task 1: Exited with exit code 1" / "...n2: task 2: ... 2", exit 2
    proc = cluster.cmd("srun", "-n3", "-N2", "-l", "bash", "-c",
                       'echo "$SLURM_PROCID $SLURM_NODEID $SLURM_LOCALID $SLURMD_NODENAME $SLURM_STEP_ID '
                       '$SLURM_STEP_NUM_TASKS $SLURM_NTASKS $SLURM_STEP_NODELIST"; exit $SLURM_PROCID')
    assert proc.returncode == 2, proc.stderr
    assert sorted(proc.stdout.splitlines()) == ["0: 0 0 0 n1 0 3 3 n[1-2]", "1: 1 0 1 n1 0 3 3 n[1-2]",
                                                "2: 2 1 0 n2 0 3 3 n[1-2]"]
    assert sorted(proc.stderr.splitlines()) == ["srun: error: n1: task 1: Exited with exit code 1",
                                                "srun: error: n2: task 2: Exited with exit code 2"]
    job_id = last_job(cluster)
    # /usr/bin/sacct: "27|bash|FAILED|4:0|...", "27.0|bash|FAILED|4:0|2|n[1-2]" (no batch step)
    assert sacct(cluster, job_id) == [f"{job_id}|bash|FAILED|2:0||n[1-2]", f"{job_id}.0|bash|FAILED|2:0|3|n[1-2]"]
    assert cluster.state(job_id) == "FAILED"


def test_srun_task_killed_by_a_signal(cluster):
    # /usr/bin/srun -n2 bash -c 'kill -9 $$': "srun: error: n1: tasks 0-1: Killed",
    # "srun: Force Terminated StepId=17.0", exit 137; sacct 17.0 CANCELLED 0:9
    proc = cluster.cmd("srun", "-n2", "bash", "-c", "kill -9 $$")
    assert proc.returncode == 137
    job_id = last_job(cluster)
    assert proc.stderr.splitlines() == ["srun: error: n1: tasks 0-1: Killed", f"srun: Force Terminated StepId={job_id}.0"]
    lines = sacct(cluster, job_id)
    assert lines[0] == f"{job_id}|bash|FAILED|0:9||n1" and lines[1].split("|")[3] == "0:9"


def test_srun_missing_program(cluster):
    # /usr/bin/srun -n1 /nonexistent (exit 2)
    proc = cluster.cmd("srun", "/nonexistent")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["slurmstepd-n1: error: execve(): /nonexistent: No such file or directory",
                                        "srun: error: n1: task 0: Exited with exit code 2"]


def test_srun_steps_in_a_batch_job(cluster):
    work = cluster.workdir
    script = os.path.join(work, "steps.sh")
    with open(script, "w") as f:
        f.write("#!/bin/bash\n#SBATCH -N2 -n4 -o steps-%j.out\n"
                "srun hostname >/dev/null\n"
                "srun -n2 -l bash -c 'echo hi $SLURM_PROCID $SLURM_STEP_ID $SLURM_STEP_NUM_TASKS $SLURM_NODEID'\n"
                "srun -n3 -o o_%j_%s_%t_%n.out -e e_%j_%t.err bash -c 'echo o$SLURM_PROCID; echo e$SLURM_PROCID >&2'\n"
                "srun -J named -n1 bash -c 'exit 3'\n"
                "echo rc=$?\n")
    job_id = cluster.sbatch(script)
    assert cluster.wait_state(job_id, ("COMPLETED", "FAILED"), timeout=60) == "COMPLETED"
    out = open(os.path.join(work, f"steps-{job_id}.out")).read().splitlines()
    # observed in the same script on Slurm (batch-48.out)
    assert sorted(out[:2]) == ["0: hi 0 1 2 0", "1: hi 1 1 2 1"]
    assert out[2:] == ["srun: Warning: can't run 1 processes on 2 nodes, setting nnodes to 1",
                       "srun: error: n1: task 0: Exited with exit code 3", "rc=3"]
    for task, node_index in ((0, 0), (1, 0), (2, 1)):
        assert open(os.path.join(work, f"o_{job_id}_2_{task}_{node_index}.out")).read() == f"o{task}\n"
        assert open(os.path.join(work, f"e_{job_id}_{task}.err")).read() == f"e{task}\n"
    assert sacct(cluster, job_id) == [
        f"{job_id}|steps.sh|COMPLETED|0:0||n[1-2]", f"{job_id}.batch|batch|COMPLETED|0:0|1|n1",
        f"{job_id}.0|hostname|COMPLETED|0:0|4|n[1-2]", f"{job_id}.1|bash|COMPLETED|0:0|2|n[1-2]",
        f"{job_id}.2|bash|COMPLETED|0:0|3|n[1-2]", f"{job_id}.3|named|FAILED|3:0|1|n1"]


def test_submitit_style_step(cluster):
    # what submitit's SlurmExecutor writes into its batch script
    work = cluster.workdir
    job_id = cluster.sbatch("-n2", "--wrap",
                            f"srun --unbuffered --output {work}/%j_%t_log.out --error {work}/%j_%t_log.err "
                            "python3 -u -c 'import os, sys; print(\"rank\", os.environ[\"SLURM_PROCID\"]); "
                            "print(\"oops\", file=sys.stderr)'")
    assert cluster.wait_state(job_id, ("COMPLETED", "FAILED"), timeout=60) == "COMPLETED"
    for task in (0, 1):
        assert open(os.path.join(work, f"{job_id}_{task}_log.out")).read() == f"rank {task}\n"
        assert open(os.path.join(work, f"{job_id}_{task}_log.err")).read() == "oops\n"


def test_salloc_runs_the_command_and_releases(cluster):
    # /usr/bin/salloc -n1 true: "salloc: Granted job allocation 51" / "salloc: Relinquishing job
    # allocation 51"; with `exit 7` salloc exits 7 and sacct shows "interacti+ FAILED 7:0"
    proc = cluster.cmd("salloc", "-N2", "-n3", "bash", "-c",
                       'echo "$SLURM_JOB_NAME $SLURM_JOB_NODELIST $SLURM_NNODES $SLURM_NTASKS $SLURM_TASKS_PER_NODE"; '
                       "srun -l hostname | sort; exit 7")
    job_id = last_job(cluster)
    assert proc.returncode == 7, proc.stderr
    assert proc.stderr.splitlines() == [f"salloc: Granted job allocation {job_id}",
                                        f"salloc: Relinquishing job allocation {job_id}"]
    host = os.uname().nodename
    assert proc.stdout.splitlines() == ["interactive n[1-2] 2 3 2,1", f"0: {host}", f"1: {host}", f"2: {host}"]
    assert sacct(cluster, job_id) == [f"{job_id}|interactive|FAILED|7:0||n[1-2]",
                                      f"{job_id}.0|hostname|COMPLETED|0:0|3|n[1-2]"]


def test_salloc_waits_for_resources(cluster):
    # /usr/bin/salloc -p gpu -N1 ... while both gpu nodes were busy:
    blocker = cluster.sbatch("-N2", "--exclusive", "--wrap", "sleep 3")
    cluster.wait_state(blocker, ("RUNNING",))
    proc = cluster.cmd("salloc", "-N1", "true")
    job_id = last_job(cluster)
    assert proc.returncode == 0
    assert proc.stderr.splitlines() == [f"salloc: Pending job allocation {job_id}",
                                        f"salloc: job {job_id} queued and waiting for resources",
                                        f"salloc: job {job_id} has been allocated resources",
                                        f"salloc: Granted job allocation {job_id}",
                                        f"salloc: Relinquishing job allocation {job_id}"]


def test_sigterm_to_srun_kills_the_step(cluster):
    # /usr/bin/srun -n2 ... then SIGTERM: "srun: forcing job termination", "srun: Job step
    # aborted: Waiting up to 7 seconds for job step to finish.", "slurmstepd-n1: error: *** STEP
    # 93.0 ON n1 CANCELLED AT 2026-11-28T17:10:05 ***", "srun: error: n1: tasks 0-1: Killed",
    # exit 137; sacct: step CANCELLED 0:9
    marker = os.path.join(cluster.workdir, "sigterm-started")
    proc = subprocess.Popen([os.path.join(harness.BIN, "srun"), "-n2", "bash", "-c", f"touch {marker}; sleep 60"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cluster.env(),
                            cwd=cluster.workdir)
    deadline = time.monotonic() + 20
    while not os.path.exists(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 137
    kill_wait = int(cluster.client().config()["KillWait"])
    lines = err.splitlines()
    assert lines[:2] == ["srun: forcing job termination",
                         f"srun: Job step aborted: Waiting up to {kill_wait + 2} seconds for job step to finish."]
    assert lines[2].startswith("slurmstepd-n1: error: *** STEP ") and lines[2].endswith(" ***")
    assert lines[3:] == ["srun: error: n1: tasks 0-1: Killed"]
    job_id = last_job(cluster)
    assert sacct(cluster, job_id)[1].split("|")[2:4] == ["CANCELLED", "0:9"]
    assert subprocess.run(["pgrep", "-f", f"touch {marker}"], capture_output=True).returncode == 1


def test_scancel_of_an_allocation_ends_its_steps(cluster):
    proc = subprocess.Popen([os.path.join(harness.BIN, "salloc"), "-n1", "srun", "sleep", "60"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cluster.env(),
                            cwd=cluster.workdir)
    deadline = time.monotonic() + 20
    job_id = None
    while time.monotonic() < deadline:
        running = [j for j in cluster.client().jobs() if j.name == "interactive" and j.state == "RUNNING"]
        if running:
            job_id = running[0].job_id
            break
        time.sleep(0.05)
    assert job_id is not None
    time.sleep(0.5)
    cluster.cmd("scancel", str(job_id), check=True)
    _, err = proc.communicate(timeout=30)
    # /usr/bin/salloc -n1 /usr/bin/srun sleep 60, then scancel: exit 143 and on stderr
    #   salloc: Job allocation 512 has been revoked.
    #   srun: Job step aborted: Waiting up to 7 seconds for job step to finish.
    #   slurmstepd-n1: error: *** STEP 512.0 ON n1 CANCELLED AT 2026-11-28T17:30:56 ***
    #   srun: error: n1: task 0: Terminated
    # (no "Relinquishing" line); sacct: 512 CANCELLED 0:0, 512.0 CANCELLED 0:0
    kill_wait = int(cluster.client().config()["KillWait"])
    lines = err.splitlines()
    assert proc.returncode == 143
    assert lines[0] == f"salloc: Granted job allocation {job_id}"
    revoked = f"salloc: Job allocation {job_id} has been revoked."
    assert revoked in lines and len(lines) == 5      # salloc and srun write at once: any interleaving
    srun_lines = [line for line in lines[1:] if line != revoked]
    assert srun_lines[0] == f"srun: Job step aborted: Waiting up to {kill_wait + 2} seconds for job step to finish."
    assert srun_lines[1].startswith(f"slurmstepd-n1: error: *** STEP {job_id}.0 ON n1 CANCELLED AT ")
    assert srun_lines[2:] == ["srun: error: n1: task 0: Terminated"]
    assert cluster.state(job_id) == "CANCELLED"
    assert [line.split("|")[2:4] for line in sacct(cluster, job_id)] == [["CANCELLED by 0", "0:0"], ["CANCELLED", "0:0"]]


def test_srun_errors(cluster):
    # /usr/bin/srun with an unknown job, a bad partition, too many tasks for the allocation
    proc = cluster.cmd("srun", "true", SLURM_JOB_ID="999999")
    assert (proc.returncode, proc.stderr.splitlines()) == (1, [
        "srun: error: Unable to confirm allocation for job 999999: Invalid job id specified",
        "srun: Check SLURM_JOB_ID environment variable. Expired or invalid job 999999"])
    proc = cluster.cmd("srun", "-p", "nopart", "true")
    assert (proc.returncode, proc.stderr.splitlines()[-1]) == (
        1, "srun: error: Unable to allocate resources: Invalid partition name specified")
    proc = cluster.cmd("salloc", "-N2", "-n4", "bash", "-c", "srun -n10 true; echo rc=$?; srun -N3 true; echo rc=$?")
    job_id = last_job(cluster)
    assert proc.stdout.splitlines() == ["rc=1", "rc=1"]
    assert proc.stderr.splitlines()[1:3] == [
        f"srun: error: Unable to create step for job {job_id}: More processors requested than permitted",
        "srun: error: Only allocated 2 nodes asked for 3"]


def test_srun_killed_takes_its_step_and_allocation_with_it(cluster):
    # (Slurm 22.05 leaves the step running after `kill -9` of its srun and holds the allocation
    # until an InactiveLimit; here the tasks' I/O goes through srun, so the step ends with it and
    # the allocation srun made for it is released.)
    marker = os.path.join(cluster.workdir, "orphan-started")
    proc = subprocess.Popen([os.path.join(harness.BIN, "srun"), "bash", "-c", f"touch {marker}; sleep 60"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=cluster.env(),
                            cwd=cluster.workdir)
    deadline = time.monotonic() + 20
    while not os.path.exists(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    job_id = last_job(cluster)
    proc.kill()
    proc.wait()
    assert cluster.wait_state(job_id, ("CANCELLED",), timeout=20) == "CANCELLED"
    assert subprocess.run(["pgrep", "-f", f"touch {marker}"], capture_output=True).returncode == 1
    assert sacct(cluster, job_id)[1].split("|")[2:4] == ["CANCELLED", "0:9"]


def test_srun_passes_its_stdin_to_the_tasks(cluster):
    # echo hello | /usr/bin/srun -n2 -l cat: "0: hello", "1: hello" (every task reads it)
    proc = cluster.cmd("srun", "-n3", "-N2", "-l", "cat", input="hello\n")
    assert sorted(proc.stdout.splitlines()) == ["0: hello", "1: hello", "2: hello"]
    proc = cluster.cmd("srun", "-n2", "-i", "1", "-l", "cat", input="a\nb\n")
    assert proc.stdout.splitlines() == ["1: a", "1: b"]
    big = "".join(f"{i}\n" for i in range(200_000))
    proc = cluster.cmd("srun", "-n2", "wc", "-l", input=big)
    assert proc.stdout.split() == ["200000", "200000"]
