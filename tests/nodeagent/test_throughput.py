"""Many short jobs: the agent's per-job overhead (spawn, two durable spool writes, reaping,
four messages) must stay small. Measured numbers are printed (run with -s to see them)."""
from __future__ import annotations

import time

import pytest

from nodeagent import wire


def run_jobs(controller, workspace, total: int, concurrent: int) -> float:
    work = workspace / "work"
    next_job, in_flight, done = 1, 0, 0
    start = time.monotonic()
    while done < total:
        while in_flight < concurrent and next_job <= total:
            controller.launch(next_job, "#!/bin/true\n", work, stdout="/dev/null", stderr="/dev/null")
            next_job += 1
            in_flight += 1
        end = controller.expect(wire.RunEnded, timeout=10)
        assert (end.outcome, end.exit_code) == ("exited", 0), end
        in_flight -= 1
        done += 1
    return time.monotonic() - start


@pytest.mark.parametrize("total, concurrent", [(200, 1), (200, 16)])
def test_many_trivial_jobs(controller, workspace, start_agent, total, concurrent):
    agent = start_agent(["--log-level", "WARNING"])
    elapsed = run_jobs(controller, workspace, total, concurrent)
    print(f"\n{total} jobs, {concurrent} at a time: {elapsed:.2f}s, "
          f"{elapsed / total * 1000:.1f} ms per job")
    assert elapsed < 5.0
    assert agent.process.poll() is None


@pytest.mark.slow
def test_thousand_jobs_sixteen_at_a_time(controller, workspace, start_agent):
    start_agent(["--log-level", "WARNING"])
    elapsed = run_jobs(controller, workspace, 1000, 16)
    print(f"\n1000 jobs, 16 at a time: {elapsed:.2f}s, {elapsed:.1f} ms per job")
    assert elapsed < 25.0
    leftovers = [p for p in (workspace / "spool").iterdir()]
    deadline = time.monotonic() + 3
    while leftovers and time.monotonic() < deadline:
        controller.drain(0.1)
        leftovers = [p for p in (workspace / "spool").iterdir()]
    assert leftovers == []
