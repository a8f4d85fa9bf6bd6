from __future__ import annotations

import os
import shutil
import signal

import pytest

from nodeagent.wire import Register
from tests.nodeagent.harness import AgentProcess, FakeController, shared_dir


@pytest.fixture
def controller():
    ctl = FakeController()
    yield ctl
    ctl.close()


@pytest.fixture
def workspace():
    """A world-traversable directory holding spool/ and work/ (jobs may run as nobody)."""
    root = shared_dir()
    (root / "work").mkdir(mode=0o777)
    (root / "work").chmod(0o777)
    yield root
    kill_jobs_under(root)
    shutil.rmtree(root, ignore_errors=True)


def kill_jobs_under(root) -> None:
    """A failed test may leave a job running (jobs outlive their agent by design): end the process
    group of every process whose command line mentions the test's directory."""
    marker = str(root).encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                if marker not in cmdline.read():
                    continue
            group = os.getpgid(int(entry))
            if group != os.getpgid(0):     # an agent still alive shares pytest's group
                os.killpg(group, signal.SIGKILL)
        except (OSError, ProcessLookupError):
            pass


@pytest.fixture
def start_agent(controller, workspace):
    agents: list[AgentProcess] = []

    def start(extra: list[str] | None = None, wait_register: bool = True) -> AgentProcess:
        """The controller can only reach an agent once it has connected: wait for its Register
        (kept in controller.received) unless told not to."""
        agent = AgentProcess(controller, workspace / "spool", workspace / f"agent{len(agents)}.log", extra)
        agents.append(agent)
        if wait_register:
            controller.expect(lambda m: isinstance(m, Register))
        return agent

    yield start
    for agent in agents:
        agent.stop()
