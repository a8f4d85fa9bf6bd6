"""sinfo: partitions and nodes as Slurm 22.05 prints them.

Nodes of a partition that print alike are one row (the node list compressed); `-N` gives one row
per node and partition. Pure parts: `parse_options(argv)`, `build_rows(partitions, nodes, opts)`
and `format_sinfo(partitions, nodes, opts, now)`; `main()` fetches and prints.
"""
from __future__ import annotations

import os
import sys
import time

from commands import fieldfmt
from commands.formats import duration_compact, node_state_compact, node_state_long
from commands.optscan import ScanError, scan

PROG = "sinfo"
VERSION = "slurm-wlm 22.05.8"   # as Debian's build of 22.05 (the reference) prints it
DEFAULT_FORMAT = "%#P %.5a %.10l %.6D %.6t %N"
SUMMARIZE_FORMAT = "%#P %.5a %.10l %.16F %N"
LONG_FORMAT = "%#P %.5a %.10l %.10s %.4r %.8h %.10g %.6D %.11T %N"
NODE_FORMAT = "%#N %.6D %.#P %6t"
NODE_LONG_FORMAT = "%#N %.6D %.#P %.11T %4c %.8z %.6m %.8d %.6w %.8f %20E"
REASONS_FORMAT = "%20E %9u %19H %N"
REASONS_LONG_FORMAT = "%20E %12U %19H %6t %N"
# node states whose reasons -R lists (sinfo(1): down, drained, fail or failing)
REASON_NODE_STATES = frozenset(("DOWN", "DRAINED", "DRAINING", "FAIL", "FAILING"))

TITLES = {
    "P": "PARTITION", "R": "PARTITION", "a": "AVAIL", "l": "TIMELIMIT", "L": "DEFAULTTIME",
    "D": "NODES", "t": "STATE", "T": "STATE", "N": "NODELIST", "n": "HOSTNAMES",
    "o": "NODE_ADDR", "c": "CPUS", "C": "CPUS(A/I/O/T)", "F": "NODES(A/I/O/T)",
    "A": "NODES(A/I)", "m": "MEMORY", "e": "FREE_MEM", "G": "GRES", "O": "CPU_LOAD",
    "E": "REASON", "f": "AVAIL_FEATURES", "b": "ACTIVE_FEATURES", "s": "JOB_SIZE", "r": "ROOT",
    "h": "OVERSUBS", "g": "GROUPS", "z": "S:C:T", "d": "TMP_DISK", "w": "WEIGHT",
    "H": "TIMESTAMP", "u": "USER", "U": "USER", "X": "SOCKETS", "Y": "CORES", "Z": "THREADS",
    "p": "PRIO_TIER", "S": "ALLOCNODES", "V": "CLUSTER", "allocmem": "ALLOCMEM",
}
# -O/--Format names (case-insensitive) -> field code (`allocmem` has no -o letter)
FORMAT2 = {
    "available": "a", "cluster": "V", "cores": "Y", "cpus": "c", "cpusload": "O", "cpusstate": "C",
    "defaulttime": "L", "disk": "d", "features": "f", "features_act": "b", "freemem": "e", "gres": "G",
    "groups": "g", "memory": "m", "nodeaddr": "o", "nodeai": "A", "nodeaiot": "F", "nodehost": "n",
    "nodelist": "N", "nodes": "D", "oversubscribe": "h", "partition": "P", "partitionname": "R",
    "prioritytier": "p", "reason": "E", "root": "r", "size": "s", "socketcorethread": "z",
    "sockets": "X", "statecompact": "t", "statelong": "T", "threads": "Z", "time": "l",
    "timestamp": "H", "user": "u", "userlong": "U", "weight": "w", "allocnodes": "S",
    "allocmem": "allocmem",
}
NOCUT_HEADER = frozenset("N")
# fields that describe a group as a whole, not a node: never part of the grouping key
AGGREGATES = frozenset("NDCFAn")
# base state order for sorting rows of one partition (Slurm lists busier states first)
_STATE_RANK = {"MIXED": 5, "ALLOCATED": 3, "COMPLETING": 3, "DRAINING": 3, "FAILING": 3,
               "IDLE": 2, "DRAINED": 2, "RESERVED": 2, "MAINT": 2, "DOWN": 1, "FAIL": 1,
               "FUTURE": 6, "UNKNOWN": 0}
VALID_STATES = ("unknown,down,idle,allocated,?,mixed,future,drain,drained,draining,no_respond,"
                "reserved,perfctrs,cloud,completing,powering_down,powered_down,power_down,"
                "powering_up,fail,maint,reboot,reboot^,unknown")


class UsageError(Exception):
    def __init__(self, lines: list[str], code: int = 1) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines
        self.code = code


class Options:
    __slots__ = ("fmt", "long", "node_view", "summarize", "noheader", "partitions", "nodes",
                 "states", "responding", "dead", "all", "version", "help", "list_reasons",
                 "json", "items", "format_errors")

    def __init__(self) -> None:
        self.fmt = None
        self.long = False
        self.node_view = False
        self.summarize = False
        self.noheader = False
        self.partitions = None
        self.nodes = None
        self.states = None
        self.responding = False
        self.dead = False
        self.all = False
        self.version = False
        self.help = False
        self.list_reasons = False
        self.json = False
        self.items = None            # -O fields as parsed format items (no separators between them)
        self.format_errors = []


SHORT = "adeFhi:lM:n:No:O:p:rRsS:t:TvV"
LONGS = {
    "all": ("a", 0), "dead": ("d", 0), "exact": ("e", 0), "future": ("F", 0),
    "noheader": ("h", 0), "iterate": ("i", 1), "long": ("l", 0), "cluster": ("M", 1),
    "clusters": ("M", 1), "nodes": ("n", 1), "Node": ("N", 0), "format": ("o", 1),
    "Format": ("O", 1), "partition": ("p", 1), "responding": ("r", 0), "list-reasons": ("R", 0),
    "summarize": ("s", 0), "sort": ("S", 1), "states": ("t", 1), "reservation": ("T", 0),
    "verbose": ("v", 0), "version": ("V", 0), "help": ("help", 0), "usage": ("usage", 0),
    "hide": ("hide", 0), "local": ("local", 0), "federation": ("federation", 0),
    "noconvert": ("noconvert", 0), "json": ("json", 0),
}

_STATE_WORDS = {
    "idle": {"IDLE"}, "alloc": {"ALLOCATED"}, "allocated": {"ALLOCATED"}, "mix": {"MIXED"},
    "mixed": {"MIXED"}, "down": {"DOWN"}, "drain": {"DRAINED", "DRAINING"},
    "drained": {"DRAINED"}, "draining": {"DRAINING"}, "drng": {"DRAINING"},
    "comp": {"COMPLETING"}, "completing": {"COMPLETING"}, "fail": {"FAIL", "FAILING"},
    "failing": {"FAILING"}, "maint": {"MAINT"}, "resv": {"RESERVED"}, "reserved": {"RESERVED"},
    "future": {"FUTURE"}, "futr": {"FUTURE"}, "unknown": {"UNKNOWN"}, "unk": {"UNKNOWN"},
    "reboot": {"REBOOT"}, "no_respond": {"*"}, "powered_down": {"POWERED_DOWN"},
    "powering_up": {"POWERING_UP"},
}


def parse_options(argv: list[str], env: dict | None = None) -> Options:
    env = os.environ if env is None else env
    try:
        pairs, operands = scan(argv, SHORT, LONGS)
    except ScanError as exc:
        raise UsageError([f"{PROG}: {exc.text}", f'Try "{PROG} --help" for more information'])
    if operands:
        raise UsageError([f"{PROG}: error: Unrecognized option: {operands[0]}",
                          f'Try "{PROG} --help" for more information'])
    opts = Options()
    for key, value in pairs:
        if key == "h":
            opts.noheader = True
        elif key == "l":
            opts.long = True
        elif key == "N":
            opts.node_view = True
        elif key == "s":
            opts.summarize = True
        elif key == "o":
            opts.fmt = value
        elif key == "O":
            opts.items, opts.format_errors = _format2(value)
        elif key == "p":
            opts.partitions = set(filter(None, value.split(",")))
        elif key == "n":
            from conf.hostlist import expand_hostlist
            opts.nodes = set(expand_hostlist(value))
        elif key == "t":
            opts.states = _parse_states(value)
        elif key == "r":
            opts.responding = True
        elif key == "d":
            opts.dead = True
        elif key == "a":
            opts.all = True
        elif key == "R":
            opts.list_reasons = True
        elif key == "json":
            opts.json = True
        elif key == "V":
            opts.version = True
        elif key in ("help", "usage"):
            opts.help = True
    if opts.fmt is None:
        opts.fmt = env.get("SINFO_FORMAT") or _default_format(opts)
    return opts


def _format2(value: str) -> tuple[list, list[str]]:
    """-O fields: `Name[:[.]width]`, default width 20, `.` right-justifies; unknown names are
    reported (in Slurm's words, which say "job") and left out."""
    items: list = []
    errors = []
    for spec in value.split(","):
        name, _, size = spec.partition(":")
        code = FORMAT2.get(name.strip().lower())
        if code is None:
            errors.append(f"{PROG}: error: Invalid job format specification: {name}")
            continue
        right = size.startswith(".")
        digits = size.lstrip(".")
        items.append((code, int(digits) if digits.isdigit() else 20, right))
    return items, errors


def _parse_states(text: str) -> set[str] | None:
    wanted: set[str] = set()
    for word in text.replace("&", ",").replace("+", ",").split(","):
        word = word.strip().lower()
        if not word:
            continue
        if word == "all":
            return None
        if word not in _STATE_WORDS:
            raise UsageError([f'{PROG}: error: Bad state string: "{word}"',
                              f"{PROG}: error: valid states: {VALID_STATES}"])
        wanted |= _STATE_WORDS[word]
    return wanted


def _default_format(opts: Options) -> str:
    if opts.list_reasons:
        return REASONS_LONG_FORMAT if opts.long else REASONS_FORMAT
    if opts.node_view:
        return NODE_LONG_FORMAT if opts.long else NODE_FORMAT
    if opts.summarize:
        return SUMMARIZE_FORMAT
    return LONG_FORMAT if opts.long else DEFAULT_FORMAT


# ---- cells --------------------------------------------------------------------------------

def _partition_cells(p: dict) -> dict:
    max_nodes = p.get("max_nodes")
    return {
        "P": p["name"] + ("*" if p.get("is_default") else ""),
        "R": p["name"],
        "a": {"UP": "up", "DOWN": "down", "DRAIN": "drain", "INACTIVE": "inactive"}.get(
            p.get("state", "UP"), p.get("state", "up").lower()),
        "l": _limit(p.get("max_time_min")),
        "L": "n/a" if p.get("default_time_min") is None else _limit(p["default_time_min"]),
        "s": f"{p.get('min_nodes') or 1}-{'infinite' if max_nodes is None else max_nodes}",
        "r": "yes" if p.get("root_only") else "no",
        "h": p.get("oversubscribe", "NO"),
        "g": "all" if p.get("allow_groups", "ALL") == "ALL" else p["allow_groups"],
        "p": str(p.get("priority_tier", 1)),
        "S": "all", "V": "N/A",
    }


def _limit(minutes):
    return "infinite" if minutes is None else duration_compact(minutes * 60)


def _node_cells(n: dict) -> dict:
    responding = n.get("responding", True)
    state = n.get("state", "UNKNOWN")
    free = n.get("free_memory_mb")
    return {
        "t": node_state_compact(state, responding),
        "T": node_state_long(state, responding),
        "c": str(n.get("cpus", 0)),
        "m": str(n.get("real_memory_mb", 0)),
        "e": "N/A" if free is None else str(free),
        "G": n.get("gres") or "(null)",
        "O": "N/A",
        "E": n.get("reason") or "none",
        "f": n.get("features") or "(null)",
        "b": n.get("features") or "(null)",
        "z": f"{n.get('sockets', 1)}:{n.get('cores_per_socket', 1)}:{n.get('threads_per_core', 1)}",
        "d": "0",
        "w": str(n.get("weight", 1)),
        "H": _ts(n.get("reason_time")) if n.get("reason") else "Unknown",
        "u": n.get("reason_user") or "Unknown",
        "X": str(n.get("sockets", 1)), "Y": str(n.get("cores_per_socket", 1)),
        "Z": str(n.get("threads_per_core", 1)),
        "o": n.get("address") or n["name"], "n": n.get("hostname") or n["name"],
        "allocmem": str(n.get("alloc_memory_mb", 0)),
    }


def _ts(t):
    from commands.formats import timestamp
    return timestamp(t)


def _group_totals(nodes: list[dict]) -> dict:
    from conf.hostlist import compress_hostlist
    alloc_c = idle_c = other_c = total_c = 0
    alloc_n = idle_n = other_n = 0
    for n in nodes:
        cpus = n.get("cpus", 0)
        used = n.get("cpus_alloc", 0)
        total_c += cpus
        state = n.get("state", "")
        unusable = (not n.get("responding", True) or state in
                    ("DOWN", "DRAINED", "DRAINING", "FAIL", "FAILING", "FUTURE", "UNKNOWN"))
        if unusable and state not in ("DRAINING",):
            other_c += cpus - used
            alloc_c += used
            other_n += 1
        else:
            alloc_c += used
            idle_c += cpus - used
            if used or state in ("ALLOCATED", "MIXED", "COMPLETING", "DRAINING"):
                alloc_n += 1
            else:
                idle_n += 1
    return {
        "N": compress_hostlist(n["name"] for n in nodes),
        "n": ",".join(n.get("hostname") or n["name"] for n in nodes),
        "D": str(len(nodes)),
        "C": f"{alloc_c}/{idle_c}/{other_c}/{total_c}",
        "F": f"{alloc_n}/{idle_n}/{other_n}/{len(nodes)}",
        "A": f"{alloc_n}/{idle_n}",
    }


def _node_matches(n: dict, opts: Options) -> bool:
    if opts.nodes is not None and n["name"] not in opts.nodes:
        return False
    responding = n.get("responding", True)
    if opts.responding and not responding:
        return False
    if opts.dead and responding and n.get("state") not in ("DOWN", "FAIL"):
        return False
    if opts.states is not None:
        if n.get("state") not in opts.states and not ("*" in opts.states and not responding):
            return False
    return True


def build_rows(partitions: list[dict], nodes: list[dict], opts: Options, codes: set) -> list[dict]:
    """Rows of cells: one per (partition, alike nodes), or per (node, partition) with -N."""
    by_name = {n["name"]: n for n in nodes}
    rows: list[dict] = []
    keyed = [c for c in sorted(codes) if c not in AGGREGATES]
    for p in partitions:
        if opts.partitions is not None and p["name"] not in opts.partitions:
            continue
        if p.get("hidden") and not opts.all and opts.partitions is None:
            continue
        pcells = _partition_cells(p)
        members = [n for n in nodes if p["name"] in (n.get("partitions") or ())]
        if not members and p.get("nodes"):
            from conf.hostlist import expand_hostlist
            members = [by_name[x] for x in expand_hostlist(p["nodes"]) if x in by_name]
        members = [n for n in members if _node_matches(n, opts)]
        if not members and opts.states is not None and not opts.node_view and not opts.summarize:
            # a state filter that leaves a partition no node still lists it (observed)
            rows.append({**pcells, **_blank_node_cells(), **_group_totals([]), "t": "n/a", "T": "n/a"})
            continue
        if opts.node_view:
            for n in members:
                rows.append({**pcells, **_node_cells(n), **_group_totals([n]), "_n": n})
            continue
        if opts.summarize:
            if members or opts.nodes is None:
                rows.append({**pcells, **_group_totals(members), **_blank_node_cells()})
            continue
        groups: dict[tuple, list[dict]] = {}
        cells_of: dict[tuple, dict] = {}
        for n in members:
            ncells = _node_cells(n)
            key = tuple(ncells.get(c, pcells.get(c, "")) for c in keyed)
            groups.setdefault(key, []).append(n)
            cells_of.setdefault(key, ncells)
        ordered = sorted(groups, key=lambda k: -_STATE_RANK.get(groups[k][0].get("state", ""), 0))
        for key in ordered:
            rows.append({**pcells, **cells_of[key], **_group_totals(groups[key])})
    if not opts.node_view and not opts.summarize and not codes & PARTITION_CODES:
        rows = _merge_across_partitions(rows, partitions, nodes, opts, keyed)
    if opts.node_view:
        order = {n["name"]: i for i, n in enumerate(nodes)}
        rows.sort(key=lambda r: order.get(r["_n"]["name"], 0))
    return rows


# fields that differ between partitions: without any of them, sinfo groups nodes across partitions
PARTITION_CODES = frozenset("PRalLsrhgpSV")


def _merge_across_partitions(rows: list[dict], partitions: list[dict], nodes: list[dict], opts: Options,
                             keyed: list[str]) -> list[dict]:
    """`sinfo -o "%t %D"` shows `idle 4`, not one row per partition: every node once, grouped
    only by the fields shown, in the order the per-partition rows came."""
    seen: set[str] = set()
    groups: dict[tuple, list[dict]] = {}
    cells_of: dict[tuple, dict] = {}
    from conf.hostlist import expand_hostlist
    by_name = {n["name"]: n for n in nodes}
    for row in rows:
        for name in expand_hostlist(row.get("N", "")) if row.get("N") else ():
            n = by_name.get(name)
            if n is None or name in seen:
                continue
            seen.add(name)
            cells = _node_cells(n)
            key = tuple(cells.get(c, "") for c in keyed)
            groups.setdefault(key, []).append(n)
            cells_of.setdefault(key, cells)
    return [{**cells_of[k], **_group_totals(groups[k])} for k in groups]


def reason_rows(partitions: list[dict], nodes: list[dict], opts: Options, codes: set) -> list[dict]:
    """sinfo -R: one row per (reason, user, time[, state]) over the down/drained/failing nodes,
    each node once whatever its partitions; rows sorted by reason text."""
    wanted = None
    if opts.partitions is not None:
        wanted = {p["name"] for p in partitions if p["name"] in opts.partitions}
    keyed = [c for c in sorted(codes) if c not in AGGREGATES]
    groups: dict[tuple, list[dict]] = {}
    cells_of: dict[tuple, dict] = {}
    for n in nodes:
        if n.get("state") not in REASON_NODE_STATES or not _node_matches(n, opts):
            continue
        if wanted is not None and wanted.isdisjoint(n.get("partitions") or ()):
            continue
        cells = _node_cells(n)
        if "U" in codes:
            cells["U"] = _user_and_uid(n.get("reason_user"))
        key = tuple(cells.get(c, "") for c in keyed)
        groups.setdefault(key, []).append(n)
        cells_of.setdefault(key, cells)
    ordered = sorted(groups, key=lambda k: cells_of[k]["E"])
    return [{**cells_of[k], **_group_totals(groups[k])} for k in ordered]


def _user_and_uid(name: str | None) -> str:
    """`%U`: 'root(0)'."""
    if not name:
        return "Unknown"
    import pwd
    try:
        return f"{name}({pwd.getpwnam(name).pw_uid})"
    except KeyError:
        return name


def _blank_node_cells() -> dict:
    return {c: "" for c in ("t", "T", "c", "m", "e", "G", "O", "E", "f", "b", "z", "d", "w",
                            "H", "u", "X", "Y", "Z", "o", "allocmem")}


def _cut_partition(value: str, width: int, right: bool) -> str:
    """sinfo keeps the default partition's `*` when it cuts the name (`%.3P` gives `cp*`)."""
    if width > 0 and len(value) > width and value.endswith("*"):
        value = value[:width - 1] + "*"
    return value


def format_sinfo(partitions: list[dict], nodes: list[dict], opts: Options, now: int) -> tuple[str, list[str]]:
    if opts.items is not None:
        items, errors = list(opts.items), list(opts.format_errors)
    else:
        items, unknown = fieldfmt.parse(opts.fmt, TITLES)
        errors = [f"Invalid node format specification: {c}" for c in unknown]
    codes = {it[0] for it in items if type(it) is not str}
    if opts.list_reasons:
        rows = reason_rows(partitions, nodes, opts, codes)
    else:
        rows = build_rows(partitions, nodes, opts, codes)
    items = fieldfmt.resolve_hash_widths(items, rows)
    lines = []
    if opts.long:
        lines.append(time.ctime(now))
    if not opts.noheader:
        lines.append(fieldfmt.header(items, TITLES, NOCUT_HEADER))
    for row in rows:
        out = []
        for item in items:
            if type(item) is str:
                out.append(item)
                continue
            code, width, right = item
            value = row.get(code, "")
            if code == "P":
                value = _cut_partition(value, width, right)
            out.append(fieldfmt.fit(value, width, right))
        lines.append("".join(out))
    return ("\n".join(lines) + "\n") if lines else "", errors


def _fetch():
    from sdk.discovery import controller_socket, find_conf
    from sdk.errors import ControllerUnreachable
    from sdk.transport import LocalTransport
    conf = find_conf()
    if not conf:
        raise ControllerUnreachable("CONNECTION")
    try:
        transport = LocalTransport(controller_socket(conf))
    except OSError:
        raise ControllerUnreachable("CONNECTION") from None
    partitions = transport.call("partitions")["partitions"]
    nodes = transport.call("nodes")["nodes"]
    return partitions, nodes


def _print_json() -> int:
    """--json: every node (Slurm 22.05 ignores the filter and format options here)."""
    from commands import jsonview
    from sdk.errors import SlurmError
    try:
        _, nodes = _fetch()
    except SlurmError as exc:
        sys.stderr.write(f"slurm_load_node: {exc.message}\n")
        return 1
    sys.stdout.write(jsonview.dumps(jsonview.nodes_document(nodes)))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        opts = parse_options(argv)
    except UsageError as exc:
        sys.stderr.write("\n".join(exc.lines) + "\n")
        return exc.code
    if opts.version:
        sys.stdout.write(VERSION + "\n")
        return 0
    if opts.help:
        sys.stdout.write("Usage: sinfo [OPTIONS]\n")
        return 0
    from sdk.errors import SlurmError
    if opts.json:
        return _print_json()
    try:
        partitions, nodes = _fetch()
    except SlurmError as exc:
        sys.stderr.write(f"slurm_load_partitions: {exc.message}\n")
        return 1
    text, errors = format_sinfo(partitions, nodes, opts, int(time.time()))
    if errors:
        sys.stderr.write("\n".join(errors) + "\n")
    from commands.output import write_stdout
    write_stdout(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
