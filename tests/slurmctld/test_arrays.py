"""Job arrays in the controller: one pending record, tasks split off as they start (checked
against Slurm 22.05 here: `sbatch --array=1-5%2` gave job 185; its tasks ran as jobs 204, 206,
222, 240 and, the last one, 185 itself; at most 2 ran at once, the rest JobArrayTaskLimit)."""
import pytest

from nodeagent import wire
from slurmctld_py import arrays
from slurmctld_py.errors import RequestError
from slurmctld_py.views import job_info
from tests.slurmctld.test_controller import ALICE, BOB, env, launches, register, schedule, spec  # noqa: F401


def _finish(ctl, job_id, code=0):
    job = ctl.jobs[job_id]
    ctl.on_agent_message(job.run.batch_host, wire.RunEnded(job.run.batch_host, job_id, job.run.attempt, "exited",
                                                           code, 0, ctl.clock()))


def _tasks(ctl, array_id):
    """{index: job id} of the array's started tasks."""
    return {j.array_task_id: j.job_id for j in arrays.members(ctl, array_id) if j.array_task_id is not None}


def cancel(ctl, caller, ids=(), tasks=None):
    return ctl.cancel(caller, list(ids), signal=None, batch_only=False, filters={}, array_tasks=tasks)


def test_submit_keeps_one_pending_record(env):
    ctl, make, _, _ = env
    (array_id,) = ctl.submit(ALICE, [spec(array="1-9%2")], ["k"])
    (record,) = ctl.jobs.values()
    info = job_info(record, 0)
    assert (info["job_id"], info["array_job_id"], info["array_task_id"]) == (array_id, array_id, None)
    assert (info["array_task_str"], info["array_max_tasks"]) == ("1-9", 2)
    # durable: a restarted controller knows the same pending indices
    again = make().jobs[array_id]
    assert again.array_pending == list(range(1, 10)) and again.array_max_tasks == 2


@pytest.mark.parametrize("text", ["abc", "5-2", "0-1001", "1-3:0", "1 "])
def test_bad_expression_is_refused_with_slurms_text(env, text):
    ctl, make, _, _ = env
    with pytest.raises(RequestError) as err:
        ctl.submit(ALICE, [spec(array=text)], ["k"])
    assert err.value.message == "Invalid job array specification"
    assert ctl.jobs == {} and make().jobs == {}


def test_empty_expression_is_a_plain_job(env):
    ctl, _, _, _ = env
    (job_id,) = ctl.submit(ALICE, [spec(array=",")], ["k"])
    assert ctl.jobs[job_id].array_job_id == 0


def test_tasks_split_off_with_new_ids_and_the_last_keeps_the_array_id(env):
    ctl, make, _, _ = env
    register(ctl, "n1")
    register(ctl, "n2")
    (array_id,) = ctl.submit(ALICE, [spec(array="0-9", cpus_per_task=1, mem_per_node_mb=100)], ["k"])
    assert schedule(ctl) == 8                           # 8 CPUs: one cycle starts 8 tasks
    tasks = _tasks(ctl, array_id)
    assert sorted(tasks) == list(range(8)) and array_id not in tasks.values()
    assert all(job_id > array_id for job_id in tasks.values())
    record = ctl.jobs[array_id]
    assert record.state == "PENDING" and record.array_task_str == "8-9"
    launch = {m.job_id: m for m in launches(ctl)}[tasks[3]]
    env_ = launch.environment
    assert (env_["SLURM_JOB_ID"], env_["SLURM_ARRAY_JOB_ID"], env_["SLURM_ARRAY_TASK_ID"]) == (
        str(tasks[3]), str(array_id), "3")
    assert (env_["SLURM_ARRAY_TASK_COUNT"], env_["SLURM_ARRAY_TASK_MIN"], env_["SLURM_ARRAY_TASK_MAX"],
            env_["SLURM_ARRAY_TASK_STEP"]) == ("10", "0", "9", "1")
    assert launch.stdout == f"/tmp/slurm-{array_id}_3.out"
    # after a restart the record still holds exactly 8-9, and the tasks are jobs of their own
    again = make()
    assert again.jobs[array_id].array_pending == [8, 9] and _tasks(again, array_id) == tasks
    for job_id in tasks.values():
        _finish(ctl, job_id)
    assert schedule(ctl) == 2
    tasks = _tasks(ctl, array_id)
    assert tasks[9] == array_id and tasks[8] not in (array_id, *[t for i, t in tasks.items() if i != 8])
    assert ctl.jobs[array_id].array_task_str == "" and ctl.jobs[array_id].state == "RUNNING"


def test_output_patterns(env):
    ctl, _, _, _ = env
    register(ctl, "n1")
    (array_id,) = ctl.submit(ALICE, [spec(array="7", stdout="o-%A_%a-%3a-%j.txt")], ["k"])
    schedule(ctl)
    (launch,) = launches(ctl)
    assert launch.stdout == f"/tmp/o-{array_id}_7-007-{array_id}.txt"


def test_throttle_limits_running_tasks(env):
    ctl, _, _, _ = env
    register(ctl, "n1")
    register(ctl, "n2")
    (array_id,) = ctl.submit(ALICE, [spec(array="1-5%2", mem_per_node_mb=100)], ["k"])
    assert schedule(ctl) == 2
    assert schedule(ctl) == 0
    record = ctl.jobs[array_id]
    assert record.reason == "JobArrayTaskLimit" and record.array_task_str == "3-5"
    _finish(ctl, _tasks(ctl, array_id)[1])
    assert schedule(ctl) == 1 and sorted(_tasks(ctl, array_id)) == [1, 2, 3]


def test_jobs_for_ids_names_every_record_of_an_array(env):
    ctl, _, _, _ = env
    register(ctl, "n1")
    array_id, other = ctl.submit(ALICE, [spec(array="0-5%2", mem_per_node_mb=100), spec(hold=True)], ["a", "b"])
    schedule(ctl)
    found = arrays.jobs_for_ids(ctl, [array_id])
    assert len(found) == 3 and {j.array_job_id for j in found} == {array_id}
    task = _tasks(ctl, array_id)[0]
    assert [j.job_id for j in arrays.jobs_for_ids(ctl, [task, other])] == [task, other]


def test_cancel_pending_indices_and_tasks(env):
    ctl, make, _, _ = env
    register(ctl, "n1")
    (array_id,) = ctl.submit(ALICE, [spec(array="0-9%1")], ["k"])
    schedule(ctl)
    running = _tasks(ctl, array_id)[0]
    res = cancel(ctl, ALICE, tasks=[{"job_id": array_id, "tasks": [1, 2, 3], "token": "x_[1-3]"},
                                    {"job_id": array_id, "tasks": [7], "token": "x_7"},
                                    {"job_id": array_id, "tasks": [42], "token": "x_42"},
                                    {"job_id": array_id, "tasks": [0], "token": "x_0"}])
    assert [(r["token"], r["code"]) for r in res if "token" in r] == [
        ("x_[1-3]", ""), ("x_7", ""), ("x_42", "INVALID_JOB_ID"), ("x_0", "")]
    assert ctl.jobs[array_id].array_task_str == "4-6,8-9" and make().jobs[array_id].array_task_str == "4-6,8-9"
    assert ctl.jobs[running].state == "CANCELLED"
    assert any(isinstance(o.message, wire.Terminate) and o.message.job_id == running for o in ctl.outbox.values())
    assert cancel(ctl, BOB, tasks=[{"job_id": array_id, "tasks": [4], "token": "x_4"}])[0]["code"] == "ACCESS_DENIED"
    # dropping every remaining index cancels the pending record itself
    cancel(ctl, ALICE, tasks=[{"job_id": array_id, "tasks": [4, 5, 6, 8, 9], "token": "x_[4-9]"}])
    assert ctl.jobs[array_id].state == "CANCELLED" and make().jobs[array_id].state == "CANCELLED"
    # observed (scancel 473_[0-2] on a held 0-2): the record then shows as plain `473`
    assert job_info(make().jobs[array_id], 0)["array_task_str"] == ""


def test_cancel_whole_array(env):
    ctl, _, _, _ = env
    register(ctl, "n1")
    (array_id,) = ctl.submit(ALICE, [spec(array="0-5%2", mem_per_node_mb=100)], ["k"])
    schedule(ctl)
    res = cancel(ctl, ALICE, [array_id])
    assert {r["job_id"] for r in res} == {array_id} and all(r["code"] == "" for r in res)
    records = arrays.members(ctl, array_id)
    assert len(records) == 3 and all(j.state == "CANCELLED" for j in records)
    assert ctl.jobs[array_id].array_task_str == "2-5"      # squeue -t all shows 123_[2-5%2] CA
    assert cancel(ctl, ALICE, [array_id])[0]["code"] == "ALREADY_DONE"


def test_afterok_on_an_array_waits_for_every_task(env):
    ctl, _, _, _ = env
    register(ctl, "n1")
    array_id, = ctl.submit(ALICE, [spec(array="0-2", mem_per_node_mb=100)], ["a"])
    after, = ctl.submit(ALICE, [spec(dependency=f"afterok:{array_id}")], ["b"])
    schedule(ctl)
    tasks = _tasks(ctl, array_id)
    _finish(ctl, tasks[0])
    _finish(ctl, tasks[1])
    schedule(ctl)
    assert ctl.jobs[after].state == "PENDING" and ctl.jobs[after].reason == "Dependency"
    _finish(ctl, tasks[2])
    schedule(ctl)
    assert ctl.jobs[after].state == "RUNNING"


def test_afterok_on_an_array_fails_when_a_task_fails(env):
    ctl, _, _, _ = env
    register(ctl, "n1")
    array_id, = ctl.submit(ALICE, [spec(array="0-1", mem_per_node_mb=100)], ["a"])
    after, = ctl.submit(ALICE, [spec(dependency=f"afterok:{array_id}")], ["b"])
    schedule(ctl)
    tasks = _tasks(ctl, array_id)
    _finish(ctl, tasks[0], 3)
    _finish(ctl, tasks[1])
    schedule(ctl)
    assert ctl.jobs[after].reason == "DependencyNeverSatisfied"


def test_array_records_are_purged_together(env):
    ctl, _, _, clock = env
    register(ctl, "n1")
    array_id, = ctl.submit(ALICE, [spec(array="0-1", mem_per_node_mb=100)], ["a"])
    schedule(ctl)
    tasks = _tasks(ctl, array_id)
    _finish(ctl, tasks[0], 3)
    clock.now += ctl.config.min_job_age + 10
    ctl.purge_finished()
    assert tasks[0] in ctl.jobs                  # its array is still running
    _finish(ctl, tasks[1])
    clock.now += ctl.config.min_job_age + 10
    ctl.purge_finished()
    assert not arrays.members(ctl, array_id) and ctl.final_facts[array_id].state == "FAILED"


def test_max_array_size_comes_from_slurm_conf(env):
    import dataclasses
    ctl, _, _, _ = env
    assert ctl.config.max_array_size == 1001           # Slurm's default
    ctl.config = dataclasses.replace(ctl.config, max_array_size=10)
    ctl.submit(ALICE, [spec(array="0-9")], ["a"])
    with pytest.raises(RequestError) as err:
        ctl.submit(ALICE, [spec(array="10")], ["b"])
    assert err.value.message == "Invalid job array specification"
    ctl.config = dataclasses.replace(ctl.config, max_array_size=0)   # arrays disabled
    with pytest.raises(RequestError):
        ctl.submit(ALICE, [spec(array="0")], ["c"])
