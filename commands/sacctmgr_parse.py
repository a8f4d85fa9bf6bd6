"""sacctmgr's command line: options, verb, entity, names, `where` and `set` specs, and the
settings map sent to the controller (keys matched case-insensitively, as Slurm does)."""
from __future__ import annotations

from dataclasses import dataclass, field

PROG = "sacctmgr"
VERSION = "slurm-wlm 22.05.8"

ENTITY_HELP = {
    "add": ('No valid entity in add command\nInput line must include "Account", "Cluster", "Coordinator", '
            '"Federation", "QOS", "Resource", or "User"'),
    "modify": ('No valid entity in modify command\nInput line must include "Account", "Cluster", "Federation", '
               '"Job", "QOS", "Resource" or "User"'),
    "delete": ('No valid entity in delete command\nInput line must include "Account", "Cluster", "Coordinator", '
               '"Federation", "QOS", "Resource", or "User"'),
    "show": ('No valid entity in list command\nInput line must include "Account", "Association", "Cluster", '
             '"Configuration",\n"Event", "Federation", "Problem", "QOS", "Resource", "Reservation",\n'
             '"RunAwayJobs", "Stats", "Transaction", "TRES", "User", or "WCKey"'),
}
VERBS = {"add": "add", "create": "add", "modify": "modify", "update": "modify", "delete": "delete",
         "remove": "delete", "show": "show", "list": "show"}
# (canonical, full word, shortest accepted prefix)
ENTITY_WORDS = (("account", "accounts", 3), ("assoc", "associations", 3), ("user", "users", 1),
                ("qos", "qos", 1), ("cluster", "clusters", 2))
# spec keys: lower-case spelling -> canonical
KEYS = {
    "name": "names", "names": "names", "account": "accounts", "accounts": "accounts", "acct": "accounts",
    "user": "users", "users": "users", "partition": "partitions", "partitions": "partitions",
    "cluster": "clusters", "clusters": "clusters", "parent": "parent",
    "description": "description", "descr": "description", "organization": "organization", "org": "organization",
    "fairshare": "shares", "shares": "shares", "share": "shares", "priority": "priority",
    "qos": "qos", "qoslevel": "qos", "defaultqos": "default_qos", "defqos": "default_qos",
    "defaultaccount": "default_account", "defaultacct": "default_account", "adminlevel": "admin_level",
    "usagefactor": "usage_factor", "usagethreshold": "usage_threshold", "flags": "flags",
    "maxwall": "max_wall", "maxwalldurationperjob": "max_wall", "maxjobsperuser": "max_jobs_per_user",
    "maxjobspu": "max_jobs_per_user", "maxtresperuser": "max_tres_per_user", "maxtrespu": "max_tres_per_user",
    "grptres": "grp_tres", "gracetime": "grace_time", "preempt": "preempt", "preemptmode": "preempt_mode",
}
ADMIN_LEVELS = {"none": "None", "operator": "Operator", "admin": "Administrator", "administrator": "Administrator"}


class Refused(Exception):
    """Stop with these stderr lines and exit code (stdout lines print first)."""

    def __init__(self, err: str, code: int = 1, out: str = "") -> None:
        super().__init__(err)
        self.err, self.code, self.out = err, code, out


@dataclass
class Spec:
    key: str                 # canonical
    op: str                  # '=', '+=', '-='
    value: str
    raw: str


@dataclass
class Command:
    verb: str
    entity: str
    names: list[str] = field(default_factory=list)
    where: list[Spec] = field(default_factory=list)
    sets: list[Spec] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    with_assoc: bool = False
    tree: bool = False


@dataclass
class Options:
    immediate: bool = False
    header: bool = True
    parsable: str = ""       # '', 'p', 'P'
    quiet: bool = False


# ---------------------------------------------------------------- parsing
def parse_argv(argv: list[str]) -> tuple[Options, list[str]]:
    """Options may come anywhere (getopt permutes); short ones may be bundled (-iP)."""
    opts, words = Options(), []
    longs = {"--immediate": "i", "--noheader": "n", "--parsable": "p", "--parsable2": "P", "--quiet": "Q",
             "--verbose": "v", "--version": "V"}
    for arg in argv:
        if arg in longs:
            letters = longs[arg]
        elif arg.startswith("-") and len(arg) > 1 and "=" not in arg:
            letters = arg[1:]
        else:
            words.append(arg)
            continue
        for c in letters:
            if c == "i":
                opts.immediate = True
            elif c == "n":
                opts.header = False
            elif c in "pP":
                opts.parsable = c
            elif c == "Q":
                opts.quiet = True
            elif c == "v":
                pass
            elif c == "V":
                raise Refused("", 0, VERSION + "\n")
            else:
                raise Refused(f"{PROG}: invalid option -- '{c}'\nTry \"sacctmgr --help\" for more information")
    return opts, words


def _entity(word: str) -> str | None:
    low = word.lower()
    for canonical, full, shortest in ENTITY_WORDS:
        if len(low) >= shortest and full.startswith(low):
            return canonical
    if low in ("association", "assoc"):
        return "assoc"
    return None


def _spec(word: str) -> Spec | None:
    for op in ("+=", "-=", "="):
        key, sep, value = word.partition(op)
        if sep and key and "=" not in key and not key.endswith(("+", "-")):
            canonical = KEYS.get(key.lower())
            if canonical is None:
                return Spec("?", op, value, word)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            return Spec(canonical, op, value, word)
    return None


def parse_command(words: list[str]) -> Command:
    verb = VERBS.get(words[0].lower())
    if verb is None:
        raise Refused(f"invalid keyword: {words[0]}")
    entity = _entity(words[1]) if len(words) > 1 else None
    if entity is None or (verb != "show" and entity in ("assoc", "cluster")):
        raise Refused(ENTITY_HELP[verb])
    cmd = Command(verb, entity)
    section = "where" if verb in ("show", "delete") else "names"
    for word in words[2:]:
        low = word.lower()
        if low == "where":
            section = "where"
            continue
        if low == "set" and verb == "modify":
            section = "set"
            continue
        if verb == "show" and low in ("withassoc", "withassocs"):
            cmd.with_assoc = True
            continue
        if verb == "show" and low == "tree":
            cmd.tree = True
            continue
        if verb == "show" and low.startswith("format="):
            cmd.formats += [f for f in word.split("=", 1)[1].split(",") if f]
            continue
        spec = _spec(word)
        if spec is None:
            cmd.names += [n for n in word.split(",") if n]
            continue
        if spec.key == "?":
            raise Refused(f" Unknown option: {word}\n Use keyword 'where' to modify condition")
        if spec.key == "names" and section != "set":
            cmd.names += [n for n in spec.value.split(",") if n]
        elif section == "set" or (verb == "add"):
            cmd.sets.append(spec)
        else:
            cmd.where.append(spec)
    return cmd


# ---------------------------------------------------------------- settings -> wire
def _int(spec: Spec, label: str) -> int:
    try:
        return int(spec.value)
    except ValueError:
        raise Refused(f"{PROG}: error: Invalid value for {label} ({spec.value})\n"
                      f" Unknown option: {spec.raw}\n Use keyword 'where' to modify condition") from None


def settings(cmd: Command) -> tuple[dict, dict[str, str]]:
    """The `set` map for the controller, and the raw token of each key (for error lines)."""
    out: dict = {}
    raw: dict[str, str] = {}
    for s in cmd.sets:
        raw[s.key] = s.raw
        values = [v for v in s.value.split(",") if v]
        if s.key == "shares":
            out["shares"] = None if s.value.lower() == "parent" else _int(s, "FairShare")
        elif s.key == "priority":
            out["priority"] = _int(s, "Priority")
        elif s.key in ("qos", "flags"):
            suffix = {"=": "", "+=": "_add", "-=": "_remove"}[s.op]
            out[s.key + suffix] = values
        elif s.key == "accounts":
            out["accounts"] = values
        elif s.key == "partitions":
            out["partition"] = s.value
        elif s.key == "admin_level":
            level = ADMIN_LEVELS.get(s.value.lower())
            if level is not None:
                out["admin_level"] = level
        elif s.key in ("max_jobs_per_user", "grace_time"):
            out[s.key] = _int(s, s.raw.split("=")[0])
        elif s.key == "max_wall":
            from conf.timefmt import TimeFormatError, parse_minutes
            try:
                out["max_wall"] = parse_minutes(s.value)
            except TimeFormatError:
                raise Refused(f" Bad MaxWall time format: {s.value}") from None
        elif s.key in ("usage_factor", "usage_threshold"):
            try:
                out[s.key] = float(s.value)
            except ValueError:
                raise Refused(f" Unknown option: {s.raw}\n Use keyword 'where' to modify condition") from None
        elif s.key == "preempt_mode":
            out[s.key] = s.value.lower()
        elif s.key == "preempt":
            out[s.key] = values
        elif s.key in ("names", "users", "clusters"):
            continue
        else:
            out[s.key] = s.value
    return out, raw


def where_map(cmd: Command) -> dict:
    where: dict = {"names": list(cmd.names)}
    for s in cmd.where:
        values = [v for v in s.value.split(",") if v]
        if s.key in ("names", "users") and cmd.entity == "user" or s.key == "names":
            where["names"] += values
        elif s.key in ("accounts", "users", "partitions", "clusters"):
            where.setdefault(s.key, []).extend(values)
        else:
            raise Refused(f" Unknown option: {s.raw}\n Use keyword 'where' to modify condition")
    if cmd.entity == "account" and "accounts" in where:
        where["names"] += where.pop("accounts")
    return where
