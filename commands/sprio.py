"""sprio: the pending jobs' priority factors, as Slurm 22.05 prints them.

The controller's `priorities` op returns, per pending job and partition, the normalised factors
and their weighted values (solver.priority.priority_factors) plus the configured weights. This
module only lays them out. Layouts observed on the real Slurm 22.05 here (`sprio`, `sprio -l`,
`sprio -n`, `sprio -w`, `sprio -o ...`; goldens in tests/commands/test_sprio.py):
- default: `%.15i %9r [%.8u] %.10Y %.10S` then `%.10A %.10B %.10F %.10J %.10P %.10Q %.20T` for
  the factors whose weight is non-zero (USER only with -u); `-l` shows every factor plus USER and
  NICE; `-n` swaps in the normalised letters with left-justified 10-wide columns.
- a cell is its text cut to the width; `.` right-justifies, as in squeue.
- weighted values print rounded to integers, normalised factors with 7 decimals, the normalised
  priority (priority / 2^32-1) with 14.
"""
from __future__ import annotations

import sys

from commands.optscan import ScanError, scan

PROG = "sprio"
VERSION = "slurm-wlm 22.05.8"
PRIORITY_MAX = 2**32 - 1

SHORT = "hj:lM:no:p:S:u:vVw"
LONGS = {
    "noheader": ("h", 0), "jobs": ("j", 1), "long": ("l", 0), "cluster": ("M", 1),
    "clusters": ("M", 1), "norm": ("n", 0), "format": ("o", 1), "partition": ("p", 1),
    "sort": ("S", 1), "user": ("u", 1), "usage": ("usage", 0), "verbose": ("v", 0),
    "version": ("V", 0), "weights": ("w", 0), "help": ("help", 0), "federation": ("fed", 0),
    "local": ("local", 0), "sibling": ("sibling", 0),
}

USAGE = """Usage: sprio [-j jid[s]] [-u user_name[s]] [-o format] [-p partitions]
   [--federation] [--local] [--sibling] [--usage] [-hlnvVw]
"""

HELP = """Usage: sprio [OPTIONS]
  -h, --noheader      no headers on output
  -j, --jobs          comma separated list of jobs
                      to view, default is all
  -l, --long          long report
  -M, --cluster=cluster_name  cluster to issue commands to.  Default is
                      current cluster.  cluster with no name will
                      reset to default.
  -n, --norm          display normalized values
  -o, --format=format format specification
  -p, --partition=partition_name  comma separated list of partitions
  -S, --sort=fields   comma separated list of fields to sort on
  -u, --user=user_name comma separated list of users to view
  -v, --verbose       display more verbose output
  -V, --version       display current version number
  -w, --weights       show the weights for each priority factor

Help options:
  --help              show this help message
  --usage             display a brief summary of sprio options
"""

# letter -> (header, kind, factor key)
FIELDS = {
    "a": ("AGE", "norm", "age"), "A": ("AGE", "weighted", "age"),
    "b": ("ASSOC", "norm", "assoc"), "B": ("ASSOC", "weighted", "assoc"),
    "c": ("CLUSTER", "cluster", ""),
    "f": ("FAIRSHARE", "norm", "fairshare"), "F": ("FAIRSHARE", "weighted", "fairshare"),
    "i": ("JOBID", "jobid", ""),
    "j": ("JOBSIZE", "norm", "job_size"), "J": ("JOBSIZE", "weighted", "job_size"),
    "N": ("NICE", "nice", ""),
    "p": ("PARTITION", "norm", "partition"), "P": ("PARTITION", "weighted", "partition"),
    "q": ("QOS", "norm", "qos"), "Q": ("QOS", "weighted", "qos"),
    "r": ("PARTITION", "partition_name", ""),
    "S": ("SITE", "site", ""),
    "t": ("TRES", "tres_norm", ""), "T": ("TRES", "tres", ""),
    "u": ("USER", "user", ""),
    "y": ("PRIORITY", "priority_norm", ""), "Y": ("PRIORITY", "priority", ""),
}

# weight key of each optional factor column, in the default layout's order
_OPTIONAL = (("A", "age"), ("B", "assoc"), ("F", "fairshare"), ("J", "job_size"),
             ("P", "partition"), ("Q", "qos"))


class UsageError(Exception):
    pass


def default_format(weights: dict, tres_weights: list, *, long: bool, norm: bool, user: bool) -> str:
    if norm:
        parts = ["%.15i", "%9r"]
        if long or user:
            parts.append("%.8u")
        parts.append("%10y")
        for letter, key in _OPTIONAL:
            if long or weights.get(key):
                parts.append(f"%10{letter.lower()}")
        if long or tres_weights:
            parts.append("%20t")
        return " ".join(parts)
    parts = ["%.15i", "%9r"]
    if long or user:
        parts.append("%.8u")
    parts += ["%.10Y", "%.10S"]
    for letter, key in _OPTIONAL:
        if long or weights.get(key):
            parts.append(f"%.10{letter}")
    if long:
        parts.append("%.11N")
    if long or tres_weights:
        parts.append("%.20T")
    return " ".join(parts)


def parse_format(text: str) -> list[tuple[str, str, int | None, bool]]:
    """`%.15i %9r` -> [(prefix text, letter, width, right_justify)], Slurm's rules; unknown
    letters raise UsageError with sprio's message (printed, then skipped)."""
    out: list[tuple[str, str, int | None, bool]] = []
    i, literal = 0, ""
    while i < len(text):
        ch = text[i]
        if ch != "%":
            literal += ch
            i += 1
            continue
        i += 1
        right = False
        if i < len(text) and text[i] == ".":
            right = True
            i += 1
        digits = ""
        while i < len(text) and text[i].isdigit():
            digits += text[i]
            i += 1
        if i >= len(text):
            break
        letter = text[i]
        i += 1
        if letter not in FIELDS:
            sys.stderr.write(f"{PROG}: error: Invalid job format specification: {letter}\n")
            continue
        out.append((literal, letter, int(digits) if digits else None, right))
        literal = ""
    if literal:
        out.append((literal, "", None, False))
    return out


def _cell(text: str, width: int | None, right: bool) -> str:
    if width is None:
        return text
    text = text[:width]
    return text.rjust(width) if right else text.ljust(width)


def _value(row: dict, letter: str, weights_row: bool, report: dict) -> str:
    header, kind, key = FIELDS[letter]
    if weights_row:
        weights = report["weights"]
        if kind in ("norm", "weighted"):
            return str(int(weights.get(key, 0)))
        if kind == "site":
            return "1"
        if kind == "jobid":
            return "Weights"
        if kind in ("tres", "tres_norm"):
            return ",".join(f"{k.upper() if k in ('cpu', 'mem') else k}={int(v)}"
                            for k, v in report.get("tres_weights") or [])
        return ""
    if kind == "jobid":
        return str(row["job_id"])
    if kind == "partition_name":
        return row["partition"]
    if kind == "user":
        return row["user"]
    if kind == "cluster":
        return report.get("cluster") or "(null)"
    if kind == "nice":
        return str(row["nice"])
    if kind == "site":
        return f"{row['weighted'].get('site', 0):.0f}"
    if kind == "priority":
        return str(row["priority"])
    if kind == "priority_norm":
        return f"{row['priority'] / PRIORITY_MAX:.14f}"
    if kind == "norm":
        return f"{row['normalised'].get(key, 0.0):.7f}"
    if kind == "weighted":
        return f"{row['weighted'].get(key, 0.0):.0f}"
    weights = dict(report.get("tres_weights") or [])
    if kind == "tres":
        return ",".join(f"{name}={weights.get(name, 0) * value:.0f}"
                        for name, value in row.get("tres") or [] if weights.get(name))
    return ",".join(f"{name}={value:.2f}" for name, value in row.get("tres") or [])


def render(report: dict, fmt: str, *, header: bool, weights_only: bool) -> str:
    fields = parse_format(fmt)
    lines = []
    if header:
        lines.append("".join(
            prefix + (_cell(FIELDS[letter][0], width, right) if letter else "")
            for prefix, letter, width, right in fields))
    rows = [None] if weights_only else report["jobs"]
    for row in rows:
        lines.append("".join(
            prefix + (_cell(_value(row or {}, letter, row is None, report), width, right)
                      if letter else "")
            for prefix, letter, width, right in fields))
    return "".join(line + "\n" for line in lines)


def _sort(rows: list[dict], spec: str) -> list[dict]:
    keys = {"i": lambda r: r["job_id"], "r": lambda r: r["partition"], "u": lambda r: r["user"],
            "y": lambda r: r["priority"], "Y": lambda r: r["priority"],
            "N": lambda r: r["nice"]}
    for kind in ("a", "b", "f", "j", "p", "q"):
        keys[kind] = (lambda k: lambda r: r["normalised"].get(k, 0.0))(FIELDS[kind][2])
        keys[kind.upper()] = keys[kind]
    out = sorted(rows, key=lambda r: (r["job_id"], r["partition"]))
    for item in reversed([s for s in spec.split(",") if s]):
        descending = item.startswith("-")
        letter = item.lstrip("+-")
        if letter not in keys:
            raise UsageError(f"Invalid sort specification: {item}")
        out.sort(key=keys[letter], reverse=descending)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        pairs, operands = scan(argv, SHORT, LONGS)
    except ScanError as exc:
        sys.stderr.write(f"{PROG}: {exc.text}\nTry \"{PROG} --help\" for more information\n")
        return 1
    header, long, norm, weights_only = True, False, False, False
    fmt = sort = None
    job_ids: list[int] | None = None
    users: list[str] | None = None
    partitions: list[str] | None = None
    for key, value in pairs:
        if key == "V":
            sys.stdout.write(VERSION + "\n")
            return 0
        if key == "help":
            sys.stdout.write(HELP)
            return 0
        if key == "usage":
            sys.stdout.write(USAGE)
            return 0
        if key == "h":
            header = False
        elif key == "l":
            long = True
        elif key == "n":
            norm = True
        elif key == "w":
            weights_only = True
        elif key == "o":
            fmt = value
        elif key == "S":
            sort = value
        elif key == "u":
            users = [u for u in (value or "").split(",") if u]
        elif key == "p":
            partitions = [p for p in (value or "").split(",") if p]
        elif key == "j":
            job_ids = []
            for item in (value or "").split(","):
                if not item:
                    continue
                if not item.isdigit() or int(item) == 0:
                    sys.stderr.write(f"{PROG}: error: Invalid job id: {item}\n")
                    return 1
                job_ids.append(int(item))
    if operands:
        sys.stderr.write(f"{PROG}: error: Unrecognized option: {operands[0]}\n")
        sys.stdout.write(USAGE)
        return 1
    from commands.ask import ask
    report, reason = ask("priorities")
    if report is None:
        sys.stderr.write(f"slurm_load_job: {reason}\n")
        return 1
    if report.get("priority_type") == "priority/basic":
        sys.stderr.write("You are not running a supported priority plugin\n(priority/basic).\n"
                         "Only 'priority/multifactor' is supported.\n")
        return 1
    rows = report["jobs"]
    if job_ids is not None:
        rows = [r for r in rows if r["job_id"] in job_ids]
    if users is not None:
        rows = [r for r in rows if r["user"] in users]
    if partitions is not None:
        rows = [r for r in rows if r["partition"] in partitions]
    try:
        rows = _sort(rows, sort or "")
    except UsageError as exc:
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return 1
    if job_ids and not rows and not weights_only:
        sys.stdout.write("Unable to find jobs matching user/id(s) specified\n")
        return 0
    report = dict(report, jobs=rows)
    layout = fmt or default_format(report["weights"], report.get("tres_weights") or [], long=long,
                                   norm=norm, user=users is not None)
    from commands.output import write_stdout
    write_stdout(render(report, layout, header=header, weights_only=weights_only))
    return 0


if __name__ == "__main__":
    sys.exit(main())
