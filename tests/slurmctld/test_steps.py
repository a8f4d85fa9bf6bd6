"""Allocations (salloc/srun) and job steps in the controller: a real SQLite database, agent
messages as values (the end-to-end side is tests/e2e/test_srun.py)."""
import pytest

from accounting.db import make_engine, migrate
from accounting.models import Step
from conf.slurmconf import parse_config_text
from nodeagent import wire
from slurmctld_py import steps
from slurmctld_py.controller import Caller, Controller
from slurmctld_py.errors import RequestError
from slurmctld_py.model import Allocation
from slurmctld_py.scheduler import RequestCache, build_snapshot, record_decisions
from solver import solve

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
        f"ClusterName=t\nStateSaveLocation={tmp_path}\nSlurmdTimeout=30\nKillWait=5\n"
        "NodeName=n[1-2] CPUs=4 RealMemory=4000\nPartitionName=cpu Nodes=ALL Default=YES\n")
    engine = make_engine(f"sqlite:///{tmp_path}/t.db")
    migrate(engine)
    sent = []
    clock = Clock()
    ctl = Controller(conf, engine, clock=clock, send=lambda node, frame: sent.append((node, wire.decode(frame))) or True)
    ctl.recover()
    for node in ("n1", "n2"):
        ctl.on_agent_message(node, wire.Register(node, 4, 4000, [], 0.0, 0.0, "t", [], []))
    ctl.restarted = lambda: restart(conf, engine, clock, sent)
    return ctl, sent, clock


def restart(conf, engine, clock, sent):
    """A new controller on the same database (a restart)."""
    ctl = Controller(conf, engine, clock=clock, send=lambda node, frame: sent.append((node, wire.decode(frame))) or True)
    ctl.recover()
    for node in ("n1", "n2"):
        ctl.on_agent_message(node, wire.Register(node, 4, 4000, [], 0.0, 0.0, "t", [], []))
    return ctl


def schedule(ctl):
    plan = solve(build_snapshot(ctl, RequestCache(), ctl.clock()))
    record_decisions(ctl, plan)
    return ctl.apply_starts(plan.starts)


def outgoing(ctl, kind):
    return [(o.node, o.message) for o in ctl.outbox.values() if isinstance(o.message, kind)]


def step_rows(ctl, job_id):
    with ctl.tx() as s:
        return {r.step_id: (r.state, r.exit_code, r.exit_signal, r.num_tasks, r.nodes)
                for r in s.query(Step).filter(Step.job_id == job_id)}


def granted(ctl, caller=ALICE, **spec):
    reply = steps.dispatch(ctl, caller, "allocate", {"job": {"name": "interactive", "work_dir": "/tmp", **spec},
                                                     "key": f"k{len(ctl.jobs)}"})
    job_id = reply["job_id"]
    assert schedule(ctl) == 1
    return job_id


def create(ctl, job_id, caller=ALICE, **request):
    args = {"job_id": job_id, "argv": ["hostname"], "environment": {"HOME": "/tmp"}, "io_host": "127.0.0.1",
            "io_port": 4242, "io_key": "secret", **request}
    return steps.dispatch(ctl, caller, "step_create", args)


# ---- layout: the block distribution observed on Slurm 22.05 -------------------------------------

def allocs(*cpus):
    return [Allocation(f"n{i + 1}", c, 1000) for i, c in enumerate(cpus)]


@pytest.mark.parametrize("cpus, ntasks, nnodes, per_node, expected, warned", [
    ((2, 1), 3, 2, None, ((0, 1), (2,)), False),          # srun -n3 -N2: tasks 0,1 on n1, 2 on n2
    ((3, 1), 4, 2, None, ((0, 1, 2), (3,)), False),       # sbatch -N2 -n4 then srun: as the CPUs lie
    ((3, 1), 2, 2, None, ((0,), (1,)), False),            # srun -n2 in a 2-node job: one each
    ((3, 1), 1, 2, None, ((0,),), True),                  # "can't run 1 processes on 2 nodes"
    ((3, 1), 4, 2, 1, ((0, 1, 2), (3,)), True),           # --ntasks-per-node=1 with -n4: ignored
    ((4, 4), None, 2, 2, ((0, 1), (2, 3)), False),        # -N2 --ntasks-per-node=2
    ((4, 4), None, 2, None, ((0,), (1,)), False),         # -N2 alone: one task per node
    ((4, 4), 3, None, None, ((0, 1, 2),), False),         # no -N: as few nodes as hold the tasks
    ((4, 4), 6, None, None, ((0, 1, 2, 3), (4, 5)), False),
])
def test_block_layout(cpus, ntasks, nnodes, per_node, expected, warned):
    layout = steps.plan_layout(allocs(*cpus), 7, ntasks=ntasks, nnodes=nnodes, ntasks_per_node=per_node)
    assert layout.tasks_by_node == expected
    assert bool(layout.warnings) == warned


def test_layout_warnings_use_sruns_words():
    layout = steps.plan_layout(allocs(3, 1), 7, ntasks=1, nnodes=2)
    assert layout.warnings == ("can't run 1 processes on 2 nodes, setting nnodes to 1",)


@pytest.mark.parametrize("kw, code, message", [
    ({"ntasks": 10, "nnodes": None}, "TOO_MANY_REQUESTED_CPUS",
     "Unable to create step for job 7: More processors requested than permitted"),
    ({"ntasks": None, "nnodes": 3}, "INVALID_NODE_COUNT", "Only allocated 2 nodes asked for 3"),
    ({"ntasks": 2, "nnodes": 1, "cpus_per_task": 3}, "TOO_MANY_REQUESTED_CPUS",
     "Unable to create step for job 7: More processors requested than permitted"),
])
def test_layout_refusals(kw, code, message):
    with pytest.raises(RequestError) as caught:
        steps.plan_layout(allocs(2, 2), 7, **kw)
    assert (caught.value.code, caught.value.message) == (code, message)


def test_per_node_counts():
    from conf.jobtext import per_node_counts
    assert per_node_counts([2, 2, 1]) == "2(x2),1"
    assert per_node_counts([4]) == "4"


# ---- allocations -----------------------------------------------------------------------------------

def test_allocation_holds_nodes_without_launching_anything(env):
    ctl, sent, _ = env
    job_id = granted(ctl, min_nodes=2, nodes_set=True, ntasks=3, ntasks_set=True)
    job = ctl.jobs[job_id]
    assert job.state.value == "RUNNING" and job.spec["allocation"] and job.script == ""
    assert not outgoing(ctl, wire.Launch)
    info = steps.dispatch(ctl, ALICE, "allocation", {"job_id": job_id})
    env_vars = info["environment"]
    assert info["state"] == "RUNNING"
    assert env_vars["SLURM_JOB_ID"] == str(job_id) and env_vars["SLURM_JOB_NODELIST"] == "n[1-2]"
    assert env_vars["SLURM_NTASKS"] == "3" and env_vars["SLURM_TASKS_PER_NODE"] == "2,1"
    assert env_vars["SLURM_JOB_NAME"] == "interactive" and env_vars["SLURM_NNODES"] == "2"
    # an agent that registers again does not lose the allocation (no agent runs it)
    ctl.on_agent_message("n1", wire.Register("n1", 4, 4000, [], 0.0, 0.0, "t", [], []))
    assert ctl.jobs[job_id].state.value == "RUNNING"


def test_release_ends_the_job_with_the_commands_exit_code(env):
    ctl, _, _ = env
    job_id = granted(ctl)
    steps.dispatch(ctl, ALICE, "allocation_release", {"job_id": job_id, "exit_code": 7, "signal": 0})
    job = ctl.jobs[job_id]
    assert (job.state.value, job.exit_code) == ("FAILED", 7)
    assert not ctl.nodes["n1"].runs and "batch" not in step_rows(ctl, job_id)


def test_release_of_a_pending_allocation_cancels_it(env):
    ctl, _, _ = env
    job_id = steps.dispatch(ctl, ALICE, "allocate", {"job": {"min_nodes": 2, "nodes_set": True, "work_dir": "/tmp"}, "key": "a"})["job_id"]
    steps.dispatch(ctl, ALICE, "allocation_release", {"job_id": job_id})
    assert ctl.jobs[job_id].state.value == "CANCELLED"


def test_only_the_owner_may_use_an_allocation(env):
    ctl, _, _ = env
    job_id = granted(ctl)
    with pytest.raises(RequestError) as caught:
        create(ctl, job_id, caller=BOB)
    assert caught.value.code == "ACCESS_DENIED"
    with pytest.raises(RequestError):
        steps.dispatch(ctl, BOB, "allocation_release", {"job_id": job_id})


def test_scancel_of_an_allocation_ends_it_and_its_steps(env):
    ctl, _, _ = env
    job_id = granted(ctl)
    step = create(ctl, job_id)
    ctl.cancel(ALICE, [job_id], signal=None, batch_only=False, filters={})
    assert ctl.jobs[job_id].state.value == "CANCELLED" and not ctl.jobs[job_id].completing
    assert outgoing(ctl, wire.StepTerminate)
    assert step_rows(ctl, job_id)[str(step["step_id"])][:3] == ("CANCELLED", 0, 0)   # as sacct shows it on Slurm


def test_allocation_time_limit_is_enforced_by_the_controller(env):
    ctl, _, clock = env
    job_id = granted(ctl, time_limit_min=1)
    create(ctl, job_id)
    steps.enforce_allocation_limits(ctl)
    assert ctl.jobs[job_id].state.value == "RUNNING"
    clock.now += 61
    steps.enforce_allocation_limits(ctl)
    assert ctl.jobs[job_id].state.value == "TIMEOUT"
    # slurmstepd then notes "*** STEP 9541.0 ON n1 CANCELLED AT ... DUE TO TIME LIMIT ***"
    assert [m.reason for _, m in outgoing(ctl, wire.StepTerminate)] == ["timeout"]


# ---- steps ------------------------------------------------------------------------------------------

def test_step_launches_each_nodes_share_and_is_recorded(env):
    ctl, sent, _ = env
    job_id = granted(ctl, min_nodes=2, nodes_set=True, ntasks=3, ntasks_set=True)
    reply = create(ctl, job_id, ntasks=3, nodes=2, name="hello")
    assert reply == {"step_id": 0, "nodes": ["n1", "n2"], "tasks": [[0, 1], [2]], "warnings": []}
    sent_launches = dict(outgoing(ctl, wire.StepLaunch))
    assert sent_launches["n1"].tasks == [0, 1] and sent_launches["n2"].tasks == [2]
    assert sent_launches["n2"].node_index == 1 and sent_launches["n1"].io_key == "secret"
    step_env = sent_launches["n1"].environment
    assert step_env["SLURM_STEP_ID"] == step_env["SLURM_STEPID"] == "0"
    assert step_env["SLURM_STEP_NUM_TASKS"] == "3" and step_env["SLURM_STEP_NODELIST"] == "n[1-2]"
    assert step_env["SLURM_STEP_TASKS_PER_NODE"] == "2,1" and step_env["SLURM_JOB_NAME"] == "hello"
    assert step_env["HOME"] == "/tmp" and "SLURM_PROCID" not in step_env
    assert step_rows(ctl, job_id)["0"] == ("RUNNING", None, None, 3, "n[1-2]")
    assert create(ctl, job_id)["step_id"] == 1      # numbered in order


def test_step_ends_when_every_node_has_reported(env):
    ctl, sent, _ = env
    job_id = granted(ctl, min_nodes=2, nodes_set=True, ntasks=3, ntasks_set=True)
    create(ctl, job_id, ntasks=3, nodes=2)
    ctl.on_agent_message("n1", wire.StepEnded("n1", job_id, 0, [wire.TaskExit(0, 0, 0), wire.TaskExit(1, 3, 0)], 1.0))
    assert step_rows(ctl, job_id)["0"][0] == "RUNNING"
    assert ("n1", wire.StepEndAck(job_id, 0)) in sent
    ctl.on_agent_message("n2", wire.StepEnded("n2", job_id, 0, [wire.TaskExit(2, 1, 0)], 2.0))
    assert step_rows(ctl, job_id)["0"][:3] == ("FAILED", 3, 0)
    status = steps.dispatch(ctl, ALICE, "step_status", {"job_id": job_id, "step_id": 0})
    assert status["state"] == "FAILED" and status["tasks"]["1"] == [3, 0]


def test_cancelled_step_is_recorded_cancelled_with_its_signal(env):
    ctl, _, _ = env
    job_id = granted(ctl)
    create(ctl, job_id)
    steps.dispatch(ctl, ALICE, "step_cancel", {"job_id": job_id, "step_id": 0})
    (node, terminate), = outgoing(ctl, wire.StepTerminate)
    assert node == "n1" and terminate.kill_wait == 0.0
    ctl.on_agent_message("n1", wire.StepEnded("n1", job_id, 0, [wire.TaskExit(0, 0, 9)], 1.0))
    assert step_rows(ctl, job_id)["0"][:3] == ("CANCELLED", 0, 9)


def test_steps_need_a_running_job(env):
    ctl, _, _ = env
    job_id = steps.dispatch(ctl, ALICE, "allocate", {"job": {"min_nodes": 3, "nodes_set": True, "work_dir": "/tmp"}, "key": "x"})
    with pytest.raises(RequestError):
        create(ctl, job_id["job_id"])
    with pytest.raises(RequestError) as caught:
        create(ctl, 999_999)
    assert caught.value.code == "INVALID_JOB_ID"


def test_step_in_a_batch_job_ends_with_the_job(env):
    ctl, _, _ = env
    job_id, = ctl.submit(ALICE, [{"script": "#!/bin/sh\nsrun true\n", "work_dir": "/tmp"}], ["b"])
    assert schedule(ctl) == 1
    create(ctl, job_id)
    ctl.on_agent_message("n1", wire.RunEnded("n1", job_id, 1, "exited", 0, 0, 5.0))
    ctl.flush()
    rows = step_rows(ctl, job_id)
    assert rows["batch"][0] == "COMPLETED" and rows["0"][0] == "CANCELLED"
    assert any(m.step_id == 0 for _, m in outgoing(ctl, wire.StepTerminate))


def test_step_ops_do_not_shadow_other_operations():
    # the daemon hands these to steps.dispatch before its own table (scontrol's "release" is not ours)
    assert not set(steps.OPS) & {"submit", "jobs", "cancel", "hold", "release", "requeue", "update_job",
                                 "nodes", "partitions", "config", "accounting", "ping", "stats", "token"}


def test_an_srun_allocation_ends_when_its_srun_is_lost(env):
    ctl, _, _ = env
    job_id = steps.dispatch(ctl, ALICE, "allocate", {"job": {"name": "sleep", "work_dir": "/tmp"}, "key": "s",
                                                     "owner": "srun"})["job_id"]
    assert schedule(ctl) == 1
    create(ctl, job_id)
    ctl.on_agent_message("n1", wire.StepEnded("n1", job_id, 0, [wire.TaskExit(0, 0, 9)], 1.0, srun_lost=True))
    assert ctl.jobs[job_id].state.value == "CANCELLED" and not ctl.nodes["n1"].runs
    # salloc's allocation outlives a lost srun: salloc still holds it
    other = granted(ctl)
    create(ctl, other)
    ctl.on_agent_message("n1", wire.StepEnded("n1", other, 0, [wire.TaskExit(0, 0, 9)], 1.0, srun_lost=True))
    assert ctl.jobs[other].state.value == "RUNNING"


def test_a_restarted_controller_takes_up_running_steps(env):
    ctl, _, _ = env
    job_id = granted(ctl, min_nodes=2, nodes_set=True, ntasks=2, ntasks_set=True)
    create(ctl, job_id, ntasks=2, nodes=2)
    ctl = ctl.restarted()
    assert steps.dispatch(ctl, ALICE, "step_status", {"job_id": job_id, "step_id": 0})["state"] == "RUNNING"
    assert create(ctl, job_id)["step_id"] == 1          # numbering goes on
    ctl.on_agent_message("n1", wire.StepEnded("n1", job_id, 0, [wire.TaskExit(0, 0, 0)], 1.0))
    ctl.on_agent_message("n2", wire.StepEnded("n2", job_id, 0, [wire.TaskExit(1, 0, 0)], 1.0))
    assert step_rows(ctl, job_id)["0"][0] == "COMPLETED"
    # releasing the allocation closes the steps still open in it
    steps.dispatch(ctl, ALICE, "allocation_release", {"job_id": job_id})
    assert step_rows(ctl, job_id)["1"][0] == "CANCELLED"


def test_scancel_signal_on_an_allocation_reaches_its_steps(env):
    ctl, _, _ = env
    job_id = granted(ctl)
    create(ctl, job_id)
    assert ctl.cancel(ALICE, [job_id], signal=10, batch_only=False, filters={}) == [{"job_id": job_id, "code": ""}]
    assert [(node, m.signal) for node, m in outgoing(ctl, wire.StepSignal)] == [("n1", 10)]
    assert not outgoing(ctl, wire.Signal) and ctl.jobs[job_id].state.value == "RUNNING"
