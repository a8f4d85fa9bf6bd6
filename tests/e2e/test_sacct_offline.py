"""sacct answers from the database for every job ever run, also while the controller is down.

Real processes: a local cluster runs jobs, the controller is SIGKILLed, and the `sacct` command
(and the SDK's Client.accounting) still list them, read through `python -m accounting.reader`.
"""
import pytest

from accounting import reader
from conf.slurmconf import load_config
from tests.e2e import harness

pytestmark = pytest.mark.slow


def _table(text):
    """JobIDRaw -> (JobName, State, ExitCode) from `sacct -P -n -o jobidraw,jobname,state,exitcode`."""
    rows = [line.split("|") for line in text.splitlines()]
    return {r[0]: tuple(r[1:]) for r in rows}


def run_offline(tmp_path, db=None):
    c = harness.start(tmp_path, nodes=2, cpus=2, mem=2000, db=db)
    try:
        ok = c.sbatch("-J", "ok", "--wrap", "true")
        bad = c.sbatch("-J", "bad", "--wrap", "exit 3")
        held = c.sbatch("-J", "held", "--hold", "--wrap", "true")
        c.wait_all_done([ok, bad])
        argv = ("sacct", "-P", "-n", "-o", "jobidraw,jobname,state,exitcode", "-j", f"{ok},{bad},{held}")
        online = c.cmd(*argv, check=True).stdout
        c.kill_controller()
        assert c.cmd("squeue").returncode == 1          # the controller really is gone
        offline = c.cmd(*argv, check=True)
        assert offline.stdout == online
        table = _table(offline.stdout)
        assert table[str(ok)] == ("ok", "COMPLETED", "0:0")
        assert table[str(bad)] == ("bad", "FAILED", "3:0")
        assert table[f"{bad}.batch"] == ("batch", "FAILED", "3:0")
        assert table[str(held)] == ("held", "PENDING", "0:0")
        # the default window (since midnight) and the fixed-width view work offline too
        default = c.cmd("sacct", "-X", check=True).stdout.splitlines()
        assert default[0].split() == ["JobID", "JobName", "Partition", "Account", "AllocCPUS", "State", "ExitCode"]
        assert [line.split()[0] for line in default[2:]] == [str(ok), str(bad)]
        # a non-root caller sees only their own jobs offline, as online
        url = reader.database_url(load_config(c.conf))
        assert reader.read_records(url, {"job_ids": [ok]}, uid=65534) == []
        assert [r["job"]["job_id"] for r in reader.read_records(url, {"job_ids": [ok], "all_users": True},
                                                                  uid=65534)] == [ok]
        # the SDK falls back the same way
        records = {r.job.job_id: r for r in c.client().accounting(job_ids=[ok, bad])}
        assert records[bad].job.exit_code == 3 and [s.step_id for s in records[bad].steps] == ["batch"]
    finally:
        harness.stop(c)


def test_sacct_with_controller_down_sqlite(tmp_path):
    run_offline(tmp_path)


@pytest.mark.postgres
def test_sacct_with_controller_down_postgres(tmp_path, fresh_pg_url):
    run_offline(tmp_path, db=fresh_pg_url)


@pytest.mark.slow
def test_sacct_reports_an_unreachable_database(tmp_path):
    c = harness.start(tmp_path, nodes=1, cpus=1, mem=1000)
    try:
        c.kill_controller()
        conf = open(c.conf).read() + "DatabaseURL=postgresql+psycopg://nobody@127.0.0.1:1/none\n"
        bad_conf = tmp_path / "bad.conf"
        bad_conf.write_text(conf)
        proc = c.cmd("sacct", SLURM_CONF=str(bad_conf))
        assert proc.returncode == 1
        assert proc.stderr.startswith("sacct: error: Problem talking to the database: ")
        assert proc.stdout == ""
    finally:
        harness.stop(c)
