"""Job steps on the real agent process: a fake controller sends StepLaunch, the test listens for
the step's I/O as srun does (sdk.steps.StepIO)."""
from __future__ import annotations

import os
import time

import pytest

from nodeagent import wire
from nodeagent.steps import expand_io_pattern, task_environment
from sdk.steps import Output, StepCancelled, StepIO, TaskExited
from tests.nodeagent.harness import NODE


def step_launch(msg_id: int, io: StepIO, where, *, argv, tasks=(0, 1), key=None, **fields) -> wire.StepLaunch:
    values = dict(msg_id=msg_id, job_id=5, attempt=1, step_id=2, argv=list(argv),
                  environment={"PATH": os.environ["PATH"], "SLURM_STEP_ID": "2"}, work_dir=str(where),
                  tasks=list(tasks), node_index=1, stdout="", stderr="", io_host="127.0.0.1", io_port=io.port,
                  io_key=io.key if key is None else key, uid=os.getuid(), gid=os.getgid(), cpus=4, gpus=[1],
                  user_name="u", job_name="j")
    values.update(fields)
    return wire.StepLaunch(**values)


def collect(io: StepIO, ntasks: int, timeout: float = 10.0) -> list:
    events = []
    deadline = time.monotonic() + timeout
    while not io.all_exited(ntasks) and time.monotonic() < deadline:
        events += io.poll(0.1)
    assert io.all_exited(ntasks), f"tasks still running after {timeout}s: {events}"
    return events


def output_of(events, task: int, fd: int) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, Output) and e.task == task and e.fd == fd)


def step_ended(job_id: int, step_id: int):
    return lambda m: isinstance(m, wire.StepEnded) and (m.job_id, m.step_id) == (job_id, step_id)


def test_io_patterns():
    expand = lambda p: expand_io_pattern(p, job_id=12, step_id=3, task=4, node_index=1, node="n2.x",
                                         user="al", job_name="jn")
    assert expand("/o/%j_%s_%t_%n_%N.out") == "/o/12_3_4_1_n2.out"
    assert expand("%J-%u-%x-%%-%3t") == "12.3-al-jn-%-004"
    assert expand("a\\%j") == "a%j"


def test_task_environment_is_per_task(tmp_path):
    with StepIO("127.0.0.1") as io:
        launch = step_launch(1, io, tmp_path, argv=["true"], tasks=(4, 5))
    env = task_environment(launch, 5, 1, "n7")
    assert (env["SLURM_PROCID"], env["SLURM_LOCALID"], env["SLURM_NODEID"]) == ("5", "1", "1")
    assert env["SLURM_GTIDS"] == "4,5" and env["SLURMD_NODENAME"] == "n7"
    assert env["CUDA_VISIBLE_DEVICES"] == "1" and env["SLURM_CPUS_ON_NODE"] == "4"


def test_step_output_and_exits_go_to_srun(controller, workspace, start_agent):
    start_agent()
    with StepIO("127.0.0.1") as io:
        script = 'echo "out $SLURM_PROCID $SLURM_LOCALID $SLURM_NODEID"; echo err$SLURM_PROCID >&2; exit $((SLURM_PROCID + 3))'
        launch = step_launch(controller.next_msg_id(), io, workspace / "work", argv=["bash", "-c", script])
        controller.send(launch)
        events = collect(io, 2)
        assert output_of(events, 0, 1) == b"out 0 0 1\n" and output_of(events, 1, 1) == b"out 1 1 1\n"
        assert output_of(events, 1, 2) == b"err1\n"
        assert sorted((e.task, e.node, e.exit_code, e.signal) for e in events if isinstance(e, TaskExited)) == [
            (0, NODE, 3, 0), (1, NODE, 4, 0)]
    ended = controller.expect(step_ended(5, 2))
    assert [(t.task_id, t.exit_code, t.signal) for t in ended.tasks] == [(0, 3, 0), (1, 4, 0)]
    # re-sent until acknowledged, then forgotten
    controller.expect(step_ended(5, 2), timeout=3)
    controller.send(wire.StepEndAck(5, 2))
    controller.drain(1.0)
    assert not [m for m in controller.drain(1.0) if isinstance(m, wire.StepEnded)]
    # a duplicate launch is acknowledged and ignored
    controller.send(launch)
    controller.expect(lambda m: isinstance(m, wire.Ack) and m.msg_id == launch.msg_id)
    assert not [m for m in controller.drain(0.5) if isinstance(m, wire.StepEnded)]


def test_step_output_files_and_missing_program(controller, workspace, start_agent):
    start_agent()
    work = workspace / "work"
    with StepIO("127.0.0.1") as io:
        controller.send(step_launch(controller.next_msg_id(), io, work, argv=["bash", "-c", "echo o; echo e >&2"],
                                    stdout="o_%j_%s_%t.txt", stderr=str(work / "e_%N.txt")))
        events = collect(io, 2)
        assert not [e for e in events if isinstance(e, Output)]
    assert (work / "o_5_2_0.txt").read_text() == "o\n" and (work / "o_5_2_1.txt").read_text() == "o\n"
    assert (work / f"e_{NODE}.txt").read_text() == "e\ne\n"       # both tasks, one file
    with StepIO("127.0.0.1") as io:
        controller.send(step_launch(controller.next_msg_id(), io, work, argv=["/nonexistent"], tasks=(0,), step_id=3))
        events = collect(io, 1)
        assert output_of(events, 0, 2) == (f"slurmstepd-{NODE}: error: execve(): /nonexistent: "
                                           "No such file or directory\n").encode()
        assert [(e.exit_code, e.signal) for e in events if isinstance(e, TaskExited)] == [(2, 0)]


def test_terminate_and_signal(controller, workspace, start_agent):
    start_agent()
    with StepIO("127.0.0.1") as io:
        script = 'trap "echo usr1 $SLURM_PROCID; exit 9" USR1; echo ready; while :; do sleep 0.05; done'
        controller.send(step_launch(controller.next_msg_id(), io, workspace / "work", argv=["bash", "-c", script]))
        events = []
        while output_of(events, 0, 1).count(b"ready") + output_of(events, 1, 1).count(b"ready") < 2:
            events += io.poll(0.1)
        controller.send(wire.StepSignal(controller.next_msg_id(), 5, 2, 10))    # SIGUSR1
        events += collect(io, 2)
        assert sorted(e.exit_code for e in events if isinstance(e, TaskExited)) == [9, 9]
    with StepIO("127.0.0.1") as io:
        controller.send(step_launch(controller.next_msg_id(), io, workspace / "work", argv=["sleep", "30"], step_id=4))
        time.sleep(0.5)
        controller.send(wire.StepTerminate(controller.next_msg_id(), 5, 4, 0.0, "timeout"))
        events = collect(io, 2)
        assert [e.signal for e in events if isinstance(e, TaskExited)] == [9, 9]
        (cancelled,) = [e for e in events if isinstance(e, StepCancelled)]
        assert cancelled.note.startswith(f"slurmstepd-{NODE}: error: *** STEP 5.4 ON {NODE} CANCELLED AT ")
        assert cancelled.note.endswith(" DUE TO TIME LIMIT ***") and cancelled.kill_wait == 0.0


def test_srun_going_away_kills_the_step(controller, workspace, start_agent):
    start_agent()
    io = StepIO("127.0.0.1")
    controller.send(step_launch(controller.next_msg_id(), io, workspace / "work", argv=["sleep", "30"], tasks=(0,)))
    deadline = time.monotonic() + 5
    while not io.open_connections() and time.monotonic() < deadline:
        io.poll(0.1)
    io.poll(0.3)
    io.close()
    ended = controller.expect(step_ended(5, 2), timeout=5)
    assert [t.signal for t in ended.tasks] == [9]


def test_wrong_key_is_refused(controller, workspace, start_agent):
    start_agent()
    with StepIO("127.0.0.1") as io:
        controller.send(step_launch(controller.next_msg_id(), io, workspace / "work", argv=["sleep", "30"],
                                    tasks=(0,), key="not-the-key"))
        events = []
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            events += io.poll(0.1)
        assert not events and not io.exited
    ended = controller.expect(step_ended(5, 2), timeout=5)   # srun was gone: the step ended with it
    assert [t.signal for t in ended.tasks] == [9]


@pytest.mark.parametrize("kind", ["StepLaunch", "StepEnded", "StepTerminate", "StepSignal", "StepEndAck"])
def test_step_messages_round_trip(kind, tmp_path):
    with StepIO("127.0.0.1") as io:
        samples = {
            "StepLaunch": step_launch(1, io, tmp_path, argv=["a"]),
            "StepEnded": wire.StepEnded("n1", 1, 2, [wire.TaskExit(0, 1, 0)], 3.0, 5, 0.5),
            "StepTerminate": wire.StepTerminate(1, 2, 3, 4.0), "StepSignal": wire.StepSignal(1, 2, 3, 10),
            "StepEndAck": wire.StepEndAck(1, 2)}
    msg = samples[kind]
    assert wire.decode(wire.encode(msg)) == msg
