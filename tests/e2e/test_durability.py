"""Crash the controller and a node agent for real and check that nothing acknowledged is lost."""
import os
import time

import pytest

from tests.e2e import harness

pytestmark = pytest.mark.slow


def _marker_lines(path):
    try:
        return open(path).read().split()
    except FileNotFoundError:
        return []


def run_controller_crash(tmp_path, db=None):
    c = harness.start(tmp_path, nodes=2, cpus=2, mem=2000, db=db)
    try:
        ledger = os.path.join(c.workdir, "ledger")
        # every run appends its job id to the ledger: a job that ran twice shows up twice
        body = f"echo $SLURM_JOB_ID >> {ledger}; sleep 3"
        ids = [c.sbatch("-c", "1", "--mem=100", "--wrap", body) for _ in range(10)]
        held = c.sbatch("--hold", "--wrap", "true")
        deadline = time.monotonic() + 20
        while len(_marker_lines(ledger)) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(_marker_lines(ledger)) == 4          # 4 slots busy, 6 jobs pending
        c.kill_controller()
        time.sleep(0.5)
        c.restart_controller()
        client = c.client()
        known = {j.job_id for j in client.jobs(include_finished=True)}
        assert set(ids) | {held} <= known               # no acknowledged job lost
        c.wait_all_done(ids, timeout=90)
        runs = _marker_lines(ledger)
        assert sorted(map(int, runs)) == sorted(ids)     # each ran exactly once
        records = {r.job.job_id: r for r in client.accounting(job_ids=ids)}
        assert all(records[j].job.state == "COMPLETED" for j in ids), {j: records[j].job.state for j in ids}
        assert all(any(s.step_id == "batch" for s in records[j].steps) for j in ids)
        assert client.job(held).state == "PENDING"
        after = c.sbatch("--wrap", "true")
        assert after > max(ids + [held])                 # ids are never reused
    finally:
        harness.stop(c)


def test_controller_sigkill_sqlite(tmp_path):
    run_controller_crash(tmp_path)


@pytest.mark.postgres
def test_controller_sigkill_postgres(tmp_path, fresh_pg_url):
    run_controller_crash(tmp_path, db=fresh_pg_url)


def test_dead_node_requeues_its_jobs(tmp_path):
    c = harness.start(tmp_path, nodes=2, cpus=2, mem=1000)
    try:
        a = c.sbatch("-w", "n1", "-c", "1", "--mem=100", "--wrap", "sleep 600")
        b = c.sbatch("-w", "n1", "-c", "1", "--mem=100", "--no-requeue", "--wrap", "sleep 600")
        c.wait_state(a, ("RUNNING",))
        c.wait_state(b, ("RUNNING",))
        os.kill(c.pid("nodeagent-n1"), 9)
        assert c.wait_state(b, ("NODE_FAIL",), timeout=40) == "NODE_FAIL"
        job = c.client().job(a)
        assert job.state == "PENDING" and job.restarts == 1
        n1 = [n for n in c.client().nodes() if n.name == "n1"][0]
        assert n1.state.startswith("DOWN") and not n1.responding
    finally:
        harness.stop(c)
        os.system("pkill -f 'sleep 600' >/dev/null 2>&1")


def test_a_second_controller_on_the_same_state_refuses_to_start(tmp_path):
    c = harness.start(tmp_path, nodes=1, cpus=2, mem=2000)
    try:
        import subprocess
        import sys
        second = subprocess.run([sys.executable, "-m", "slurmctld_py.daemon", "--conf", c.conf],
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 1
        assert "slurmctld-py: fatal: another controller is already listening on" in second.stderr
        assert c.client().ping()["up"]          # the first one is untouched
    finally:
        harness.stop(c)
