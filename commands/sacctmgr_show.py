"""`sacctmgr show`: the tables, as Slurm 22.05's sacctmgr prints them (observed on /usr/bin/sacctmgr).

- Columns are right-justified to a per-field width with one space after each (a trailing space
  ends every line); `name%N` sets a width, `name%-N` left-justifies. A value wider than its
  column is cut to width-1 characters and a `+`; a header is simply cut.
- `-p` ends every field with `|`, `-P` puts `|` between fields; neither pads nor cuts.
- Associations come in tree order: an account's user associations (by user), then its
  sub-accounts (by name), each followed by its own subtree. `tree` indents the Account column
  one space per level and left-justifies it in 20 columns.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from commands.sacctmgr_parse import Command, Options, Refused
from conf.timefmt import format_duration
from commands.printfields import cell, title


class ShowError(Exception):
    """A request the listing refuses; `message` is Slurm's text (stderr, exit 1)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Field:
    header: str
    width: int
    value: Callable[[dict], str]
    left: bool = False


def _text(key: str) -> Callable[[dict], str]:
    return lambda row: "" if row.get(key) is None else str(row.get(key))


def _shares(row: dict) -> str:
    shares = row.get("shares")
    return "parent" if shares is None else str(shares)


def _minutes(key: str) -> Callable[[dict], str]:
    return lambda row: "" if row.get(key) is None else format_duration(int(row[key]) * 60)


def _seconds(key: str) -> Callable[[dict], str]:
    return lambda row: format_duration(int(row.get(key) or 0))


def _float(key: str) -> Callable[[dict], str]:
    return lambda row: "" if row.get(key) is None else f"{float(row[key]):f}"


def _join(key: str) -> Callable[[dict], str]:
    return lambda row: ",".join(row.get(key) or ())


def _empty(_row: dict) -> str:
    return ""


def _f(header: str, width: int, value: Callable[[dict], str] | None = None) -> Field:
    return Field(header, width, value or _empty)


# lower-case spellings accepted in format= -> field
ASSOC_FIELDS: dict[str, Field] = {
    "cluster": _f("Cluster", 10, _text("cluster")), "account": _f("Account", 10, _text("account")),
    "user": _f("User", 10, _text("user")), "partition": _f("Partition", 10, _text("partition")),
    "share": _f("Share", 9, _shares), "priority": _f("Priority", 10, _text("priority")),
    "grpjobs": _f("GrpJobs", 7), "grptres": _f("GrpTRES", 13), "grpsubmit": _f("GrpSubmit", 9),
    "grpwall": _f("GrpWall", 11), "grptresmins": _f("GrpTRESMins", 13), "maxjobs": _f("MaxJobs", 7),
    "maxtres": _f("MaxTRES", 13), "maxtrespernode": _f("MaxTRESPerNode", 14), "maxsubmit": _f("MaxSubmit", 9),
    "maxwall": _f("MaxWall", 11), "maxtresmins": _f("MaxTRESMins", 13), "qos": _f("QOS", 20, _join("qos")),
    "defqos": _f("Def QOS", 9, _text("default_qos")), "grptresrunmins": _f("GrpTRESRunMins", 13),
    "parentname": _f("ParentName", 10, _text("parent_name")),
}
ASSOC_ALIASES = {"fairshare": "share", "shares": "share", "defaultqos": "defqos", "qoslevel": "qos",
                 "acct": "account", "parent": "parentname", "maxsubmitjobs": "maxsubmit",
                 "grpsubmitjobs": "grpsubmit"}
ASSOC_DEFAULT = ("cluster", "account", "user", "partition", "share", "priority", "grpjobs", "grptres",
                 "grpsubmit", "grpwall", "grptresmins", "maxjobs", "maxtres", "maxtrespernode", "maxsubmit",
                 "maxwall", "maxtresmins", "qos", "defqos", "grptresrunmins")

ACCOUNT_FIELDS: dict[str, Field] = {
    "account": _f("Account", 10, _text("name")), "descr": _f("Descr", 20, _text("description")),
    "org": _f("Org", 20, _text("organization")),
}
ACCOUNT_ALIASES = {"name": "account", "description": "descr", "organization": "org"}
# withassoc adds these (22.05 still shows its pre-TRES column set here)
ACCOUNT_ASSOC = ("cluster", "parentname", "user", "share", "priority", "grpjobs", "grpnodes", "grpcpus",
                 "grpmem", "grpsubmit", "grpwall", "grpcpumins", "maxjobs", "maxnodes", "maxcpus", "maxsubmit",
                 "maxwall", "maxcpumins", "qos", "defqos")
USER_ASSOC = ("cluster", "account", "partition", "share", "priority", "maxjobs", "maxnodes", "maxcpus",
              "maxsubmit", "maxwall", "maxcpumins", "qos", "defqos")
OLD_LIMITS = {"grpnodes": _f("GrpNodes", 8), "grpcpus": _f("GrpCPUs", 8), "grpmem": _f("GrpMem", 7),
              "grpcpumins": _f("GrpCPUMins", 11), "maxnodes": _f("MaxNodes", 8), "maxcpus": _f("MaxCPUs", 8),
              "maxcpumins": _f("MaxCPUMins", 11)}

USER_FIELDS: dict[str, Field] = {
    "user": _f("User", 10, _text("name")), "defacct": _f("Def Acct", 10, _text("default_account")),
    "admin": _f("Admin", 9, _text("admin_level")),
}
USER_ALIASES = {"name": "user", "defaultaccount": "defacct", "adminlevel": "admin"}

QOS_FIELDS: dict[str, Field] = {
    "name": _f("Name", 10, _text("name")), "priority": _f("Priority", 10, _text("priority")),
    "gracetime": _f("GraceTime", 10, _seconds("grace_time")), "preempt": _f("Preempt", 10, _join("preempt")),
    "preemptexempttime": _f("PreemptExemptTime", 19), "preemptmode": _f("PreemptMode", 11, _text("preempt_mode")),
    "flags": _f("Flags", 40, _join("flags")), "usagethres": _f("UsageThres", 10, _float("usage_threshold")),
    "usagefactor": _f("UsageFactor", 11, _float("usage_factor")),
    "grptres": _f("GrpTRES", 13, _text("grp_tres")), "grptresmins": _f("GrpTRESMins", 13),
    "grptresrunmins": _f("GrpTRESRunMins", 13), "grpjobs": _f("GrpJobs", 7), "grpsubmit": _f("GrpSubmit", 9),
    "grpwall": _f("GrpWall", 11), "maxtres": _f("MaxTRES", 13), "maxtrespernode": _f("MaxTRESPerNode", 14),
    "maxtresmins": _f("MaxTRESMins", 13), "maxwall": _f("MaxWall", 11, _minutes("max_wall")),
    "maxtrespu": _f("MaxTRESPU", 13, _text("max_tres_per_user")),
    "maxjobspu": _f("MaxJobsPU", 9, _text("max_jobs_per_user")), "maxsubmitpu": _f("MaxSubmitPU", 11),
    "maxtrespa": _f("MaxTRESPA", 13), "maxjobspa": _f("MaxJobsPA", 9), "maxsubmitpa": _f("MaxSubmitPA", 11),
    "mintres": _f("MinTRES", 13), "description": _f("Descr", 20, _text("description")),
}
QOS_ALIASES = {"maxjobsperuser": "maxjobspu", "maxtresperuser": "maxtrespu", "usagethreshold": "usagethres",
               "maxwalldurationperjob": "maxwall", "descr": "description"}
QOS_DEFAULT = ("name", "priority", "gracetime", "preempt", "preemptexempttime", "preemptmode", "flags",
               "usagethres", "usagefactor", "grptres", "grptresmins", "grptresrunmins", "grpjobs", "grpsubmit",
               "grpwall", "maxtres", "maxtrespernode", "maxtresmins", "maxwall", "maxtrespu", "maxjobspu",
               "maxsubmitpu", "maxtrespa", "maxjobspa", "maxsubmitpa", "mintres")

CLUSTER_FIELDS: dict[str, Field] = {
    "cluster": _f("Cluster", 10, _text("cluster")), "controlhost": _f("ControlHost", 15, _text("control_host")),
    "controlport": _f("ControlPort", 12, _text("control_port")), "rpc": _f("RPC", 5, _text("rpc")),
    "share": _f("Share", 9, _shares), "grpjobs": _f("GrpJobs", 7), "grptres": _f("GrpTRES", 13),
    "grpsubmit": _f("GrpSubmit", 9), "maxjobs": _f("MaxJobs", 7), "maxtres": _f("MaxTRES", 13),
    "maxsubmit": _f("MaxSubmit", 9), "maxwall": _f("MaxWall", 11), "qos": _f("QOS", 20, _join("qos")),
    "defqos": _f("Def QOS", 9, _text("default_qos")),
}
CLUSTER_DEFAULT = tuple(CLUSTER_FIELDS)


def pick_fields(spec: list[str], table: dict[str, Field], aliases: dict[str, str]) -> list[Field]:
    """format=a,b%12,c%-8 -> fields; Slurm's `Unknown field 'x'` when one is not known."""
    out = []
    for item in spec:
        name, _, width = item.partition("%")
        key = aliases.get(name.lower(), name.lower())
        if key not in table:
            matches = [k for k in table if k.startswith(key)] if key else []
            if len(matches) != 1:
                raise ShowError(f"Unknown field '{name}'")
            key = matches[0]
        field = table[key]
        if width:
            try:
                number = int(width)
            except ValueError:
                raise ShowError(f"Unknown field '{item}'") from None
            field = Field(field.header, abs(number), field.value, number < 0)
        out.append(field)
    return out


def render(fields: list[Field], rows: list[dict], *, parsable: str = "", header: bool = True) -> str:
    """The table as text; parsable is '' (columns), 'p' (trailing |) or 'P' (| between)."""
    lines = []
    if parsable:
        end = "|" if parsable == "p" else ""
        if header:
            lines.append("|".join(f.header for f in fields) + end)
        lines.extend("|".join(f.value(r) for f in fields) + end for r in rows)
    else:
        if header:
            lines.append(" ".join(title(f.header, _signed(f)) for f in fields) + " ")
            lines.append(" ".join("-" * f.width for f in fields) + " ")
        lines.extend(" ".join(cell(f.value(r), _signed(f)) for f in fields) + " " for r in rows)
    return "".join(line + "\n" for line in lines)


def _signed(field: Field) -> int:
    """print_fields' width: negative for a left-justified column."""
    return -field.width if field.left else field.width


def tree_order(assocs: list[dict]) -> list[tuple[dict, int]]:
    """(association, depth) in Slurm's order: users first, then sub-accounts, depth-first."""
    accounts = {a["account"]: a for a in assocs if not a["user"]}
    users: dict[str, list[dict]] = {}
    children: dict[str, list[str]] = {}
    for a in assocs:
        if a["user"]:
            users.setdefault(a["account"], []).append(a)
        elif a["parent_account"]:
            children.setdefault(a["parent_account"], []).append(a["account"])
    out: list[tuple[dict, int]] = []

    def walk(name: str, depth: int) -> None:
        out.append((accounts[name], depth))
        for u in sorted(users.get(name, ()), key=lambda a: (a["user"], a["partition"])):
            out.append((u, depth + 1))
        for child in sorted(children.get(name, ())):
            walk(child, depth + 1)

    roots = sorted(n for n, a in accounts.items() if not a["parent_account"] or a["parent_account"] not in accounts)
    for root in roots:
        walk(root, 0)
    return out


RPC_VERSION = 9728          # what Slurm 22.05 shows in `sacctmgr show cluster`'s RPC column


def run_show(cmd: Command, opts: Options, data: dict) -> str:
    cluster = data["cluster"]
    assocs = [a | {"cluster": cluster} for a in data["assocs"]]
    where: dict[str, set[str]] = {}
    for s in cmd.where:
        if s.key == "?":
            raise Refused(f" Unknown option: {s.raw}\n Use keyword 'where' to modify condition")
        where.setdefault(s.key, set()).update(v for v in s.value.split(",") if v)
    names = set(cmd.names) | where.pop("names", set())

    def wanted(a: dict) -> bool:
        if "accounts" in where and a["account"] not in where["accounts"]:
            return False
        if "users" in where and a["user"] not in where["users"]:
            return False
        if "partitions" in where and a["partition"] not in where["partitions"]:
            return False
        return not ("clusters" in where and cluster not in where["clusters"])

    if cmd.entity == "assoc":
        table, aliases = ASSOC_FIELDS, ASSOC_ALIASES
        fields = pick_fields(cmd.formats or list(ASSOC_DEFAULT), table, aliases)
        ordered = [(a, d) for a, d in tree_order(assocs) if wanted(a)]
        rows = []
        for a, depth in ordered:
            row = dict(a)
            if cmd.tree:
                row["account"] = " " * depth + a["account"]
            rows.append(row)
        if cmd.tree:
            fields = [Field(f.header, 20 if "%" not in _fmt_of(cmd, f) else f.width, f.value, True)
                      if f.header == "Account" else f for f in fields]
    elif cmd.entity == "account":
        table = ASSOC_FIELDS | OLD_LIMITS | ACCOUNT_FIELDS
        default = list(ACCOUNT_FIELDS) + (list(ACCOUNT_ASSOC) if cmd.with_assoc else [])
        fields = pick_fields(cmd.formats or default, table, ACCOUNT_ALIASES | ASSOC_ALIASES)
        accounts = sorted((a for a in data["accounts"] if not names or a["name"] in names), key=lambda a: a["name"])
        rows = []
        for acct in accounts:
            if not cmd.with_assoc:
                rows.append(acct)
                continue
            mine = sorted((a for a in assocs if a["account"] == acct["name"] and wanted(a)),
                          key=lambda a: (a["user"] != "", a["user"], a["partition"]))
            rows += [acct | a | {"name": acct["name"], "parent_name": "" if a["user"] else a["parent_account"]}
                     for a in mine]
    elif cmd.entity == "user":
        table = ASSOC_FIELDS | OLD_LIMITS | USER_FIELDS
        default = list(USER_FIELDS) + (list(USER_ASSOC) if cmd.with_assoc else [])
        fields = pick_fields(cmd.formats or default, table, USER_ALIASES | ASSOC_ALIASES)
        users = sorted((u for u in data["users"] if not names or u["name"] in names), key=lambda u: u["name"])
        rows = []
        for user in users:
            if not cmd.with_assoc:
                rows.append(user)
                continue
            mine = sorted((a for a in assocs if a["user"] == user["name"] and wanted(a)),
                          key=lambda a: (a["account"], a["partition"]))
            rows += [a | user for a in mine]
    elif cmd.entity == "qos":
        fields = pick_fields(cmd.formats or list(QOS_DEFAULT), QOS_FIELDS, QOS_ALIASES)
        rows = [q for q in data["qos"] if not names or q["name"] in names]
    else:
        fields = pick_fields(cmd.formats or list(CLUSTER_DEFAULT), CLUSTER_FIELDS, {})
        root = next((a for a in assocs if a["account"] == "root" and not a["user"]), {})
        rows = [{"cluster": cluster, "control_host": data.get("control_host", ""),
                 "control_port": data.get("control_port", ""), "rpc": RPC_VERSION,
                 "shares": root.get("shares", 1), "qos": root.get("qos", ()), "default_qos": root.get("default_qos")}]
        if names and cluster not in names:
            rows = []
    return render(fields, rows, parsable=opts.parsable, header=opts.header)


def _fmt_of(cmd: Command, f) -> str:
    """The format= item that produced field f ('' when defaults are used)."""
    for item in cmd.formats:
        if item.split("%")[0].lower().startswith("acc") and f.header == "Account":
            return item
    return ""
