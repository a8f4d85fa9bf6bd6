"""The controller's state machine in-process: a real SQLite database, agent messages as values."""
import pytest

from accounting.db import make_engine, migrate
from conf.slurmconf import parse_config_text
from nodeagent import wire
from slurmctld_py.controller import Caller, Controller
from slurmctld_py.errors import RequestError
from slurmctld_py.scheduler import RequestCache, build_snapshot, record_decisions
from solver import solve

ROOT = Caller(0, 0, "root", "root")
ALICE = Caller(1000, 1000, "alice", "alice")
BOB = Caller(1001, 1001, "bob", "bob")


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def env(tmp_path):
    conf = parse_config_text(
        f"ClusterName=t\nStateSaveLocation={tmp_path}\nSlurmdTimeout=30\nKillWait=5\nGresTypes=gpu\n"
        "NodeName=n[1-2] CPUs=4 RealMemory=4000 Gres=gpu:2\n"
        "PartitionName=cpu Nodes=ALL Default=YES\nPartitionName=gpu Nodes=n[1-2] MaxTime=60\n")
    engine = make_engine(f"sqlite:///{tmp_path}/t.db")
    migrate(engine)
    sent = []
    clock = Clock()

    def make():
        ctl = Controller(conf, engine, clock=clock, send=lambda node, frame: sent.append((node, wire.decode(frame))) or True)
        ctl.recover()
        return ctl
    ctl = make()
    return ctl, make, sent, clock


def register(ctl, node, active=(), finished=()):
    ctl.on_agent_message(node, wire.Register(node, 4, 4000, [wire.GpuSpec(0), wire.GpuSpec(1)], 0.0, 0.0, "t",
                                             [wire.RunRef(*r) for r in active], [wire.RunRef(*r) for r in finished]))


def spec(**kw):
    return {"script": "#!/bin/sh\ntrue\n", "work_dir": "/tmp", **kw}


def schedule(ctl):
    plan = solve(build_snapshot(ctl, RequestCache(), ctl.clock()))
    record_decisions(ctl, plan)
    return ctl.apply_starts(plan.starts)


def launches(ctl):
    """What the outbox loop would send now."""
    return [wire.decode(frame) for _, frame, _ in ctl.due_messages() if isinstance(wire.decode(frame), wire.Launch)]


def test_idempotent_submit_returns_the_same_id(env):
    ctl, make, _, _ = env
    first = ctl.submit(ALICE, [spec()], ["key-1"])
    assert ctl.submit(ALICE, [spec()], ["key-1"]) == first
    # and across a controller restart
    assert make().submit(ALICE, [spec()], ["key-1"]) == first


def test_ids_increase_and_are_never_reused(env):
    ctl, make, _, _ = env
    a = ctl.submit(ALICE, [spec(), spec()], ["a", "b"])
    b = make().submit(ALICE, [spec()], ["c"])
    assert a[1] == a[0] + 1 and b[0] > a[1]


@pytest.mark.parametrize("bad, code", [
    (spec(partition="nope"), "INVALID_PARTITION_NAME"),
    (spec(cpus_per_task=5), "REQUESTED_NODE_CONFIG_UNAVAILABLE"),
    (spec(mem_per_node_mb=5000), "REQUESTED_NODE_CONFIG_UNAVAILABLE"),
    (spec(gres="gpu:3", partition="gpu"), "REQUESTED_NODE_CONFIG_UNAVAILABLE"),
    (spec(gres="fpga:1"), "INVALID_GRES"),
    (spec(nodelist="n9"), "INVALID_NODE_NAME"),
    ({"script": "echo no shebang"}, "BAD_REQUEST"),
    ({"no": "script"}, "BAD_REQUEST"),
    (spec(min_nodes="x"), "BAD_REQUEST"),
])
def test_refused_submissions_create_nothing(env, bad, code):
    ctl, make, _, _ = env
    with pytest.raises(RequestError) as err:
        ctl.submit(ALICE, [bad], ["k"])
    assert err.value.code == code
    assert ctl.jobs == {} and make().jobs == {}


def test_start_runs_end_and_recover(env):
    ctl, make, sent, clock = env
    register(ctl, "n1")
    register(ctl, "n2")
    (job_id,) = ctl.submit(ALICE, [spec(gres="gpu:1", partition="gpu")], ["k"])
    assert schedule(ctl) == 1
    (launch,) = launches(ctl)
    assert launch.gpus == [0] and launch.environment["CUDA_VISIBLE_DEVICES"] == "0"
    assert launch.time_limit == 3600.0 and launch.uid == 1000
    # the outbox survives a crash: a new controller has the Launch to send again
    again = make()
    assert [o.message.job_id for o in again.outbox.values()] == [job_id]
    ctl.on_agent_message("n1", wire.Ack("n1", launch.msg_id))
    ctl.on_agent_message("n1", wire.RunEnded("n1", job_id, launch.attempt, "exited", 0, 0, clock.now + 5))
    job = ctl.jobs[job_id]
    assert job.state == "COMPLETED" and job.run is None
    assert any(isinstance(m, wire.EndAck) for _, m in sent)
    recovered = make()
    assert recovered.jobs[job_id].state == "COMPLETED" and not recovered.outbox


def test_cancel_permissions_and_states(env):
    ctl, _, sent, _ = env
    register(ctl, "n1")
    register(ctl, "n2")
    pending, running = ctl.submit(ALICE, [spec(hold=True), spec()], ["a", "b"])
    schedule(ctl)
    assert ctl.jobs[running].state == "RUNNING"
    res = ctl.cancel(BOB, [pending, running, 999], signal=None, batch_only=False, filters={})
    assert [r["code"] for r in res] == ["ACCESS_DENIED", "ACCESS_DENIED", "INVALID_JOB_ID"]
    res = ctl.cancel(ALICE, [pending, running], signal=None, batch_only=False, filters={})
    assert [r["code"] for r in res] == ["", ""]
    assert ctl.jobs[pending].state == "CANCELLED" and ctl.jobs[pending].cancelled_by == 1000
    assert ctl.jobs[running].completing                      # until the agent says it is gone
    term = [m for _, m in sent if isinstance(m, wire.Terminate)]
    assert term == [] or term[0].job_id == running           # sent by the outbox loop
    assert any(isinstance(o.message, wire.Terminate) for o in ctl.outbox.values())
    res = ctl.cancel(ALICE, [pending], signal=None, batch_only=False, filters={})
    assert res[0]["code"] == "ALREADY_DONE"


def test_silent_node_fails_or_requeues_its_jobs(env):
    ctl, _, _, clock = env
    register(ctl, "n1")
    register(ctl, "n2")
    keep, drop = ctl.submit(ALICE, [spec(nodelist="n1", mem_per_node_mb=100),
                                    spec(nodelist="n1", mem_per_node_mb=100, requeue=False)], ["a", "b"])
    schedule(ctl)
    ctl.on_agent_message("n2", wire.Heartbeat("n2", ctl.epoch, []))
    clock.now += 31
    ctl.nodes["n2"].last_heartbeat = clock.now
    ctl.check_nodes()
    assert ctl.jobs[keep].state == "PENDING" and ctl.jobs[keep].restarts == 1
    assert ctl.jobs[drop].state == "NODE_FAIL"
    assert not ctl.nodes["n1"].responding and ctl.nodes["n1"].admin_state == "DOWN"


def test_reregistration_reconciles(env):
    ctl, make, sent, _ = env
    register(ctl, "n1")
    register(ctl, "n2")
    (job_id,) = ctl.submit(ALICE, [spec(nodelist="n1")], ["a"])
    schedule(ctl)
    attempt = ctl.jobs[job_id].current_attempt
    for msg_id in list(ctl.outbox):
        ctl.on_agent_message("n1", wire.Ack("n1", msg_id))
    ctl.flush()
    restarted = make()
    sent.clear()
    # n1 comes back without the run and with an orphan the controller never started
    register(restarted, "n1", active=[(4242, 1)])
    assert restarted.jobs[job_id].state == "PENDING" and restarted.jobs[job_id].restarts == 1
    assert any(isinstance(o.message, wire.Terminate) and o.message.job_id == 4242 for o in restarted.outbox.values())
    assert attempt == 1
