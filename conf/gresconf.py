"""gres.conf -> `GresLine` records, reporting every problem at once (gres.conf(5)).

    [NodeName=<hostlist>] Name=gpu [Type=a100] [File=/dev/nvidia[0-3]] [Count=N] [Cores=0-15]
        [Links=-1,2,0,0] [Flags=CountOnly,...] [AutoDetect=nvml|...]

A line without `Name=` only sets `AutoDetect` (for its NodeName, or for every node), which then
applies to the GRES lines after it that do not set their own. `Count` defaults to the number of
files, else 1.
`Cores` (the cores a GPU is bound to: its NUMA affinity) and `Links` (per GPU of the node, by
index, how many NVLinks join this device to it; -1 for itself) say where the GPUs of a line sit;
the scheduler keeps GPUs of one job together by them.
"""

from __future__ import annotations

from dataclasses import dataclass

from conf.errors import ConfError, ConfigError
from conf.hostlist import expand_hostlist
from conf.keys import canonical_map
from conf.lexer import ConfLine, iter_file_lines, iter_text_lines
from conf.units import parse_gres_count

__all__ = ["GresLine", "gpu_places", "load_gres_conf", "parse_gres_conf_text"]

_KEYS = canonical_map(
    frozenset({"AutoDetect", "Count", "Cores", "File", "Files", "Flags", "Links", "MultipleFiles", "Name", "NodeName", "Type"})
)
_AUTODETECT = {"nvml", "nvidia", "rsmi", "oneapi", "nrt", "full", "off"}
_FLAGS = {
    "countonly": "CountOnly",
    "explicit": "explicit",
    "nvidia_gpu_env": "nvidia_gpu_env",
    "amd_gpu_env": "amd_gpu_env",
    "intel_gpu_env": "intel_gpu_env",
    "opencl_env": "opencl_env",
    "no_gpu_env": "no_gpu_env",
    "one_sharing": "one_sharing",
    "all_sharing": "all_sharing",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class GresLine:
    node_names: tuple[str, ...]  # empty: every node
    name: str
    type: str = ""
    files: tuple[str, ...] = ()
    count: int = 1
    cores: tuple[int, ...] = ()
    links: tuple[int, ...] = ()  # Links=: NVLink count to each GPU index of the node
    flags: tuple[str, ...] = ()
    autodetect: str = ""  # '' when neither the line nor an earlier AutoDetect line set it
    where: str = ""  # path:line, for messages that refer back to the file

    def applies_to(self, node: str) -> bool:
        return not self.node_names or node in self.node_names


def load_gres_conf(path: str) -> tuple[GresLine, ...]:
    problems: list[str] = []
    lines = _build(iter_file_lines(path, problems), problems)
    if problems:
        raise ConfigError(problems)
    return lines


def parse_gres_conf_text(text: str, path: str = "<string>") -> tuple[GresLine, ...]:
    problems: list[str] = []
    lines = _build(iter_text_lines(text, path, problems), problems)
    if problems:
        raise ConfigError(problems)
    return lines


def gpu_places(lines: tuple[GresLine, ...], node: str) -> tuple[tuple[int, tuple[int, ...]], ...]:
    """Where each GPU of `node` sits, by GPU index (the order of its gres.conf devices):
    (NUMA id, NVLink counts). GPUs whose lines give the same `Cores=` share a NUMA id (numbered
    from 0 in order of appearance; -1 without Cores=); `Links=` applies to each device of its line."""
    numa_ids: dict[tuple[int, ...], int] = {}
    places: list[tuple[int, tuple[int, ...]]] = []
    for line in lines:
        if line.name != "gpu" or not line.applies_to(node):
            continue
        numa = numa_ids.setdefault(line.cores, len(numa_ids)) if line.cores else -1
        places.extend([(numa, line.links)] * line.count)
    return tuple(places)


def _build(conf_lines: object, problems: list[str]) -> tuple[GresLine, ...]:
    result: list[GresLine] = []
    autodetect_for: list[tuple[tuple[str, ...], str]] = []  # (nodes, mode), later wins
    for line in conf_lines:  # type: ignore[attr-defined]
        assert isinstance(line, ConfLine)
        settings: dict[str, str] = {}
        for pair in line.pairs:
            canonical = _KEYS.get(pair.key.lower())
            if canonical is None:
                problems.append(f"{line.where}: unknown gres.conf key {pair.key!r}")
                continue
            settings["File" if canonical == "Files" else canonical] = pair.value
        nodes = _expand(settings.get("NodeName", ""), "NodeName", line.where, problems)
        autodetect = settings.get("AutoDetect", "").lower()
        if autodetect and autodetect not in _AUTODETECT:
            problems.append(f"{line.where}: AutoDetect={settings['AutoDetect']}: expected one of {', '.join(sorted(_AUTODETECT))}")
        if "Name" not in settings:
            if set(settings) - {"NodeName", "AutoDetect"}:
                problems.append(f"{line.where}: a GRES line needs Name=")
            elif autodetect:
                autodetect_for.append((nodes, autodetect))
            continue
        gres_line = _gres_line(settings, nodes, autodetect, line.where, problems)
        if gres_line is None:
            continue
        if not gres_line.autodetect:
            inherited = _inherited_autodetect(autodetect_for, nodes)
            if inherited:
                from dataclasses import replace

                gres_line = replace(gres_line, autodetect=inherited)
        result.append(gres_line)
    return tuple(result)


def _gres_line(settings: dict[str, str], nodes: tuple[str, ...], autodetect: str, where: str, problems: list[str]) -> GresLine | None:
    name = settings["Name"]
    if not name or ":" in name or "," in name:
        problems.append(f"{where}: Name={name}: expected a single GRES name such as gpu")
        return None
    files = _expand(settings.get("File", settings.get("MultipleFiles", "")), "File", where, problems)
    count = len(files) or 1
    if "Count" in settings:
        try:
            count = parse_gres_count(settings["Count"])
        except ConfError:
            problems.append(f"{where}: Count={settings['Count']}: not a count")
        else:
            if name == "gpu" and files and count != len(files):
                problems.append(f"{where}: Count={count} but File= names {len(files)} devices")
    flags: list[str] = []
    for flag in (item for item in settings.get("Flags", "").split(",") if item):
        canonical = _FLAGS.get(flag.lower())
        if canonical is None:
            problems.append(f"{where}: unknown Flags value {flag!r}")
        else:
            flags.append(canonical)
    cores = _cores(settings.get("Cores", ""), where, problems)
    links = _links(settings.get("Links", ""), where, problems)
    return GresLine(
        node_names=nodes,
        name=name,
        type=settings.get("Type", ""),
        files=files,
        count=count,
        cores=cores,
        links=links,
        flags=tuple(flags),
        autodetect=autodetect,
        where=where,
    )


def _expand(text: str, key: str, where: str, problems: list[str]) -> tuple[str, ...]:
    if not text:
        return ()
    try:
        return tuple(expand_hostlist(text))
    except ConfError as error:
        problems.append(f"{where}: {key}={text}: {error}")
        return ()


def _cores(text: str, where: str, problems: list[str]) -> tuple[int, ...]:
    """`0-3,8` -> (0, 1, 2, 3, 8), via the hostlist range grammar."""
    if not text:
        return ()
    try:
        return tuple(int(core) for core in expand_hostlist(f"[{text}]"))
    except (ConfError, ValueError):
        problems.append(f"{where}: Cores={text}: expected core ranges such as 0-15,32")
        return ()


def _links(text: str, where: str, problems: list[str]) -> tuple[int, ...]:
    """`-1,2,0,0` -> (-1, 2, 0, 0): -1 is the device itself, 0 no link, N > 0 that many NVLinks."""
    if not text:
        return ()
    try:
        links = tuple(int(item) for item in text.split(","))
    except ValueError:
        links = ()
    if not links or any(link < -1 for link in links):
        problems.append(f"{where}: Links={text}: expected comma-separated link counts such as -1,2,0,0")
        return ()
    return links


def _inherited_autodetect(autodetect_for: list[tuple[tuple[str, ...], str]], nodes: tuple[str, ...]) -> str:
    for scope, mode in reversed(autodetect_for):
        if not scope or (nodes and set(nodes) <= set(scope)):
            return mode
    return ""
