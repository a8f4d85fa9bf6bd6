"""The engine of the sbatch golden corpus: run one case against a cluster (real Slurm or ours),
observe everything a user could, and normalize what legitimately differs between two clusters.

A case is a dict: `steps` (commands run in order, each `{"cmd": [...], "stdin": ..., "env": {...}}`;
`{J0}`, `{J1}`... stand for the job ids printed by earlier sbatch steps, `{W}` for the case's
working directory), `files` (written into the working directory first; their text may use `{W}`),
and `until`: "done" (wait for every job to end), "pending" (look after a moment, then cancel).
The observation holds each step's stdout/stderr/exit code and, per job, `scontrol show job` as a
dict, sacct's State/ExitCode, the job environment (scripts dump it to jobenv-<id>.txt) and the
files the job wrote.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import time

# what every case's script runs first: the job's environment, for the comparison
ENV_DUMP = ("env | grep -E '^(SLURM_|CUDA_VISIBLE|GPU_DEVICE|MY|FOO|BAR|ENVFILE)' | sort"
            " > {W}/jobenv-$SLURM_JOB_ID.txt\n")
FINISHED = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "DEADLINE",
            "BOOT_FAIL", "PREEMPTED")
JOB_ID = re.compile(r"^(?:Submitted batch job )?(\d+)(?:;\S+)?$")


def base_env(conf: str, bin_dir: str) -> dict[str, str]:
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"),
            "USER": "root", "LOGNAME": "root", "LANG": "C", "SLURM_CONF": conf}


def _fill(text: str, ids: list[int], workdir: str) -> str:
    text = text.replace("{W}", workdir)
    for index, job_id in enumerate(ids):
        text = text.replace("{J%d}" % index, str(job_id))
    return text


def _run(argv, *, cwd, env, stdin=None, timeout=120):
    # argv[0] is the bare command name, as a user types it (getopt's messages start with it)
    proc = subprocess.run([os.path.basename(argv[0]), *argv[1:]], executable=argv[0], input=stdin,
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)
    return proc.stdout, proc.stderr, proc.returncode


def show_job(bin_dir: str, env: dict, job_id: int) -> dict[str, str]:
    out, _, code = _run([f"{bin_dir}/scontrol", "-o", "show", "job", str(job_id)], cwd="/", env=env)
    if code != 0 or not out.strip():
        return {}
    line = out.strip().splitlines()[0]
    fields: dict[str, str] = {}
    # keys are words followed by '='; a value runs to the next ' Key='
    for match in re.finditer(r"(?:^| )([A-Za-z][\w/:]*)=(.*?)(?= [A-Za-z][\w/:]*=|$)", line):
        fields.setdefault(match.group(1), match.group(2))
    return fields


def _await_state(bin_dir: str, env: dict, job_id: int, state: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and show_job(bin_dir, env, job_id).get("JobState") != state:
        time.sleep(0.2)


def _find_by_name(bin_dir: str, env: dict, name: str) -> list[int]:
    out, _, _ = _run([f"{bin_dir}/squeue", "-h", "-o", "%i", "-n", name], cwd="/", env=env)
    found = [int(w) for w in out.split() if w.isdigit()]
    if not found:
        out, _, _ = _run([f"{bin_dir}/sacct", "-n", "-X", "-P", "-o", "JobID", f"--name={name}"], cwd="/", env=env)
        found = [int(w) for w in out.split() if w.isdigit()][-1:]
    return found


def _sacct(bin_dir: str, env: dict, job_id: int) -> list[str]:
    out, _, _ = _run([f"{bin_dir}/sacct", "-j", str(job_id), "-n", "-P", "-X", "-o", "State,ExitCode"],
                     cwd="/", env=env)
    return [line for line in out.splitlines() if line]


def run_case(case: dict, bin_dir: str, conf: str, root: str) -> dict:
    workdir = os.path.join(root, case["name"])
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    os.chmod(workdir, 0o777)
    for name, text in case.get("files", {}).items():
        path = os.path.join(workdir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(_fill(text, [], workdir))
        if name.endswith(".sh"):
            os.chmod(path, 0o755)
    given = set(_listing(workdir))
    ids: list[int] = []
    steps = []
    for step in case["steps"]:
        env = base_env(conf, bin_dir)
        env.update({k: _fill(v, ids, workdir) for k, v in step.get("env", {}).items()})
        argv = [_fill(a, ids, workdir) for a in step["cmd"]]
        stdin = step.get("stdin")
        if step.get("after_state") and ids:
            _await_state(bin_dir, env, ids[0], step["after_state"])
        if step.get("delay"):
            time.sleep(step["delay"])   # e.g. for the script to set its traps once running
        out, err, code = _run([f"{bin_dir}/{argv[0]}", *argv[1:]], cwd=workdir, env=env,
                              stdin=None if stdin is None else _fill(stdin, ids, workdir))
        steps.append({"stdout": out, "stderr": err, "exit_code": code})
        if argv[0] == "sbatch" and "--test-only" not in argv:
            lines = out.strip().splitlines()
            match = JOB_ID.match(lines[0]) if lines else None
            if match:
                ids.append(int(match.group(1)))
            elif code == 0 and step.get("find_name"):   # sbatch -Q prints nothing: look it up
                ids += _find_by_name(bin_dir, env, step["find_name"])
    env = base_env(conf, bin_dir)
    jobs = []
    if case.get("await_first") and ids:
        _await_state(bin_dir, env, ids[0], case["await_first"])
    if case.get("until", "done") == "done":
        deadline = time.monotonic() + case.get("timeout", 90)
        while time.monotonic() < deadline:
            states = [show_job(bin_dir, env, j).get("JobState", "") for j in ids]
            if all(s in FINISHED or s == "" for s in states):
                break
            time.sleep(0.3)
    else:
        time.sleep(case.get("settle", 2.0))
    for job_id in ids:
        shown = show_job(bin_dir, env, job_id)
        jobs.append({"id": job_id, "show": shown})
    for job_id in ids:   # pending by design, or still waiting at the timeout: leave nothing behind
        _run([f"{bin_dir}/scancel", str(job_id)], cwd="/", env=env)
    for job in jobs:
        state = job["show"].get("JobState", "")
        acct: list[str] = []
        if state in FINISHED:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                acct = _sacct(bin_dir, env, job["id"])
                if acct and not acct[0].startswith(("PENDING", "RUNNING")):
                    break
                time.sleep(0.3)
        job["sacct"] = acct
        job["env"] = _read_env(os.path.join(workdir, f"jobenv-{job['id']}.txt"))
    files = {}
    for name in sorted(set(_listing(workdir)) - given):
        if name.startswith("jobenv-"):
            continue
        try:
            with open(os.path.join(workdir, name), errors="replace") as handle:
                files[name] = handle.read()
        except OSError:
            files[name] = None
    return {"workdir": workdir, "ids": ids, "steps": steps, "jobs": jobs, "files": files}


def _listing(workdir: str) -> list[str]:
    found = []
    for base, _, names in os.walk(workdir):
        for name in names:
            found.append(os.path.relpath(os.path.join(base, name), workdir))
    return found


def _read_env(path: str) -> dict[str, str]:
    try:
        with open(path, errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return {}
    return dict(line.split("=", 1) for line in lines if "=" in line)


# ---------------------------------------------------------------------------------- normalizing
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
_NODES = re.compile(r"\bn\[[\d,\-]+\]|\bn\d+\b")
_TEST_ONLY = re.compile(r"Job \d+ to start at")


def normalize_file_name(name: str, ids: list[int], workdir: str) -> str:
    """A written file's name, normalized; the machine's host name counts as a node name there:
    real Slurm's emulated nodes all run on this host, so %N expands to it (observed)."""
    short = socket.gethostname().split(".")[0]
    return normalize(re.sub(rf"(?<![\w]){re.escape(short)}(?![\w])", "n1", name), ids, workdir)


def normalize(text, ids: list[int], workdir: str, *, hostname: str = ""):
    """The text with what differs between two clusters replaced: job ids by {J0}..., the case's
    directory by {W}, times by {TIME}, node names by {NODE}."""
    if text is None:
        return None
    if isinstance(text, dict):
        return {normalize(k, ids, workdir): normalize(v, ids, workdir) for k, v in text.items()}
    if isinstance(text, list):
        return [normalize(v, ids, workdir) for v in text]
    if not isinstance(text, str):
        return text
    text = text.replace(workdir, "{W}")
    for index, job_id in sorted(enumerate(ids), key=lambda pair: -len(str(pair[1]))):
        text = re.sub(rf"(?<![\d.])0*{job_id}(?!\d)", "{J%d}" % index, text)   # also zero-padded (%8j)
    text = _TEST_ONLY.sub("Job {ID} to start at", text)
    text = _TIME.sub("{TIME}", text)
    return _NODES.sub("{NODE}", text)


def command_line(case: dict) -> str:
    """The shell form of a case's steps, as recorded with its capture."""
    lines = []
    for step in case["steps"]:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in step.get("env", {}).items())
        cmd = " ".join(shlex.quote(a) for a in step["cmd"])
        stdin = " <<< " + shlex.quote(step["stdin"]) if step.get("stdin") is not None else ""
        lines.append(f"{env + ' ' if env else ''}/usr/bin/{cmd}{stdin}")
    return " ; ".join(lines)
