"""A fake controller (a zmq ROUTER socket) and a runner for the real agent process."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import zmq

from nodeagent import wire

NODE = "n1"
REPO = Path(__file__).resolve().parents[2]


class FakeController:
    """Answers Register/Heartbeat (and RunEnded, unless told not to) like the real controller."""

    def __init__(self, epoch: str = "epoch-1", kill_wait: float = 1.0) -> None:
        self.context = zmq.Context()
        self.sock = self.context.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = f"tcp://127.0.0.1:{self.port}"
        self.epoch = epoch
        self.kill_wait = kill_wait
        self.heartbeat_epoch: str | None = None      # answer heartbeats with another epoch
        self.auto_end_ack = True
        self.received: list[wire.Message] = []
        self._msg_ids = iter(range(1, 1_000_000))

    def close(self) -> None:
        self.sock.close(0)
        self.context.term()

    def next_msg_id(self) -> int:
        return next(self._msg_ids)

    def send(self, msg: wire.Message, node: str = NODE) -> None:
        self.sock.send_multipart([node.encode(), wire.encode(msg)])

    def send_frames(self, frames: list[bytes], node: str = NODE) -> None:
        self.sock.send_multipart([node.encode(), *frames])

    def poll_once(self, timeout: float) -> wire.Message | None:
        if not self.sock.poll(int(timeout * 1000)):
            return None
        node, frame = self.sock.recv_multipart()
        msg = wire.decode(frame)
        self.received.append(msg)
        match msg:
            case wire.Register():
                self.send(wire.RegisterAck(self.epoch, 0.2, self.kill_wait), node.decode())
            case wire.Heartbeat():
                self.send(wire.HeartbeatAck(self.heartbeat_epoch or self.epoch), node.decode())
            case wire.RunEnded() if self.auto_end_ack:
                self.send(wire.EndAck(msg.job_id, msg.attempt), node.decode())
        return msg

    def expect(self, predicate: Callable[[wire.Message], bool] | type, timeout: float = 5.0):
        """The next received message matching predicate (a class or a function)."""
        test = (lambda m: isinstance(m, predicate)) if isinstance(predicate, type) else predicate
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            msg = self.poll_once(left)
            if msg is not None and test(msg):
                return msg
        raise AssertionError(f"no matching message within {timeout}s; got "
                             f"{[type(m).__name__ for m in self.received[-20:]]}")

    def drain(self, seconds: float) -> list[wire.Message]:
        start = len(self.received)
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.poll_once(left)
        return self.received[start:]

    def launch(self, job_id: int, script: str, where: Path, **fields) -> wire.Launch:
        msg = make_launch(self.next_msg_id(), job_id, script, where, **fields)
        self.send(msg)
        return msg


def make_launch(msg_id: int, job_id: int, script: str, where: Path, **fields) -> wire.Launch:
    """A Launch running in `where` with output to where/slurm-<job_id>.out; fields override."""
    out = str(where / f"slurm-{job_id}.out")
    launch = wire.Launch(
        msg_id=msg_id, job_id=job_id, attempt=0, script=script, argv=[],
        environment={"PATH": os.environ["PATH"], "SLURM_JOB_ID": str(job_id)},
        work_dir=str(where), stdout=out, stderr=out, stdin="/dev/null",
        uid=os.getuid(), gid=os.getgid(), time_limit=None, cpus=1, memory_mb=100, gpus=[])
    return replace(launch, **fields)


def shared_dir() -> Path:
    """A directory every user can traverse (a job may run as another user)."""
    path = Path(tempfile.mkdtemp(prefix="nodeagent-test-"))
    path.chmod(0o755)
    return path


class AgentProcess:
    def __init__(self, controller: FakeController, spool: Path, log_file: Path,
                 extra: list[str] | None = None) -> None:
        self.spool = spool
        self.log_file = log_file
        args = [sys.executable, "-m", "nodeagent.agent", "--node", NODE,
                "--controller", controller.endpoint, "--spool", str(spool),
                "--cpus", "4", "--memory", "1000", "--gres", "gpu:a100:2",
                "--heartbeat", "0.2", "--kill-wait", "1", "--resend", "0.3",
                "--log-file", str(log_file), *(extra or [])]
        self.process = subprocess.Popen(args, cwd=REPO)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(10)

    def log_text(self) -> str:
        return self.log_file.read_text() if self.log_file.exists() else ""
