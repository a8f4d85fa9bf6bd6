"""The view corpus: our squeue/sinfo/sacct/scontrol against real Slurm 22.05, case by case.

tests/golden/views/*.json were captured from the real Slurm on this machine by
tests/golden/capture_views.py (each case records the real command that produced it). This test
builds the same state on a local cluster of ours: the same slurm.conf (setup.json, with
FirstJobId set to the first job id the capture used, so job ids and their column widths match),
the same jobs submitted by the same user (`nobody`) from the same directory in the same order,
then runs each case with our command and compares stdout, stderr and the exit status after the
capture's `normalize()` (times, durations, priorities, load; every replacement keeps widths).

`scontrol show config` is compared by layout: the header, then every key we print must be one
Slurm prints, in Slurm's order, with Slurm's padding, and the value Slurm printed for the keys
the shared slurm.conf sets.
"""
from __future__ import annotations

import difflib
import json
import os
import pathlib
import re
import shutil
import tempfile
import subprocess
import sys
import time

import pytest

from tests.e2e import harness
from tests.golden import capture_views as golden

pytestmark = pytest.mark.slow

VIEWS = os.path.join(os.path.dirname(golden.__file__), "views")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# our commands as another user: the venv's interpreter lives under /root, which `nobody` cannot
# reach, and the Slurm-named commands need only the standard library and our own code
SYSTEM_PYTHON = "/usr/bin/python3"
SETUP = json.load(open(os.path.join(VIEWS, "setup.json")))


def _cases():
    out = []
    for family in ("squeue", "sinfo", "sacct", "scontrol"):
        for case in json.load(open(os.path.join(VIEWS, f"{family}.json"))):
            out.append(pytest.param(case, id=f"{family}-{case['name']}"))
    return out


# Differences whose cause lies outside the views, each with where it comes from; strict, so a
# case fails again (and must leave this list) once fixed.
# case id -> why we still differ (xfail, strict): none left
KNOWN_GAPS: dict[str, str] = {}


def _with_gaps(params):
    out = []
    for param in params:
        reason = KNOWN_GAPS.get(param.id)
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        out.append(pytest.param(*param.values, id=param.id, marks=marks))
    return out


CASES = _with_gaps(_cases())


class GoldenCluster:
    def __init__(self, cluster: harness.Cluster, ids: dict) -> None:
        self.cluster = cluster
        self.ids = ids

    def run(self, argv: list[str], *, user: str | None, env: dict) -> subprocess.CompletedProcess:
        full = self.cluster.env(**env)
        for key in ("SQUEUE_FORMAT", "SQUEUE_SORT", "SACCT_FORMAT", "SINFO_FORMAT", "SQUEUE_FORMAT2"):
            if key not in env:
                full.pop(key, None)
        if user is None:
            command = [os.path.join(harness.BIN, argv[0]), *argv[1:]]
        else:
            full["PYTHONPATH"] = REPO
            launcher = f"import sys; sys.argv[0] = {argv[0]!r}; from commands.{argv[0]} import main; sys.exit(main())"
            command = ["runuser", "-u", user, "--", SYSTEM_PYTHON, "-S", "-c", launcher, *argv[1:]]
        return subprocess.run(command, capture_output=True, text=True, env=full, cwd=SETUP["workdir"], timeout=60)


def _golden_conf(tmp_path) -> str:
    first = min(job["job_id"] for job in SETUP["jobs"])
    path = tmp_path / "golden-slurm.conf"
    path.write_text(SETUP["slurm_conf"] + f"FirstJobId={first}\n")
    return str(path)


@pytest.fixture(scope="module")
def golden_cluster():
    # not under pytest's base temp: every pytest session resets that to mode 700, and `nobody`
    # must reach our slurm.conf and socket
    tmp_path = pathlib.Path(tempfile.mkdtemp(prefix="slurm-views-", dir="/tmp"))
    os.chmod(tmp_path, 0o711)
    saved = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp_path / "xdg")   # keep slurm-local's pointer out of ~
    os.makedirs(SETUP["workdir"], exist_ok=True)
    os.chmod(SETUP["workdir"], 0o1777)
    cluster = harness.start(tmp_path, conf=_golden_conf(tmp_path))
    try:
        gc = GoldenCluster(cluster, {})
        ids: dict = {"t0": time.strftime("%Y-%m-%dT%H:%M:%S")}
        time.sleep(1.0)
        for job in SETUP["jobs"]:
            expected = job["job_id"]
            # ids others took on the real cluster meanwhile: take them too (held, as root)
            next_id = _next_id(cluster)
            while next_id < expected:
                cluster.sbatch("--hold", "-J", "filler", "--wrap", "true")
                next_id += 1
            proc = gc.run(["sbatch", "--parsable", *[a.format(**ids) for a in job["argv"]]],
                          user=SETUP["user"], env={})
            assert proc.returncode == 0, proc.stderr
            ids[job["role"]] = int(proc.stdout.strip().split(";")[0])
            assert ids[job["role"]] == expected
            if job["role"] in SETUP["cancel"]:
                assert gc.run(["scancel", str(ids[job["role"]])], user=SETUP["user"], env={}).returncode == 0
        _wait_state(cluster, ids)
        gc.ids = ids
        yield gc
    finally:
        harness.stop(cluster)
        shutil.rmtree(tmp_path, ignore_errors=True)
        if saved is None:
            os.environ.pop("XDG_STATE_HOME", None)
        else:
            os.environ["XDG_STATE_HOME"] = saved


def _next_id(cluster: harness.Cluster) -> int:
    jobs = cluster.client().jobs(include_finished=True)
    return max((j.job_id for j in jobs), default=min(job["job_id"] for job in SETUP["jobs"]) - 1) + 1


def _wait_state(cluster: harness.Cluster, ids: dict, timeout: float = 60.0) -> None:
    client = cluster.client()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = {j.job_id: j.state for j in client.jobs(include_finished=True)}
        ended = all(states.get(ids[r]) not in ("PENDING", "RUNNING", "COMPLETING", "CONFIGURING") for r in SETUP["ended"])
        running = all(states.get(ids[r]) == "RUNNING" for r in SETUP["running"])
        if ended and running:
            return
        time.sleep(0.1)
    raise AssertionError(f"our cluster did not reach the captured state: {states}")


def _normalize(text: str, bin_dir: str) -> str:
    return golden.normalize(text.replace(bin_dir + "/", ""))


_CONFIG_LINE = re.compile(r"^(\S+)(\s*)= (.*)$")


def _compare_config(ours: str, real: str) -> list[str]:
    problems = []
    ours_lines, real_lines = ours.splitlines(), real.splitlines()
    if _normalize(ours_lines[0], "") != _normalize(real_lines[0], ""):
        problems.append(f"header {ours_lines[0]!r} != {real_lines[0]!r}")
    real_order = {}
    real_values = {}
    for i, line in enumerate(real_lines[1:]):
        m = _CONFIG_LINE.match(line)
        if m:
            real_order[m.group(1)] = i
            real_values[m.group(1)] = line
    set_keys = {line.split("=", 1)[0].lower() for line in SETUP["slurm_conf"].splitlines() if "=" in line}
    last = -1
    printed = 0
    for line in ours_lines[1:]:
        m = _CONFIG_LINE.match(line)
        if not m:
            continue
        key = m.group(1)
        printed += 1
        if key not in real_order:
            problems.append(f"{key}: Slurm prints no such key")
            continue
        if real_order[key] < last:
            problems.append(f"{key}: out of Slurm's order")
        last = real_order[key]
        real_line = real_values[key]
        if len(m.group(1) + m.group(2)) != real_line.index("="):
            problems.append(f"{key}: padding {line!r} vs {real_line!r}")
        if key.lower() in set_keys and key not in ("SlurmctldHost[0]",) and line != real_line:
            problems.append(f"{key}: {line!r} != {real_line!r}")
    if printed < 20:
        problems.append(f"only {printed} keys printed")
    if _normalize(ours_lines[-1], "") != _normalize(real_lines[-1], ""):
        problems.append(f"last line {ours_lines[-1]!r} != {real_lines[-1]!r}")
    return problems


@pytest.mark.parametrize("case", CASES)
def test_view_matches_real_slurm(golden_cluster, case):
    argv = [case["argv"][0], *[a.format(**golden_cluster.ids) if "{" in a else a for a in case["argv"][1:]]]
    proc = golden_cluster.run(argv, user=case["user"], env=case["env"])
    context = f"real: {case['real_command']}\nours: {' '.join(argv)}"
    if case["argv"][:3] == ["scontrol", "show", "config"]:
        problems = _compare_config(proc.stdout, case["stdout"])
        assert not problems, context + "\n" + "\n".join(problems)
        return
    for stream, ours, real in (("stdout", proc.stdout, case["stdout"]), ("stderr", proc.stderr, case["stderr"])):
        ours, real = _normalize(ours, harness.BIN), _normalize(real, golden.REAL_BIN)
        diff = "\n".join(difflib.unified_diff(real.splitlines(), ours.splitlines(), "real", "ours", lineterm=""))
        if ours != real:
            pytest.fail(f"{context}\n{stream} differs:\n{diff}", pytrace=False)
    assert proc.returncode == case["rc"], context
