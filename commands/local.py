"""slurm-local: run a whole cluster (controller + one node agent per node) on this machine.

    slurm-local up --nodes 4 --cpus 8 --mem 16000 --gpus-per-node 4 --dir /tmp/c1
    slurm-local up --conf my-slurm.conf --dir /tmp/c2 --db postgresql+psycopg://postgres@127.0.0.1/x
    slurm-local status --dir /tmp/c1
    slurm-local down --dir /tmp/c1
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import click

from sdk.discovery import last_cluster_pointer

DEFAULT_DIR = "/tmp/slurm-local"


@dataclass(frozen=True)
class ClusterLayout:
    """Where one local cluster keeps its files."""

    root: str

    @property
    def conf(self) -> str:
        return os.path.join(self.root, "slurm.conf")

    @property
    def state(self) -> str:
        return os.path.join(self.root, "state")

    @property
    def logs(self) -> str:
        return os.path.join(self.root, "log")

    @property
    def run(self) -> str:
        return os.path.join(self.root, "run")

    def pidfile(self, daemon: str) -> str:
        return os.path.join(self.run, daemon + ".pid")

    def logfile(self, daemon: str) -> str:
        return os.path.join(self.logs, daemon + ".log")


def free_port() -> int:
    """A free port whose successor is free too: the controller takes both (agents and remote
    clients)."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket() as s2:
                s2.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise click.ClickException("no two adjacent free TCP ports on 127.0.0.1")


def generated_conf(layout: ClusterLayout, *, nodes: int, cpus: int, mem: int, gpus: int, port: int,
                   db: str | None, kill_wait: int = 5, slurmd_timeout: int = 10) -> str:
    names = f"n[1-{nodes}]" if nodes > 1 else "n1"
    lines = [
        "# written by slurm-local up",
        "ClusterName=local",
        "SlurmctldHost=localhost",
        f"SlurmctldPort={port}",
        f"StateSaveLocation={layout.state}",
        f"SlurmdSpoolDir={layout.root}/spool/%n",
        f"SlurmctldSocket={layout.state}/slurmctld.sock",
        f"AgentKeysDir={layout.root}/keys",
        f"KillWait={kill_wait}",
        f"SlurmdTimeout={slurmd_timeout}",
        "MinJobAge=300",
        "SchedulerType=sched/backfill",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core_Memory",
    ]
    if gpus:
        lines.append("GresTypes=gpu")
    gres = f" Gres=gpu:{gpus}" if gpus else ""
    lines.append(f"NodeName={names} CPUs={cpus} RealMemory={mem}{gres} State=UNKNOWN")
    lines.append("PartitionName=cpu Nodes=ALL Default=YES MaxTime=INFINITE State=UP")
    if gpus:
        lines.append(f"PartitionName=gpu Nodes={names} MaxTime=INFINITE State=UP")
    if db:
        lines.append(f"DatabaseURL={db}")
    return "\n".join(lines) + "\n"


def wrapped_conf(layout: ClusterLayout, user_conf: str, *, port: int, db: str | None) -> str:
    """Include the user's slurm.conf and fill in what it leaves out (hosts, ports, paths)."""
    from conf.slurmconf import load_config
    config = load_config(user_conf)      # raises ConfigError listing every problem
    given = {k.lower() for k in config.raw}
    lines = ["# written by slurm-local up --conf", f"Include {os.path.abspath(user_conf)}"]
    fill = {
        "SlurmctldHost": "localhost", "SlurmctldPort": str(port), "StateSaveLocation": layout.state,
        "SlurmdSpoolDir": f"{layout.root}/spool/%n", "SlurmctldSocket": f"{layout.state}/slurmctld.sock",
        "AgentKeysDir": f"{layout.root}/keys",
    }
    for key, value in fill.items():
        if key.lower() not in given:
            lines.append(f"{key}={value}")
    if db:
        lines.append(f"DatabaseURL={db}")
    return "\n".join(lines) + "\n"


def _spawn(layout: ClusterLayout, name: str, argv: list[str]) -> int:
    log = open(layout.logfile(name), "ab")
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, close_fds=True)
    log.close()
    with open(layout.pidfile(name), "w") as f:
        f.write(str(proc.pid))
    return proc.pid


def start_controller(layout: ClusterLayout) -> int:
    return _spawn(layout, "slurmctld", [sys.executable, "-m", "slurmctld_py.daemon", "--conf", layout.conf])


def start_agent(layout: ClusterLayout, node: str) -> int:
    return _spawn(layout, f"nodeagent-{node}", [sys.executable, "-m", "nodeagent.agent", "--conf", layout.conf,
                                                "--node", node])


def wait_ready(layout: ClusterLayout, node_names: list[str], timeout: float) -> list[str]:
    """Wait until the controller answers and every node has registered; returns the missing nodes."""
    from sdk.client import Client
    from sdk.errors import SlurmError
    deadline = time.monotonic() + timeout
    missing = list(node_names)
    while time.monotonic() < deadline:
        try:
            nodes = Client(layout.conf).nodes()
            missing = [n.name for n in nodes if n.name in node_names and (n.state.startswith(("DOWN", "UNKNOWN")) or not n.responding)]
            if not missing:
                return []
        except SlurmError:
            pass
        time.sleep(0.1)
    return missing


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:   # a zombie child of ours is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def stop_daemon(pidfile: str, timeout: float = 10.0) -> None:
    try:
        pid = int(open(pidfile).read().strip())
    except (OSError, ValueError):
        return
    if pid_alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    os.unlink(pidfile)


def node_names_of(conf_path: str) -> list[str]:
    from conf.slurmconf import load_config
    return [n.name for n in load_config(conf_path).nodes]


def up(root: str, *, nodes: int = 4, cpus: int = 8, mem: int = 16000, gpus: int = 0, conf: str | None = None,
       db: str | None = None, timeout: float = 60.0) -> ClusterLayout:
    layout = ClusterLayout(os.path.abspath(root))
    for d in (layout.root, layout.state, layout.logs, layout.run):
        os.makedirs(d, exist_ok=True)
    if os.path.exists(layout.pidfile("slurmctld")) and pid_alive(int(open(layout.pidfile("slurmctld")).read())):
        raise click.ClickException(f"a cluster is already running in {layout.root} (slurm-local down --dir {root})")
    port = free_port()
    text = (wrapped_conf(layout, conf, port=port, db=db) if conf
            else generated_conf(layout, nodes=nodes, cpus=cpus, mem=mem, gpus=gpus, port=port, db=db))
    with open(layout.conf, "w") as f:
        f.write(text)
    names = node_names_of(layout.conf)
    from conf.slurmconf import load_config
    keys_dir = load_config(layout.conf).raw.get("AgentKeysDir")
    if keys_dir:   # the controller's module makes them (commands never import the daemon's code)
        subprocess.run([sys.executable, "-m", "slurmctld_py.agentkeys", keys_dir, *names], check=True)
    start_controller(layout)
    for name in names:
        start_agent(layout, name)
    missing = wait_ready(layout, names, timeout)
    if missing:
        raise click.ClickException(f"nodes did not register within {timeout:.0f} s: {', '.join(missing)}; "
                                   f"see {layout.logs}")
    pointer = last_cluster_pointer()
    os.makedirs(os.path.dirname(pointer), exist_ok=True)
    with open(pointer, "w") as f:
        f.write(layout.conf + "\n")
    return layout


def down(root: str, *, cancel_jobs: bool = True) -> None:
    layout = ClusterLayout(os.path.abspath(root))
    if cancel_jobs and os.path.exists(layout.conf):
        try:
            from sdk.client import Client
            client = Client(layout.conf, timeout=10)
            client.cancel(user=None, states=["PENDING", "RUNNING"]) if client.jobs() else None
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and client.jobs():
                time.sleep(0.1)
        except Exception:
            pass   # the controller may already be gone
    if os.path.isdir(layout.run):
        for name in sorted(os.listdir(layout.run)):
            if name.startswith("nodeagent-"):
                stop_daemon(os.path.join(layout.run, name))
    stop_daemon(layout.pidfile("slurmctld"))


@click.group()
def cli() -> None:
    """Run a Slurm-compatible cluster on this machine."""


@cli.command("up")
@click.option("--nodes", default=4, show_default=True, help="number of nodes n1..nN")
@click.option("--cpus", default=8, show_default=True, help="CPUs per node")
@click.option("--mem", default=16000, show_default=True, help="RealMemory per node (MiB)")
@click.option("--gpus-per-node", "gpus", default=0, show_default=True, help="GPUs per node (declared)")
@click.option("--dir", "root", default=DEFAULT_DIR, show_default=True, help="cluster directory")
@click.option("--conf", type=click.Path(exists=True, dir_okay=False), help="start what this slurm.conf declares")
@click.option("--db", help="database URL (default: SQLite in the cluster directory)")
@click.option("--timeout", default=60.0, show_default=True, help="seconds to wait for the nodes")
def up_cmd(nodes, cpus, mem, gpus, root, conf, db, timeout) -> None:
    """Start a controller and one node agent per node; return when all are ready."""
    from conf.errors import ConfigError
    try:
        layout = up(root, nodes=nodes, cpus=cpus, mem=mem, gpus=gpus, conf=conf, db=db, timeout=timeout)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"cluster ready in {layout.root}")
    click.echo(f"export SLURM_CONF={layout.conf}")


@cli.command("down")
@click.option("--dir", "root", default=DEFAULT_DIR, show_default=True)
def down_cmd(root) -> None:
    """Cancel every job and stop the cluster's daemons."""
    down(root)
    click.echo(f"cluster in {os.path.abspath(root)} stopped")


@cli.command("status")
@click.option("--dir", "root", default=DEFAULT_DIR, show_default=True)
def status_cmd(root) -> None:
    """Show which daemons of the cluster are running."""
    layout = ClusterLayout(os.path.abspath(root))
    if not os.path.isdir(layout.run):
        raise click.ClickException(f"no cluster in {layout.root}")
    for name in sorted(os.listdir(layout.run)):
        pid = int(open(os.path.join(layout.run, name)).read())
        click.echo(f"{'up  ' if pid_alive(pid) else 'DOWN'} {name[:-4]} {pid}")


def main() -> None:
    cli(prog_name="slurm-local")


if __name__ == "__main__":
    main()
