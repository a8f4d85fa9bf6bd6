"""Dependencies: the grammar, Slurm 22.05's display, and the controller releasing jobs."""
import pytest

from nodeagent import wire
from slurmctld_py.dependencies import DepState, Facts, parse, evaluate
from slurmctld_py.errors import RequestError
from tests.slurmctld.test_controller import ALICE, env, register, schedule, spec  # noqa: F401


@pytest.mark.parametrize("text", ["afterok", "bogus:1", "afterok:x", "afterany:1+5", ",", "afterok:1,,2", ""])
def test_refused(text):
    with pytest.raises(RequestError) as err:
        parse(text)
    assert err.value.code == "DEPENDENCY"


def test_grammar():
    assert parse("7").deps[0].kind == "afterany"
    expr = parse("afterok:1:2,after:3+5")
    assert [d.text() for d in expr.deps] == ["afterok:1", "afterok:2", "after:3+5"] and not expr.any_of
    assert parse("afterok:1?afternotok:2").any_of
    assert parse("singleton").deps[0].kind == "singleton"


FACTS = {1: Facts("COMPLETED", 0.0, 0), 2: Facts("FAILED", 0.0, 1), 3: Facts("RUNNING", 100.0), 4: Facts("PENDING", None)}


@pytest.mark.parametrize("text, state, shown", [
    # display strings as squeue %E printed them on the real Slurm 22.05 here
    ("afterok:1", DepState.SATISFIED, ""),
    ("afterok:2", DepState.NEVER, "afterok:2(failed)"),
    ("afterany:1,afterok:2", DepState.NEVER, "afterok:2(failed)"),
    ("afterok:4", DepState.WAITING, "afterok:4(unfulfilled)"),
    ("afterok:4?afterok:2", DepState.WAITING, "afterok:4(unfulfilled)?afterok:2(failed)"),
    ("afterok:4?afterok:1", DepState.SATISFIED, ""),
    ("afternotok:2", DepState.SATISFIED, ""),
    ("afternotok:1", DepState.NEVER, "afternotok:1(failed)"),
    ("after:3", DepState.SATISFIED, ""),
    ("after:3+5", DepState.WAITING, "after:3+5(unfulfilled)"),
    ("after:4", DepState.WAITING, "after:4(unfulfilled)"),
    ("afterok:999", DepState.SATISFIED, ""),       # unknown ids pass, as observed on 22.05
])
def test_evaluation(text, state, shown):
    assert evaluate(parse(text), FACTS.get, now=200.0) == (state, shown)


def test_singleton_display():
    assert evaluate(parse("singleton"), FACTS.get, 0.0, singleton_blocked=True) == (
        DepState.WAITING, "singleton(unfulfilled)")


def _finish(ctl, job_id, code):
    job = ctl.jobs[job_id]
    ctl.on_agent_message(job.run.batch_host, wire.RunEnded(job.run.batch_host, job_id, job.run.attempt, "exited",
                                                           code, 0, ctl.clock()))


def test_chain_runs_in_order_and_failure_blocks(env):
    ctl, make, _, _ = env
    register(ctl, "n1")
    register(ctl, "n2")
    (first,) = ctl.submit(ALICE, [spec(mem_per_node_mb=100)], ["a"])
    second, other = ctl.submit(ALICE, [spec(mem_per_node_mb=100, dependency=f"afterok:{first}"),
                                       spec(mem_per_node_mb=100, dependency=f"afternotok:{first}")], ["b", "c"])
    schedule(ctl)
    assert ctl.jobs[first].state == "RUNNING"
    assert ctl.jobs[second].reason == "Dependency"
    assert ctl.jobs[second].dependency_shown == f"afterok:{first}(unfulfilled)"
    _finish(ctl, first, 0)
    schedule(ctl)
    assert ctl.jobs[second].state == "RUNNING" and ctl.jobs[second].dependency_shown == ""
    assert ctl.jobs[other].reason == "DependencyNeverSatisfied"
    assert ctl.jobs[other].dependency_shown == f"afternotok:{first}(failed)"
    # a restarted controller reaches the same verdicts from the database
    again = make()
    schedule(again)
    assert again.jobs[other].reason == "DependencyNeverSatisfied"


def test_kill_on_invalid_dep(env):
    ctl, _, _, _ = env
    register(ctl, "n1")
    register(ctl, "n2")
    (first,) = ctl.submit(ALICE, [spec(mem_per_node_mb=100)], ["a"])
    (dep,) = ctl.submit(ALICE, [spec(dependency=f"afterok:{first}", kill_on_invalid_dep=True)], ["b"])
    schedule(ctl)
    _finish(ctl, first, 1)
    schedule(ctl)
    assert ctl.jobs[dep].state == "CANCELLED"


def test_singleton_waits_for_the_earlier_job(env):
    ctl, _, _, _ = env
    register(ctl, "n1")
    register(ctl, "n2")
    a, b = ctl.submit(ALICE, [spec(name="s", mem_per_node_mb=100, dependency="singleton"),
                              spec(name="s", mem_per_node_mb=100, dependency="singleton")], ["a", "b"])
    schedule(ctl)
    assert ctl.jobs[a].state == "RUNNING" and ctl.jobs[b].reason == "Dependency"
    _finish(ctl, a, 0)
    schedule(ctl)
    assert ctl.jobs[b].state == "RUNNING"


def test_one_array_task_as_a_dependency():
    # sbatch -d afterok:185_3 / 185_* / 185_ on Slurm 22.05 here: squeue %E showed
    # afterok:185_3(unfulfilled), afterok:185_*(unfulfilled), afterok:185_0(unfulfilled)
    assert parse("afterok:185_").deps[0].text() == "afterok:185_0"
    expr = parse("afterok:185_3,afterany:185_*")
    assert [d.text() for d in expr.deps] == ["afterok:185_3", "afterany:185_*"]
    tasks = {(185, 3): Facts("RUNNING", 100.0)}
    whole = {185: Facts("PENDING", None)}
    state, shown = evaluate(expr, whole.get, 200.0, task_lookup=lambda a, t: tasks.get((a, t)))
    assert state is DepState.WAITING
    assert shown == "afterok:185_3(unfulfilled),afterany:185_*(unfulfilled)"
    tasks[(185, 3)] = Facts("COMPLETED", 100.0, 0)
    whole[185] = Facts("COMPLETED", 100.0, 0)
    assert evaluate(expr, whole.get, 200.0, task_lookup=lambda a, t: tasks.get((a, t)))[0] \
        is DepState.SATISFIED
    tasks[(185, 3)] = Facts("FAILED", 100.0, 1)
    assert evaluate(parse("afterok:185_3"), whole.get, 200.0,
                    task_lookup=lambda a, t: tasks.get((a, t)))[0] is DepState.NEVER


@pytest.mark.parametrize("text", ["afterok:185_x", "afterok:185_3x"])
def test_bad_task_ids_are_refused(text):
    with pytest.raises(RequestError):
        parse(text)
