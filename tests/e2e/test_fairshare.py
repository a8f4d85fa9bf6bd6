"""Fair-share end to end: usage is charged to associations, lowers their priority, orders the
queue, shows in sshare/sprio, and survives a controller restart.

Real controller and node agent; accounts made with sacctmgr; root runs in two associations,
root/a and root/b (fair-share is per association, so one user is enough to compare two).
"""
from __future__ import annotations

import time

import pytest

from tests.e2e import harness

pytestmark = pytest.mark.slow

CONF = """\
ClusterName=fair
NodeName=n1 CPUs=2 RealMemory=2000
PartitionName=cpu Nodes=n1 Default=YES MaxTime=UNLIMITED
PriorityType=priority/multifactor
PriorityWeightFairshare=10000
PriorityWeightAge=0
PriorityCalcPeriod=0:1
"""


@pytest.fixture
def cluster(tmp_path):
    conf = tmp_path / "site.conf"
    conf.write_text(CONF)
    c = harness.start(tmp_path, conf=str(conf))
    try:
        yield c
    finally:
        harness.stop(c)


def _shares(cluster) -> dict[tuple[str, str], list[str]]:
    out = cluster.cmd("sshare", "-a", "-l", "-P", "-n", check=True).stdout
    rows = {}
    for line in out.splitlines():
        cells = line.split("|")
        rows[(cells[0].strip(), cells[1])] = cells
    return rows


def _wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not reached")


def test_usage_lowers_fairshare_orders_queue_and_survives_restart(cluster):
    for argv in (["add", "account", "a,b"], ["add", "user", "root", "account=a"],
                 ["add", "user", "root", "account=b"]):
        cluster.cmd("sacctmgr", "-i", *argv, check=True)

    # root (account a) uses both CPUs for 2 seconds: 4 CPU-seconds charged to root/a
    first = cluster.sbatch("-A", "a", "-n2", "--wrap", "sleep 2")
    cluster.wait_all_done([first])

    def charged():
        rows = _shares(cluster)
        return rows if float(rows[("a", "root")][4]) >= 3 else None
    rows = _wait_for(charged)
    # Fair Tree over root's children root/root (user), a, b: root/root and b have no usage
    # (LevelFS inf, tied: rank 3 of 3), a has all of it: root/a gets rank 1 of 3
    assert rows[("b", "root")][7] == "1.000000" and rows[("root", "root")][7] == "1.000000"
    assert rows[("a", "root")][7] == "0.333333" and rows[("b", "")][8] == "inf"
    usage_before = float(rows[("a", "")][4])

    # a blocker holds the node; an a job queues first, a b job second: the b job starts first
    blocker = cluster.sbatch("-A", "root", "-n2", "--wrap", "sleep 2")   # charged to neither a nor b
    cluster.wait_state(blocker, ("RUNNING",))
    a_job = cluster.sbatch("-A", "a", "-n2", "--wrap", "sleep 1")
    b_job = cluster.sbatch("-A", "b", "-n2", "--wrap", "sleep 1")
    time.sleep(0.5)
    prio = cluster.cmd("sprio", "-h", "-o", "%i %Y %F", check=True).stdout.split()
    got = {int(prio[i]): (int(prio[i + 1]), int(prio[i + 2])) for i in range(0, len(prio), 3)}
    assert got[b_job] == (10000, 10000) and got[a_job] == (3333, 3333)
    # both need the whole node, so they run one after the other: b's first
    cluster.wait_state(b_job, ("RUNNING", "COMPLETED"), timeout=20)
    assert cluster.state(a_job) == "PENDING"
    cluster.wait_all_done([blocker, a_job, b_job], timeout=30)

    cluster.stop_controller()
    cluster.restart_controller()
    rows = _shares(cluster)
    assert float(rows[("a", "")][4]) >= usage_before   # kept (and grown by root_job's run)
