"""The sbatch golden corpus replayed on our cluster.

Every case in tests/golden/sbatch/*.json was captured from real Slurm 22.05.8 by
tests/golden/capture_sbatch.py (each file's `command` is the real command line that made it). Here
the same steps run against one cluster of ours shaped like the real one (tests/golden/slurm.conf:
partitions cpu n[1-2] and gpu n[3-4] with 4 GPUs), all cases at once, and what a user could see is
compared after normalizing job ids, times, node names and the case's directory: each command's
stdout/stderr/exit code, `scontrol show job` fields, sacct's State/ExitCode, the job's environment
and the files the job wrote.
"""
from __future__ import annotations

import glob
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e import harness
from tests.golden.corpus import normalize, normalize_file_name, run_case

GOLDEN_DIR = os.path.join(os.path.dirname(__file__), "..", "golden", "sbatch")
CONF = os.path.join(os.path.dirname(__file__), "..", "golden", "slurm.conf")
RECORDS = {os.path.basename(p)[:-5]: json.load(open(p)) for p in sorted(glob.glob(f"{GOLDEN_DIR}/*.json"))}

# scontrol show job fields compared (timing-dependent ones such as Priority, RunTime, SubmitTime
# and StartTime are not)
SHOW_KEYS = (
    "JobName", "JobState", "Reason", "Dependency", "Requeue", "Restarts", "ExitCode", "TimeLimit",
    "TimeMin", "Deadline", "Partition", "NumNodes", "NumCPUs", "NumTasks", "CPUs/Task", "MinCPUsNode",
    "MinMemoryNode", "MinMemoryCPU", "TRES", "Features", "ReqNodeList", "ExcNodeList", "Comment",
    "MailUser", "MailType", "WorkDir", "StdOut", "StdErr", "StdIn", "Nice", "OverSubscribe",
    "TresPerNode", "TresPerJob", "TresPerTask", "NtasksPerN:B:S:C", "Command", "NodeList", "BatchHost",
    "Account", "QOS", "EligibleTime",
)
# job environment variables that legitimately differ between two clusters
ENV_IGNORED = frozenset({
    "SLURM_TASK_PID", "SLURM_WORKING_CLUSTER", "SLURM_CONF", "SLURM_NODE_ALIASES", "SLURM_JOB_START_TIME",
    "SLURM_JOB_END_TIME",
})

# Cases we still differ on from the real Slurm, each with why (xfail, strict): none left.
EXPECTED_FAILURES: dict[str, str] = {}


# Cases whose outcome depends on what else runs (captured on an idle real cluster): replayed one
# at a time once the concurrent ones are done. `-N 1-2` takes 2 nodes only when both are free.
NEEDS_IDLE_CLUSTER = {"nodes_range"}


def _wait_idle(cluster, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while cluster.client().jobs() and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    """Every case run once against one cluster of ours, concurrently."""
    root = tmp_path_factory.mktemp("corpus")
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_STATE_HOME", str(root / "xdg"))   # slurm-local's memory of the last cluster
    cluster = harness.start(root, conf=CONF)
    try:
        work = os.path.join(cluster.workdir, "cases")
        os.makedirs(work, exist_ok=True)
        shared = [name for name in RECORDS if name not in NEEDS_IDLE_CLUSTER]
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = dict(zip(shared, pool.map(
                lambda name: run_case(RECORDS[name]["case"], harness.BIN, cluster.conf, work), shared)))
        for name in sorted(NEEDS_IDLE_CLUSTER & set(RECORDS)):
            _wait_idle(cluster)
            results[name] = run_case(RECORDS[name]["case"], harness.BIN, cluster.conf, work)
        yield results
    finally:
        harness.stop(cluster)
        patch.undo()


def comparable(observed: dict) -> dict:
    """The normalized view of one observation that two clusters must agree on."""
    ids, workdir = observed["ids"], observed["workdir"]

    def norm(value):
        return normalize(value, ids, workdir)

    jobs = []
    for job in observed["jobs"]:
        show = job["show"]
        env = {k: v for k, v in job["env"].items() if k not in ENV_IGNORED}
        jobs.append({"show": {k: norm(show.get(k)) for k in SHOW_KEYS}, "sacct": norm(job["sacct"]),
                     "env": norm(env)})
    return {
        "steps": [{k: norm(step[k]) for k in ("stdout", "stderr", "exit_code")} for step in observed["steps"]],
        "jobs": jobs,
        "files": {normalize_file_name(name, ids, workdir): norm(text) for name, text in observed["files"].items()},
    }


def differences(expected: dict, actual: dict, path: str = "") -> list[str]:
    if isinstance(expected, dict) and isinstance(actual, dict):
        found = []
        for key in sorted(set(expected) | set(actual), key=str):
            found += differences(expected.get(key), actual.get(key), f"{path}.{key}")
        return found
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [d for i, (e, a) in enumerate(zip(expected, actual)) for d in differences(e, a, f"{path}[{i}]")]
    return [] if expected == actual else [f"{path}: slurm {expected!r} / ours {actual!r}"]


def test_corpus_size():
    assert len(RECORDS) >= 100
    assert all("22.05" in r["slurm"] and "/usr/bin/" in r["command"] for r in RECORDS.values())


@pytest.mark.slow
@pytest.mark.parametrize("name", list(RECORDS))
def test_case(replayed, name):
    record = RECORDS[name]
    found = differences(comparable(record["observed"]), comparable(replayed[name]))
    if found and name in EXPECTED_FAILURES:
        pytest.xfail(EXPECTED_FAILURES[name])
    assert not found, f"{record['command']}\n" + "\n".join(found)
