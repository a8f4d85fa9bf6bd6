"""NodeName and DownNodes lines of slurm.conf -> `NodeConfig` records.

`NodeName=DEFAULT` lines add to (never reset) the defaults used by the lines after them. One line
may name many nodes with a hostlist; NodeHostname/NodeAddr/Port then give one value for all of
them or one per node. A node named twice is an error (Slurm ignores the second line silently).
"""

from __future__ import annotations

from typing import Any

from conf import values as v
from conf.errors import ConfError
from conf.hostlist import expand_hostlist
from conf.keys import NODE_KEYS, canonical_map
from conf.lexer import ConfLine
from conf.model import NodeConfig, NodeConfigState
from conf.units import parse_gres

__all__ = ["NodeBuilder"]

_NODE_CANON = canonical_map(NODE_KEYS)
_USED_KEYS = frozenset(
    """CPUs Procs Boards Sockets SocketsPerBoard CoresPerSocket ThreadsPerCore RealMemory TmpDisk Gres
    Feature Features AvailableFeatures Weight State Reason NodeAddr NodeHostname Port""".split()
)
# keys that name one value per node, so they make no sense on a DEFAULT line
_PER_NODE_KEYS = ("NodeHostname", "NodeAddr", "BcastAddr")
_STATE = v.choice(*NodeConfigState)
_SIMPLE: dict[str, tuple[str, v.Converter]] = {
    "RealMemory": ("real_memory", v.memory),
    "TmpDisk": ("tmp_disk", v.memory),
    "Weight": ("weight", v.int_range(0, 0xFFFFFFFE)),
    "State": ("state", lambda text: NodeConfigState(_STATE(text))),
    "Reason": ("reason", v.text_value),
    "Gres": ("gres", parse_gres),
}
_TOPOLOGY = ("CPUs", "Boards", "Sockets", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore")


class NodeBuilder:
    def __init__(self, problems: list[str], warnings: list[str]) -> None:
        self.problems = problems
        self.warnings = warnings
        self.defaults: dict[str, tuple[str, str]] = {}
        self.nodes: list[NodeConfig] = []
        self.declared_at: dict[str, str] = {}
        self.gres_at: dict[str, list[tuple[str, str]]] = {}  # node -> [(gres name, where)]

    def take(self, line: ConfLine) -> None:
        names_text = line.pairs[0].value
        settings: dict[str, tuple[str, str]] = {}
        for pair in line.pairs[1:]:
            canonical = _NODE_CANON.get(pair.key.lower())
            if canonical is None or canonical == "NodeName":
                self.problems.append(f"{line.where}: unknown node key {pair.key!r}")
                continue
            if canonical == "Procs":
                canonical = "CPUs"
            if canonical in ("Feature", "AvailableFeatures"):
                canonical = "Features"
            if canonical not in _USED_KEYS:
                self.warnings.append(f"{line.where}: warning: node key {canonical} is accepted but not used")
            settings[canonical] = (pair.value, line.where)
        if names_text.upper() == "DEFAULT":
            for key in _PER_NODE_KEYS:
                if key in settings:
                    self.problems.append(f"{line.where}: {key} is not allowed with NodeName=DEFAULT")
            self.defaults.update(settings)
            return
        if names_text.upper() == "ALL":
            self.problems.append(f"{line.where}: NodeName=ALL: 'ALL' is a reserved word")
            return
        try:
            names = expand_hostlist(names_text)
        except ConfError as error:
            self.problems.append(f"{line.where}: NodeName={names_text}: {error}")
            return
        if not names:
            self.problems.append(f"{line.where}: NodeName must not be empty")
            return
        merged = {**self.defaults, **settings}
        fields = self.convert(merged, names_text)
        per_node = {key: self.per_node_values(key, merged, names, line.where) for key in ("NodeHostname", "NodeAddr", "Port")}
        for index, name in enumerate(names):
            if name in self.declared_at:
                self.problems.append(f"{line.where}: node {name} was already defined at {self.declared_at[name]}")
                continue
            self.declared_at[name] = line.where
            hostname = per_node["NodeHostname"][index] if per_node["NodeHostname"] else name
            address = per_node["NodeAddr"][index] if per_node["NodeAddr"] else hostname
            port_text = per_node["Port"][index] if per_node["Port"] else None
            port = self.convert_port(port_text, merged)
            self.nodes.append(NodeConfig(name=name, node_hostname=hostname, node_addr=address, port=port, **fields))
            if "gres" in fields:
                self.gres_at[name] = [(item.name, merged["Gres"][1]) for item in fields["gres"]]

    def convert(self, merged: dict[str, tuple[str, str]], names_text: str) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for key, (field_name, convert) in _SIMPLE.items():
            if key in merged:
                value, where = merged[key]
                try:
                    fields[field_name] = convert(value)
                except (ValueError, ConfError) as error:
                    self.problems.append(f"{where}: NodeName={names_text}: {key}={value}: {error}")
        if "Features" in merged:
            fields["features"] = v.word_list(merged["Features"][0])
        topology: dict[str, int] = {}
        for key in _TOPOLOGY:
            if key in merged:
                value, where = merged[key]
                try:
                    topology[key] = v.integer(value, minimum=1, maximum=65535)
                except ValueError as error:
                    self.problems.append(f"{where}: NodeName={names_text}: {key}={value}: {error}")
        fields.update(_topology(topology))
        return fields

    def per_node_values(self, key: str, merged: dict[str, tuple[str, str]], names: list[str], where: str) -> list[str]:
        """One value per name: a single value is shared, a hostlist must match the names one to one."""
        if key not in merged:
            return []
        text, value_where = merged[key]
        try:
            values = [text] if key == "Port" and text.isdigit() else expand_hostlist(text)
        except ConfError as error:
            self.problems.append(f"{value_where}: {key}={text}: {error}")
            return []
        if len(values) == 1:
            return values * len(names)
        if len(values) != len(names):
            self.problems.append(
                f"{value_where}: {key}={text} names {len(values)} values for {len(names)} nodes"
            )
            return []
        return values

    def convert_port(self, text: str | None, merged: dict[str, tuple[str, str]]) -> int | None:
        if text is None:
            return None
        try:
            return v.integer(text, minimum=1, maximum=65535)
        except ValueError as error:
            self.problems.append(f"{merged['Port'][1]}: Port={merged['Port'][0]}: {error}")
            return None

    def build(self, *, gres_types: tuple[str, ...], down_lines: list[ConfLine], down_canon: dict[str, str]) -> list[NodeConfig]:
        known_gres = set(gres_types)
        reported: set[tuple[str, str]] = set()
        for gres_list in self.gres_at.values():
            for gres_name, where in gres_list:
                if gres_name not in known_gres and (gres_name, where) not in reported:
                    reported.add((gres_name, where))
                    self.problems.append(f"{where}: Gres {gres_name} is not listed in GresTypes")
        return self.apply_down_nodes(down_lines, down_canon)

    def apply_down_nodes(self, down_lines: list[ConfLine], down_canon: dict[str, str]) -> list[NodeConfig]:
        """`DownNodes=n[1-2] State=DRAIN Reason=...` overrides the named nodes' states."""
        from dataclasses import replace

        by_name = {node.name: node for node in self.nodes}
        for line in down_lines:
            names_text = line.pairs[0].value
            state, reason = NodeConfigState.DOWN, ""
            for pair in line.pairs[1:]:
                canonical = down_canon.get(pair.key.lower())
                if canonical == "State":
                    try:
                        state = NodeConfigState(_STATE(pair.value))
                    except ValueError as error:
                        self.problems.append(f"{line.where}: DownNodes State={pair.value}: {error}")
                elif canonical == "Reason":
                    reason = pair.value
                else:
                    self.problems.append(f"{line.where}: unknown DownNodes key {pair.key!r}")
            try:
                names = expand_hostlist(names_text)
            except ConfError as error:
                self.problems.append(f"{line.where}: DownNodes={names_text}: {error}")
                continue
            for name in names:
                if name not in by_name:
                    self.problems.append(f"{line.where}: DownNodes: node {name} is not declared")
                    continue
                by_name[name] = replace(by_name[name], state=state, reason=reason)
        return [by_name[node.name] for node in self.nodes]


def _topology(given: dict[str, int]) -> dict[str, int]:
    """CPUs defaults to Boards*Sockets*CoresPerSocket*ThreadsPerCore; Sockets, when absent, is
    inferred from CPUs (Slurm 22.05 shows `CPUs=8` alone as Sockets=8 CoresPerSocket=1)."""
    boards = given.get("Boards", 1)
    cores = given.get("CoresPerSocket", 1)
    threads = given.get("ThreadsPerCore", 1)
    if "SocketsPerBoard" in given:
        sockets = boards * given["SocketsPerBoard"]
    elif "Sockets" in given:
        # with Boards, Sockets is read as sockets per board (slurm.conf(5))
        sockets = given["Sockets"] * (boards if "Boards" in given else 1)
    elif "CPUs" in given:
        sockets = max(1, given["CPUs"] // (cores * threads))
    else:
        sockets = boards
    cpus = given.get("CPUs", sockets * cores * threads)
    return {
        "cpus": cpus,
        "boards": boards,
        "sockets": sockets,
        "cores_per_socket": cores,
        "threads_per_core": threads,
    }
