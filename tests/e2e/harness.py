"""Real local clusters for end-to-end tests: a controller and node agents as processes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from commands import local

BIN = os.path.dirname(sys.executable)


@dataclass
class Cluster:
    layout: local.ClusterLayout
    workdir: str

    @property
    def conf(self) -> str:
        return self.layout.conf

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env["SLURM_CONF"] = self.conf
        env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
        env.update(extra)
        return env

    def cmd(self, *argv: str, input: str | None = None, check: bool = False, user: str | None = None,
            **env: str) -> subprocess.CompletedProcess:
        args = [os.path.join(BIN, argv[0]), *argv[1:]]
        if user is not None:
            args = ["runuser", "-u", user, "--", *args]
        proc = subprocess.run(args, input=input, capture_output=True, text=True, cwd=self.workdir,
                              env=self.env(**env), timeout=60)
        if check and proc.returncode != 0:
            raise AssertionError(f"{argv} failed ({proc.returncode}): {proc.stderr}")
        return proc

    def sbatch(self, *argv: str, **kw) -> int:
        out = self.cmd("sbatch", "--parsable", *argv, check=True, **kw).stdout.strip()
        return int(out.split(";")[0])

    def client(self):
        from sdk.client import Client
        return Client(self.conf)

    def state(self, job_id: int) -> str:
        return self.client().job(job_id).state

    def wait_state(self, job_id: int, states: tuple[str, ...], timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            state = self.state(job_id)
            if state in states:
                return state
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} is {state}, not {states} after {timeout} s")

    def wait_all_done(self, job_ids, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        c = self.client()
        while time.monotonic() < deadline:
            live = {j.job_id for j in c.jobs()}
            if not live & set(job_ids):
                return
            time.sleep(0.1)
        raise AssertionError(f"jobs still active after {timeout} s: {sorted(live & set(job_ids))}")

    def pid(self, daemon: str) -> int:
        return int(open(self.layout.pidfile(daemon)).read())

    def kill_controller(self) -> None:
        pid = self.pid("slurmctld")
        os.kill(pid, signal.SIGKILL)
        while local.pid_alive(pid):
            time.sleep(0.02)

    def stop_controller(self, timeout: float = 30.0) -> None:
        """SIGTERM: the controller's clean shutdown (it commits what it holds, then exits)."""
        pid = self.pid("slurmctld")
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while local.pid_alive(pid):
            if time.monotonic() > deadline:
                raise AssertionError("controller did not stop on SIGTERM")
            time.sleep(0.02)

    def restart_controller(self, timeout: float = 30.0) -> None:
        local.start_controller(self.layout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.client().ping()
                return
            except Exception:
                time.sleep(0.05)
        raise AssertionError("controller did not come back")

    def log(self, daemon: str = "slurmctld") -> str:
        try:
            return open(self.layout.logfile(daemon)).read()
        except OSError:
            return ""


def start(tmp_path, *, nodes: int = 2, cpus: int = 4, mem: int = 4000, gpus: int = 0, db: str | None = None,
          conf: str | None = None) -> Cluster:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    os.chmod(work, 0o777)
    # other users (the access tests run as `nobody`) must reach the controller's socket
    path = str(tmp_path)
    while path not in ("/", "/tmp"):
        os.chmod(path, os.stat(path).st_mode | 0o711)
        path = os.path.dirname(path)
    layout = local.up(str(tmp_path / "cluster"), nodes=nodes, cpus=cpus, mem=mem, gpus=gpus, db=db,
                      conf=conf, timeout=60)
    return Cluster(layout, str(work))


def stop(cluster: Cluster) -> None:
    local.down(cluster.layout.root)
