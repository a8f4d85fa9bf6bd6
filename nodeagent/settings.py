"""The agent's settings: command-line flags, optionally on top of the node's slurm.conf entry."""
from __future__ import annotations

import argparse
import logging
import os
import re
from dataclasses import dataclass, replace

from nodeagent.errors import AgentError

DEFAULT_HEARTBEAT = 1.0
DEFAULT_KILL_WAIT = 30.0       # slurm.conf KillWait default
DEFAULT_RESEND = 3.0


@dataclass(frozen=True, slots=True)
class AgentSettings:
    node: str
    controller: str                  # zmq endpoint, tcp://host:port
    spool: str
    cpus: int
    memory_mb: int
    gpus: list[str] | None           # declared GPUs, one type per index ('' untyped); None = detect
    heartbeat: float = DEFAULT_HEARTBEAT
    kill_wait: float = DEFAULT_KILL_WAIT
    resend_interval: float = DEFAULT_RESEND     # RunEnded is re-sent this often until EndAck
    log_file: str | None = None
    log_level: str = "INFO"
    keys_dir: str | None = None      # CURVE certificates (controller.key, <node>.key_secret)


def parse_gres(text: str) -> list[str]:
    """GPU types per index from a Gres string: 'gpu:a100:4' -> ['a100']*4, 'gpu:2' -> ['', ''],
    'gpu:a100:2,gpu:v100:1' -> ['a100', 'a100', 'v100']; other gres names are ignored."""
    types: list[str] = []
    text = re.sub(r"\([^)]*\)", "", text)     # socket bindings such as "(S:0-1)" do not matter here
    for item in filter(None, (part.strip() for part in text.split(","))):
        parts = item.split(":")
        if parts[0] != "gpu":
            continue
        if len(parts) == 2 and parts[1].isdigit():
            types += [""] * int(parts[1])
        elif len(parts) == 3 and parts[2].isdigit():
            types += [parts[1]] * int(parts[2])
        elif len(parts) == 2:
            types.append(parts[1])                   # 'gpu:a100' means one
        elif len(parts) == 1:
            types.append("")
        else:
            raise AgentError(f"nodeagent: bad gres specification '{item}'")
    return types


def _machine_memory_mb() -> int:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 1


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nodeagent", description="slurm-py node agent")
    parser.add_argument("--node", required=True, help="this node's name (NodeName)")
    parser.add_argument("--controller", help="controller endpoint, tcp://HOST:PORT")
    parser.add_argument("--spool", help="spool directory for scripts and run records")
    parser.add_argument("--conf", help="slurm.conf to take the node's resources from")
    parser.add_argument("--cpus", type=int)
    parser.add_argument("--memory", type=int, help="RealMemory in MB")
    gpus = parser.add_mutually_exclusive_group()
    gpus.add_argument("--gpus", type=int, help="number of (untyped) GPUs")
    gpus.add_argument("--gres", help="e.g. gpu:a100:4")
    parser.add_argument("--heartbeat", type=float, help="seconds between heartbeats")
    parser.add_argument("--kill-wait", type=float, help="seconds between SIGTERM and SIGKILL")
    parser.add_argument("--resend", type=float, help="seconds between RunEnded re-sends")
    parser.add_argument("--keys-dir", help="CURVE certificates: controller.key and <node>.key_secret")
    parser.add_argument("--log-file")
    parser.add_argument("--log-level", default="INFO")
    return parser


def _from_conf(path: str, node: str) -> dict:
    """What the node's slurm.conf says; only the fields the agent uses."""
    from conf.slurmconf import load_config    # imported here: only --conf needs it
    try:
        config = load_config(path)
    except Exception as exc:   # conf reports every problem at once, with file:line
        raise AgentError(f"nodeagent: {exc}") from None
    try:
        node_conf = config.node(node)
    except KeyError:
        raise AgentError(f"nodeagent: node {node} is not declared in {path}") from None
    gpus: list[str] = []
    for gres in node_conf.gres:
        if gres.name == "gpu":
            gpus += [gres.type or ""] * gres.count
    # ControlAddr (or SlurmctldHost=name(addr)) is the address; else the first host's name.
    host = config.control_addr or (config.control_hosts[0] if config.control_hosts else "localhost")
    host = "127.0.0.1" if host == "localhost" else host
    values = {"cpus": node_conf.cpus, "memory_mb": node_conf.real_memory, "gpus": gpus,
              "kill_wait": float(config.kill_wait),
              "controller": f"tcp://{host}:{config.slurmctld_port}",
              "keys_dir": config.raw.get("AgentKeysDir") or None}
    if config.slurmd_spool_dir:
        values["spool"] = config.slurmd_spool_dir.replace("%n", node).replace("%h", os.uname().nodename)
    return values


def parse_args(argv: list[str] | None = None) -> AgentSettings:
    args = _build_parser().parse_args(argv)
    values: dict = {}
    if args.conf:
        values.update(_from_conf(args.conf, args.node))
    explicit = {
        "controller": args.controller, "spool": args.spool, "cpus": args.cpus,
        "memory_mb": args.memory, "heartbeat": args.heartbeat, "kill_wait": args.kill_wait,
        "resend_interval": args.resend, "keys_dir": args.keys_dir,
        "gpus": ([""] * args.gpus if args.gpus is not None
                 else parse_gres(args.gres) if args.gres is not None else None),
    }
    values.update({key: value for key, value in explicit.items() if value is not None})
    for required in ("controller", "spool"):
        if not values.get(required):
            raise AgentError(f"nodeagent: --{required} is required (or --conf)")
    settings = AgentSettings(
        node=args.node, controller=values["controller"], spool=values["spool"],
        cpus=values.get("cpus") or os.cpu_count() or 1,
        memory_mb=values.get("memory_mb") or _machine_memory_mb(),
        gpus=values.get("gpus"), log_file=args.log_file, log_level=args.log_level.upper())
    return replace(settings, **{key: values[key] for key in ("heartbeat", "kill_wait", "resend_interval",
                                                             "keys_dir") if values.get(key) is not None})


class _NodeFilter(logging.Filter):
    def __init__(self, node: str) -> None:
        super().__init__()
        self.node = node

    def filter(self, record: logging.LogRecord) -> bool:
        record.node = self.node
        return True


def setup_logging(settings: AgentSettings) -> None:
    """Every record carries the node name, so logs of many agents can be merged."""
    handler: logging.Handler = (logging.FileHandler(settings.log_file) if settings.log_file
                                else logging.StreamHandler())
    handler.addFilter(_NodeFilter(settings.node))
    handler.setFormatter(logging.Formatter(
        "%(asctime)s %(levelname)s nodeagent[%(node)s] %(name)s: %(message)s"))
    root = logging.getLogger("nodeagent")
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    root.propagate = False
