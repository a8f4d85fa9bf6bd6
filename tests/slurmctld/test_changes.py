"""scontrol hold/release/update against the controller, in-process."""
import pytest

from slurmctld_py import changes
from slurmctld_py.errors import RequestError
from tests.slurmctld.test_controller import ALICE, BOB, ROOT, env, register, schedule, spec  # noqa: F401


def test_user_hold_and_release(env):
    ctl, make, _, _ = env
    (job_id,) = ctl.submit(ALICE, [spec()], ["a"])
    assert changes.hold(ctl, ALICE, [job_id], user_hold=False) == [{"job_id": job_id, "code": ""}]
    assert ctl.jobs[job_id].hold_reason == "JobHeldUser" and ctl.jobs[job_id].priority == 0
    assert make().jobs[job_id].held                       # durable
    assert changes.release(ctl, BOB, [job_id])[0]["code"] == "ACCESS_DENIED"
    assert changes.release(ctl, ALICE, [job_id])[0]["code"] == ""
    register(ctl, "n1")
    register(ctl, "n2")
    schedule(ctl)
    assert ctl.jobs[job_id].state == "RUNNING"


def test_admin_hold_needs_root_to_release(env):
    ctl, _, _, _ = env
    (job_id,) = ctl.submit(ALICE, [spec()], ["a"])
    changes.hold(ctl, ROOT, [job_id], user_hold=False)
    assert ctl.jobs[job_id].hold_reason == "JobHeldAdmin"
    assert changes.release(ctl, ALICE, [job_id])[0]["code"] == "ACCESS_DENIED"
    assert changes.release(ctl, ROOT, [job_id])[0]["code"] == ""
    assert changes.hold(ctl, ROOT, [999], user_hold=True)[0]["code"] == "INVALID_JOB_ID"


def test_update_pending_job(env):
    ctl, make, _, _ = env
    (job_id,) = ctl.submit(ALICE, [spec(hold=True, time_limit_min=30)], ["a"])
    changes.update_job(ctl, ALICE, job_id, {"TimeLimit": "10", "Name": "renamed", "Nice": "5",
                                            "Partition": "gpu"})
    job = make().jobs[job_id]
    assert (job.time_limit_min, job.name, job.nice, job.partition) == (10, "renamed", 5, "gpu")
    with pytest.raises(RequestError) as err:
        changes.update_job(ctl, ALICE, job_id, {"TimeLimit": "20"})      # users may only lower
    assert err.value.code == "ACCESS_DENIED"
    changes.update_job(ctl, ROOT, job_id, {"TimeLimit": "20"})
    for bad, code in (({"Partition": "nope"}, "INVALID_PARTITION_NAME"), ({"bogus": "1"}, "BAD_REQUEST"),
                      ({"Nice": "-5"}, "ACCESS_DENIED")):
        with pytest.raises(RequestError) as err:
            changes.update_job(ctl, ALICE, job_id, bad)
        assert err.value.code == code
    with pytest.raises(RequestError) as err:
        changes.update_job(ctl, BOB, job_id, {"Name": "x"})
    assert err.value.code == "ACCESS_DENIED"


def test_running_job_cannot_move(env):
    ctl, _, _, _ = env
    register(ctl, "n1")
    register(ctl, "n2")
    (job_id,) = ctl.submit(ALICE, [spec()], ["a"])
    schedule(ctl)
    with pytest.raises(RequestError) as err:
        changes.update_job(ctl, ALICE, job_id, {"Partition": "gpu"})
    assert err.value.code == "JOB_NOT_PENDING"


def test_drain_resume_and_down(env):
    ctl, make, _, _ = env
    register(ctl, "n1")
    register(ctl, "n2")
    with pytest.raises(RequestError):
        changes.update_nodes(ctl, ROOT, ["n1"], "DRAIN", "")
    with pytest.raises(RequestError) as err:
        changes.update_nodes(ctl, ALICE, ["n1"], "DRAIN", "maintenance")
    assert err.value.code == "ACCESS_DENIED"
    changes.update_nodes(ctl, ROOT, ["n1"], "DRAIN", "maintenance")
    assert make().nodes["n1"].admin_state == "DRAIN"
    (job_id,) = ctl.submit(ALICE, [spec(mem_per_node_mb=100)], ["a"])
    schedule(ctl)
    assert ctl.jobs[job_id].run.allocations[0].node == "n2"
    changes.update_nodes(ctl, ROOT, ["n2"], "DOWN", "broken")
    assert ctl.jobs[job_id].state == "PENDING" and ctl.jobs[job_id].restarts == 1
    changes.update_nodes(ctl, ROOT, ["n1", "n2"], "RESUME", "")
    assert ctl.nodes["n1"].admin_state == ctl.nodes["n2"].admin_state == "UP"
    with pytest.raises(RequestError):
        changes.update_nodes(ctl, ROOT, ["n1"], "RESUME", "")      # not drained: invalid state


def test_partition_down_stops_starts(env):
    ctl, make, _, _ = env
    register(ctl, "n1")
    register(ctl, "n2")
    changes.update_partition(ctl, ROOT, "cpu", "down")
    (job_id,) = ctl.submit(ALICE, [spec()], ["a"])
    schedule(ctl)
    assert ctl.jobs[job_id].state == "PENDING" and ctl.jobs[job_id].reason == "PartitionDown"
    assert make().partition_state["cpu"] == "DOWN"
    changes.update_partition(ctl, ROOT, "cpu", "UP")
    schedule(ctl)
    assert ctl.jobs[job_id].state == "RUNNING"
