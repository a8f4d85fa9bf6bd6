"""The real agent process against a fake controller (a zmq ROUTER in the test)."""
from __future__ import annotations

import os
import signal
import time

import msgpack
import zmq
import pytest

from nodeagent import wire
from nodeagent.spool import RunPhase, RunRecord, Spool
from tests.nodeagent.harness import NODE, make_launch


def ended(job_id: int):
    return lambda m: isinstance(m, wire.RunEnded) and m.job_id == job_id


def started(job_id: int):
    return lambda m: isinstance(m, wire.RunStarted) and m.job_id == job_id


def acked(msg_id: int):
    return lambda m: isinstance(m, wire.Ack) and m.msg_id == msg_id


def test_register_launch_and_complete(controller, workspace, start_agent):
    agent = start_agent()
    reg = controller.received[-1]
    assert (reg.node, reg.cpus, reg.memory_mb) == (NODE, 4, 1000)
    assert [(g.index, g.type) for g in reg.gpus] == [(0, "a100"), (1, "a100")]
    assert reg.active == [] and reg.finished == []
    work = workspace / "work"
    script = ("#!/bin/bash\nenv > env.txt\nls /proc/$$/fd > fds.txt\necho \"args: $*\"\necho to-stderr >&2\n"
              "python3 -c 'x = bytearray(200_000_000)'\nexit 3\n")
    launch = controller.launch(7, script, work, argv=["a", "b c"],
                               environment={"PATH": os.environ["PATH"], "MY_VAR": "hello world",
                                                            "SLURM_JOB_ID": "7"}, gpus=[1])
    controller.expect(acked(launch.msg_id))
    run = controller.expect(started(7))
    assert run.pid > 0 and abs(run.start_time - time.time()) < 5
    end = controller.expect(ended(7))
    assert (end.outcome, end.exit_code, end.signal) == ("exited", 3, 0)
    # 200 MB held by a child of the script: wait4 reports the largest descendant's peak.
    assert 190_000 < end.max_rss_kb < 260_000 and end.cpu_seconds > 0
    env = dict(line.split("=", 1) for line in (work / "env.txt").read_text().splitlines() if "=" in line)
    assert env["MY_VAR"] == "hello world" and env["SLURM_JOB_ID"] == "7"
    assert env["SLURMD_NODENAME"] == NODE and env["CUDA_VISIBLE_DEVICES"] == "1"
    # Nothing of the agent leaks into the job: stdio and bash's own 255 only.
    assert sorted((work / "fds.txt").read_text().split()) == ["0", "1", "2", "255"]
    assert (work / "slurm-7.out").read_text() == "args: a b c\nto-stderr\n"
    assert "registered with controller epoch epoch-1" in agent.log_text()
    # EndAck (sent by the fake) removes the run from the spool.
    deadline = time.monotonic() + 3
    while (workspace / "spool" / "job7.0").exists() and time.monotonic() < deadline:
        controller.drain(0.1)
    assert not (workspace / "spool" / "job7.0").exists()


def test_signalled_script_reports_signal(controller, workspace, start_agent):
    start_agent()
    controller.launch(8, "#!/bin/bash\nkill -USR1 $$\n", workspace / "work")
    end = controller.expect(ended(8))
    assert (end.outcome, end.exit_code, end.signal) == ("exited", 0, signal.SIGUSR1)
    assert end.max_rss_kb == 0      # smaller than the agent itself: unknown (see launcher.Started)


def test_duplicate_launch_is_acked_and_ignored(controller, workspace, start_agent):
    start_agent()
    work = workspace / "work"
    script = "#!/bin/bash\necho ran >> count.txt\nsleep 0.5\n"
    first = controller.launch(9, script, work)
    again = make_launch(controller.next_msg_id(), 9, script, work)
    controller.send(first)           # the very same message resent from the outbox
    controller.send(again)           # a new outbox row for the same run
    controller.expect(ended(9))
    acks = {m.msg_id for m in controller.received if isinstance(m, wire.Ack)}
    assert {first.msg_id, again.msg_id} <= acks
    controller.send(again)           # after the end too
    controller.expect(acked(again.msg_id))
    assert len([m for m in controller.received if isinstance(m, wire.RunStarted)]) == 1
    assert (work / "count.txt").read_text() == "ran\n"


def test_terminate_sends_term_then_kill(controller, workspace, start_agent):
    start_agent()
    work = workspace / "work"
    script = ("#!/bin/bash\ntrap 'echo got TERM >> trap.txt' TERM\n"
              "echo ready > ready.txt\nwhile true; do sleep 0.1; done\n")
    controller.launch(10, script, work)
    controller.expect(started(10))
    while not (work / "ready.txt").exists():
        controller.drain(0.05)
    term = wire.Terminate(controller.next_msg_id(), 10, 0, "cancelled", 1.0)
    sent = time.monotonic()
    controller.send(term)
    controller.expect(acked(term.msg_id))
    end = controller.expect(ended(10))
    took = time.monotonic() - sent
    assert (end.outcome, end.exit_code, end.signal) == ("cancelled", 0, signal.SIGKILL)
    assert 0.9 < took < 3
    assert "got TERM" in (work / "trap.txt").read_text()
    # Terminate of a finished run: acknowledged, nothing else.
    again = wire.Terminate(controller.next_msg_id(), 10, 0, "cancelled", 1.0)
    controller.send(again)
    controller.expect(acked(again.msg_id))


def test_time_limit_ends_with_timeout(controller, workspace, start_agent):
    start_agent()
    controller.launch(11, "#!/bin/bash\nsleep 30\n", workspace / "work", time_limit=0.5)
    run = controller.expect(started(11))
    end = controller.expect(ended(11))
    assert (end.outcome, end.signal) == ("timeout", signal.SIGTERM)
    assert 0.4 < end.end_time - run.start_time < 2


def test_signal_reaches_the_job(controller, workspace, start_agent):
    start_agent()
    work = workspace / "work"
    script = ("#!/bin/bash\ntrap 'echo usr1 > got.txt; exit 0' USR1\n"
              "echo ready > ready.txt\nwhile true; do sleep 0.1; done\n")
    controller.launch(12, script, work)
    while not (work / "ready.txt").exists():
        controller.drain(0.05)
    sig = wire.Signal(controller.next_msg_id(), 12, 0, signal.SIGUSR1, batch_only=True)
    controller.send(sig)
    controller.expect(acked(sig.msg_id))
    end = controller.expect(ended(12))
    assert (end.outcome, end.exit_code) == ("exited", 0)
    assert (work / "got.txt").read_text() == "usr1\n"


def test_missing_output_directory_fails_the_launch(controller, workspace, start_agent):
    start_agent()
    work = workspace / "work"
    launch = controller.launch(13, "#!/bin/bash\ntrue\n", work,
                               stdout=str(work / "nodir" / "x.out"), stderr=str(work / "nodir" / "x.out"))
    controller.expect(acked(launch.msg_id))
    end = controller.expect(ended(13))
    assert (end.outcome, end.exit_code) == ("launch_failed", 1)
    assert end.message == f"Could not open stdout file {work}/nodir/x.out: No such file or directory"
    assert not any(isinstance(m, wire.RunStarted) for m in controller.received)


def test_missing_work_dir_runs_in_tmp_with_a_note(controller, workspace, start_agent):
    start_agent()
    work = workspace / "work"
    controller.launch(14, "#!/bin/bash\npwd\n", work, work_dir="/nonexistent",
                      stdout=str(work / "out.txt"), stderr=str(work / "out.txt"))
    end = controller.expect(ended(14))
    assert (end.outcome, end.exit_code) == ("exited", 0)
    # Golden text from `sbatch -D /nonexistent --wrap pwd` on Slurm 22.05 (note printed twice).
    note = ("slurmstepd-n1: error: couldn't chdir to `/nonexistent': No such file or directory: "
            "going to /tmp instead\n")
    assert (work / "out.txt").read_text() == note * 2 + "/tmp\n"


def test_separate_stderr_and_append_mode(controller, workspace, start_agent):
    start_agent()
    work = workspace / "work"
    (work / "o.txt").write_text("old\n")
    controller.launch(15, "#!/bin/bash\necho out\necho err >&2\n", work, open_mode="append",
                      stdout=str(work / "o.txt"), stderr=str(work / "e.txt"))
    controller.expect(ended(15))
    assert (work / "o.txt").read_text() == "old\nout\n"
    assert (work / "e.txt").read_text() == "err\n"


def test_garbage_frames_do_not_crash_it(controller, workspace, start_agent):
    agent = start_agent()
    controller.send_frames([b"\xc1garbage"])
    controller.send_frames([msgpack.packb({"v": 99, "kind": "Launch"})])
    controller.send_frames([msgpack.packb({"v": 1, "kind": "Launch", "job_id": "x"})])
    controller.send_frames([msgpack.packb([1, 2, 3])])
    controller.send_frames([b"a", b"b"])
    controller.send(wire.Heartbeat(NODE, "", []))       # a kind the agent never receives
    controller.launch(16, "#!/bin/bash\ntrue\n", workspace / "work")
    assert controller.expect(ended(16)).exit_code == 0
    assert agent.process.poll() is None
    assert agent.log_text().count("dropped") >= 5


def test_run_ended_is_resent_until_acknowledged(controller, workspace, start_agent):
    start_agent()
    controller.auto_end_ack = False
    controller.launch(17, "#!/bin/bash\nexit 2\n", workspace / "work")
    first = controller.expect(ended(17))
    second = controller.expect(ended(17), timeout=3)
    assert first == second
    controller.send(wire.EndAck(17, 0))
    time.sleep(0.2)
    controller.drain(0.1)
    seen = len(controller.received)
    later = controller.drain(1.0)
    assert not any(isinstance(m, wire.RunEnded) for m in later), later
    assert seen > 0 and not (workspace / "spool" / "job17.0").exists()


def test_restart_reports_unacknowledged_end(controller, workspace, start_agent):
    agent = start_agent()
    controller.auto_end_ack = False
    controller.launch(18, "#!/bin/bash\nexit 5\n", workspace / "work")
    controller.expect(ended(18))
    assert agent.stop() == 0
    controller.received.clear()
    start_agent()
    reg = controller.received[-1]
    assert reg.finished == [wire.RunRef(18, 0)] and reg.active == []
    end = controller.expect(ended(18))
    assert (end.outcome, end.exit_code) == ("exited", 5)
    controller.send(wire.EndAck(18, 0))
    controller.drain(0.5)
    assert not (workspace / "spool" / "job18.0").exists()


def test_restart_adopts_live_runs_and_fails_lost_ones(controller, workspace, start_agent):
    agent = start_agent()
    work = workspace / "work"
    controller.launch(19, "#!/bin/bash\nwhile true; do sleep 0.1; done\n", work)
    controller.expect(started(19))
    agent.stop(signal.SIGKILL)            # the agent dies; its job lives on
    # A run the spool says is running, but whose process is long gone.
    Spool(workspace / "spool").save(RunRecord(20, 1, RunPhase.RUNNING, pid=999_999_999,
                                              proc_start_ticks=1, start_time=time.time()))
    controller.received.clear()
    start_agent()
    reg = controller.received[-1]
    assert reg.active == [wire.RunRef(19, 0)] and reg.finished == [wire.RunRef(20, 1)]
    lost = controller.expect(ended(20))
    assert (lost.attempt, lost.outcome, lost.exit_code, lost.signal) == (1, "node_fail", 0, 9)
    term = wire.Terminate(controller.next_msg_id(), 19, 0, "cancelled", 1.0)
    controller.send(term)
    end = controller.expect(ended(19))
    assert end.outcome == "cancelled"


def test_new_controller_epoch_triggers_registration(controller, workspace, start_agent):
    start_agent()
    controller.expect(wire.Heartbeat)
    controller.epoch = controller.heartbeat_epoch = "epoch-2"
    reg_count = sum(isinstance(m, wire.Register) for m in controller.received)
    controller.expect(wire.Register, timeout=2)
    hb = controller.expect(wire.Heartbeat, timeout=2)
    assert hb.controller_epoch == "epoch-2"
    assert sum(isinstance(m, wire.Register) for m in controller.received) == reg_count + 1


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch users")
def test_runs_as_the_jobs_user(controller, workspace, start_agent):
    start_agent()
    work = workspace / "work"
    controller.launch(21, "#!/bin/bash\nid -u\nid -g\ntouch mine\n", work, uid=65534, gid=65534)
    end = controller.expect(ended(21))
    assert (end.outcome, end.exit_code) == ("exited", 0), end
    assert (work / "slurm-21.out").read_text() == "65534\n65534\n"
    assert (work / "slurm-21.out").stat().st_uid == 65534
    assert (work / "mine").stat().st_uid == 65534


def test_controller_restart_keeps_jobs_and_reregisters(controller, workspace, start_agent):
    start_agent()
    work = workspace / "work"
    controller.launch(22, "#!/bin/bash\nsleep 1\nexit 4\n", work)
    controller.expect(started(22))
    port = controller.port
    controller.sock.close(0)                   # the controller goes away mid-job
    time.sleep(1.5)                            # ... while the job ends
    controller.sock = controller.context.socket(zmq.ROUTER)
    controller.sock.setsockopt(zmq.LINGER, 0)
    controller.sock.bind(f"tcp://127.0.0.1:{port}")
    controller.epoch = "epoch-2"               # a new controller process
    controller.received.clear()
    reg = controller.expect(wire.Register, timeout=8)
    assert wire.RunRef(22, 0) in reg.finished
    # The RunEnded queued while the controller was away may arrive before or after the Register.
    if not any(ended(22)(m) for m in controller.received):
        controller.expect(ended(22), timeout=5)
    end = next(m for m in controller.received if ended(22)(m))
    assert (end.outcome, end.exit_code) == ("exited", 4)


def test_terminate_before_launch_keeps_the_run_from_starting(controller, workspace, start_agent):
    start_agent()
    term = wire.Terminate(controller.next_msg_id(), 23, 0, "cancelled", 1.0)
    controller.send(term)
    controller.expect(acked(term.msg_id))
    launch = controller.launch(23, "#!/bin/bash\ntouch ran.txt\n", workspace / "work")
    controller.expect(acked(launch.msg_id))
    end = controller.expect(ended(23))
    assert end.outcome == "cancelled"
    assert not (workspace / "work" / "ran.txt").exists()
    assert not any(isinstance(m, wire.RunStarted) for m in controller.received)


def test_in_process_agent_statistics(controller, workspace):
    import asyncio
    import threading

    from nodeagent.agent import NodeAgent
    from nodeagent.settings import AgentSettings

    settings = AgentSettings(node=NODE, controller=controller.endpoint, spool=str(workspace / "spool"),
                             cpus=2, memory_mb=500, gpus=None, heartbeat=0.2, kill_wait=1.0)
    agent = NodeAgent(settings, gpu_detector=lambda: [])
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(agent.run(),))
    thread.start()
    try:
        reg = controller.expect(wire.Register)
        assert (reg.cpus, reg.memory_mb, reg.gpus) == (2, 500, [])
        for job_id in (31, 32, 33):
            controller.launch(job_id, "#!/bin/true\n", workspace / "work")
        for _ in range(3):                       # they may end in any order
            controller.expect(wire.RunEnded)
        controller.drain(0.3)
        stats = agent.statistics()
    finally:
        loop.call_soon_threadsafe(agent.stop)
        thread.join(5)
        loop.close()
    assert stats["registered"] and stats["controller_epoch"] == "epoch-1"
    assert (stats["runs_started"], stats["runs_ended"], stats["runs_active"]) == (3, 3, 0)
    assert stats["runs_awaiting_end_ack"] == 0
    assert stats["messages_in"] >= 7 and stats["messages_out"] >= 10
