"""Starting a batch script the way slurmstepd does: its own session, its files, its directory,
its user.

Failures that Slurm reports as a launch failure (an output file that cannot be opened, a script
that cannot be executed) come back as LaunchFailure values; a missing working directory is not
one: like slurmstepd, the script then runs in /tmp with a note on its stderr.
"""
from __future__ import annotations

import errno
import os
import pwd
import stat
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path

from nodeagent.procs import proc_start_ticks
from nodeagent.wire import Launch

FALLBACK_WORK_DIR = "/tmp"


@dataclass(frozen=True, slots=True)
class Started:
    process: subprocess.Popen
    start_time: float
    start_ticks: int
    # The agent's own peak RSS when it spawned the job. Linux hands a child the peak RSS of the
    # memory it had before exec (the agent's, for vfork and fork alike), so a wait4 max RSS up to
    # this value says nothing about the job.
    spawner_peak_rss_kb: int = 0


def own_peak_rss_kb() -> int:
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


@dataclass(frozen=True, slots=True)
class LaunchFailure:
    message: str


def _output_flags(open_mode: str) -> int:
    # always O_APPEND: the agent's kill notices (runs._kill_notice) go to the same file, and the
    # job's own writes must land after them, not over them
    tail = os.O_APPEND if open_mode == "append" else os.O_TRUNC | os.O_APPEND
    return os.O_WRONLY | os.O_CREAT | tail | os.O_CLOEXEC


def _chdir_note(node: str, work_dir: str, error: OSError) -> bytes:
    # slurmstepd writes this line twice (observed: `sbatch -D /nonexistent` on Slurm 22.05).
    line = (f"slurmstepd-{node}: error: couldn't chdir to `{work_dir}': "
            f"{error.strerror}: going to {FALLBACK_WORK_DIR} instead\n").encode()
    return line * 2


def _check_work_dir(work_dir: str) -> OSError | None:
    try:
        mode = os.stat(work_dir).st_mode
    except OSError as exc:
        return exc
    if not stat.S_ISDIR(mode):
        return OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
    if not os.access(work_dir, os.X_OK):
        return OSError(errno.EACCES, os.strerror(errno.EACCES))
    return None


def seal_inherited_descriptors() -> None:
    """Mark every descriptor above stderr close-on-exec, so jobs never inherit what whoever
    started the agent left open (call once at start-up)."""
    try:
        descriptors = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return
    for fd in descriptors:
        if fd > 2:
            try:
                os.set_inheritable(fd, False)
            except OSError:
                pass        # the listing's own descriptor, already closed


def job_environment(launch: Launch, node: str) -> dict[str, str]:
    """The controller sends the complete environment; what only the node knows is added when the
    controller left it out: the node name and, without device cgroups, the allocated GPUs by
    their real indices (as slurmd sets them)."""
    env = dict(launch.environment)
    env.setdefault("SLURMD_NODENAME", node)
    if launch.gpus:
        indices = ",".join(str(index) for index in launch.gpus)
        for name in ("CUDA_VISIBLE_DEVICES", "GPU_DEVICE_ORDINAL", "SLURM_JOB_GPUS"):
            env.setdefault(name, indices)
    return env


def start_run(launch: Launch, script: Path, node: str) -> Started | LaunchFailure:
    argv = [str(script), *launch.argv]
    launch = replace(launch, environment=job_environment(launch, node))
    switch_user = os.geteuid() == 0 and launch.uid != 0
    try:
        if switch_user:
            process = _spawn_as_user(launch, argv, node)
        else:
            process = _spawn_as_self(launch, argv, node)
    except _OpenFailed as failed:
        return LaunchFailure(failed.message)
    except subprocess.SubprocessError as exc:
        return LaunchFailure(f"could not set up the job as uid {launch.uid}: {exc}")
    except OSError as exc:
        return LaunchFailure(f"execve(): {script}: {exc.strerror or exc}")
    start_time = time.time()
    return Started(process, start_time, proc_start_ticks(process.pid) or 0, own_peak_rss_kb())


class _OpenFailed(Exception):
    def __init__(self, message: str) -> None:
        self.message = message


def _open(role: str, path: str, flags: int) -> int:
    try:
        return os.open(path, flags, 0o666)
    except OSError as exc:
        # The text slurmstepd logs for the same failure.
        raise _OpenFailed(f"Could not open {role} file {path}: {exc.strerror}") from None


def _spawn_as_self(launch: Launch, argv: list[str], node: str) -> subprocess.Popen:
    opened: list[int] = []
    try:
        stdin = _open("stdin", launch.stdin or "/dev/null", os.O_RDONLY | os.O_CLOEXEC)
        opened.append(stdin)
        flags = _output_flags(launch.open_mode)
        stdout = _open("stdout", launch.stdout or "/dev/null", flags)
        opened.append(stdout)
        if launch.stderr in ("", launch.stdout):
            stderr = stdout
        else:
            stderr = _open("stderr", launch.stderr, flags)
            opened.append(stderr)
        work_dir = launch.work_dir
        problem = _check_work_dir(work_dir)
        if problem is not None:
            os.write(stderr, _chdir_note(node, work_dir, problem))
            work_dir = FALLBACK_WORK_DIR
        # close_fds=False saves ~1 ms a job: every descriptor of the agent is close-on-exec
        # (Python's and libzmq's own, and inherited ones by seal_inherited_descriptors()).
        return subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=stderr, cwd=work_dir,
                                env=launch.environment, start_new_session=True, close_fds=False)
    finally:
        for fd in opened:
            os.close(fd)


def _spawn_as_user(launch: Launch, argv: list[str], node: str) -> subprocess.Popen:
    """Root agent, job of another user: files are opened and the directory entered after the
    child has become the user, so the user's own permissions apply (and files are theirs)."""
    # Checked here too only to give the precise message; the child re-opens as the user.
    for role, path in (("stdout", launch.stdout), ("stderr", launch.stderr)):
        if path and not os.path.isdir(os.path.dirname(path) or "/"):
            raise _OpenFailed(f"Could not open {role} file {path}: "
                              f"{os.strerror(errno.ENOENT)}")
    try:
        name = pwd.getpwuid(launch.uid).pw_name
        groups = os.getgrouplist(name, launch.gid)
    except KeyError:
        groups = [launch.gid]
    flags = _output_flags(launch.open_mode)
    stdin_path = launch.stdin or "/dev/null"
    stdout_path = launch.stdout or "/dev/null"
    stderr_path = launch.stderr or stdout_path

    def become_user() -> None:   # runs in the child between fork and exec
        os.setgroups(groups)
        os.setgid(launch.gid)
        os.setuid(launch.uid)
        stdin = os.open(stdin_path, os.O_RDONLY)
        stdout = os.open(stdout_path, flags, 0o666)
        stderr = stdout if stderr_path == stdout_path else os.open(stderr_path, flags, 0o666)
        for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
            os.dup2(fd, target)
        try:
            os.chdir(launch.work_dir)
        except OSError as exc:
            os.write(2, _chdir_note(node, launch.work_dir, exc))
            os.chdir(FALLBACK_WORK_DIR)

    return subprocess.Popen(argv, env=launch.environment, start_new_session=True,
                            close_fds=True, preexec_fn=become_user)
