"""sshare: the fair-share tree (shares, usage, factors) as Slurm 22.05 prints it.

Rows come from the controller's `shares` op (slurmctld_py/priority_views.share_report, computed
by solver.fairshare). Layout observed on the real Slurm 22.05 here (`sshare`, `-a`, `-l`, `-P`,
`-p`, `-n`, `-U`, `-A`, `-u`, `-m`, `-o`; goldens in tests/commands/test_sshare.py):
- Account is indented one space per level below the first row shown; `-U` drops account rows
  and the indentation; without `-a` only the caller's own user rows are listed (every account
  row is); `-A` shows the named accounts' subtrees; `-u` keeps only those users' rows.
- columns are print_fields cells: a value wider than its column ends in `+`, a header is cut.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field

from commands.optscan import ScanError, scan
from commands.printfields import cell, title

PROG = "sshare"
VERSION = "slurm-wlm 22.05.8"

SHORT = "aA:ehlmM:no:pPu:UvV"
LONGS = {
    "all": ("a", 0), "accounts": ("A", 1), "helpformat": ("e", 0), "long": ("l", 0),
    "partition": ("m", 0), "cluster": ("M", 1), "clusters": ("M", 1), "noheader": ("n", 0),
    "format": ("o", 1), "parsable": ("p", 0), "parsable2": ("P", 0), "users": ("u", 1),
    "Users": ("U", 0), "verbose": ("v", 0), "version": ("V", 0), "help": ("help", 0),
    "usage": ("help", 0),
}

HELP = """\
Usage:  sshare [OPTION]                                                    
  Valid OPTIONs are:                                                       
    -a or --all            list all users                                  
    -A or --accounts=      display specific accounts (comma separated list)
    -e or --helpformat     Print a list of fields that can be specified    
                           with the '--format' option                      
    -l or --long           include normalized usage in output              
    -m or --partition      print the partition part of the association     
    -M or --cluster=names  clusters to issue commands to.                  
                           NOTE: SlurmDBD must be up.                      
    -n or --noheader       omit header from output                         
    -o or --format=        Comma separated list of fields (use             
                           "--helpformat" for a list of available fields).
    -p or --parsable       '|' delimited output with a trailing '|'        
    -P or --parsable2      '|' delimited output without a trailing '|'     
    -u or --users=         display specific users (comma separated list)   
    -U or --Users          display only user information                   
    -v or --verbose        display more information                        
    -V or --version        display tool version number                     
          --help           display this usage description                  
          --usage          display this usage description                  
                                                                           

"""

HELPFORMAT = """\
Account           Cluster           EffectvUsage      FairShare        
GrpTRESMins       GrpTRESRaw        ID                LevelFS          
NormShares        NormUsage         Partition         RawShares        
RawUsage          TRESRunMins       User             
"""

_TRES_ZERO = "cpu=0,mem=0,energy=0,node=0,billing=0,fs/disk=0,vmem=0,pages=0"


def _f6(value) -> str:
    return "" if value is None else f"{value:.6f}"


# lower-case name -> (title, default width (negative = left-justified), cell)
FIELDS = {
    "account": ("Account", -20, lambda r, o: " " * r["indent"] + r["account"]),
    "cluster": ("Cluster", 10, lambda r, o: o["cluster"]),
    "effectvusage": ("EffectvUsage", 13, lambda r, o: _f6(r["effective_usage"])),
    "fairshare": ("FairShare", 10, lambda r, o: _f6(r["fairshare"]) if r["user"] else ""),
    "grptresmins": ("GrpTRESMins", 30, lambda r, o: ""),
    "grptresraw": ("GrpTRESRaw", 30, lambda r, o: _TRES_ZERO),
    "id": ("ID", 6, lambda r, o: str(r.get("id", ""))),
    "levelfs": ("LevelFS", 10, lambda r, o: (
        "" if r["level_fs"] is None or not o["fair_tree"] else
        "inf" if r["level_fs"] == "inf" else f"{r['level_fs']:.6f}")),
    "normshares": ("NormShares", 11, lambda r, o: _f6(r["norm_shares"])),
    "normusage": ("NormUsage", 11, lambda r, o: _f6(r["norm_usage"])),
    "partition": ("Partition", 12, lambda r, o: r.get("partition", "")),
    "rawshares": ("RawShares", 10, lambda r, o: "" if r["raw_shares"] is None else str(r["raw_shares"])),
    "rawusage": ("RawUsage", 11, lambda r, o: str(int(r["raw_usage"]))),
    "tresrunmins": ("TRESRunMins", 30, lambda r, o: r.get("tres_run_mins") or _TRES_ZERO),
    "user": ("User", 10, lambda r, o: r["user"]),
}

DEFAULT = ["account", "user", "rawshares", "normshares", "rawusage", "effectvusage", "fairshare"]
LONG = ["account", "user", "rawshares", "normshares", "rawusage", "normusage", "effectvusage",
        "fairshare", "levelfs", "grptresmins", "tresrunmins"]


class UsageError(Exception):
    """A refused command line: printed after `sshare: ` and `prefix` (`error: ` by default)."""

    def __init__(self, text: str, prefix: str = "error: ") -> None:
        super().__init__(text)
        self.prefix = prefix


def parse_format(text: str) -> list[tuple[str, int]]:
    out = []
    for item in (p.strip() for p in text.split(",")):
        if not item:
            continue
        name, _, size = item.partition("%")
        key = name.lower()
        if key not in FIELDS:
            raise UsageError(f'Invalid field requested: "{key}"')
        width = FIELDS[key][1]
        if size:
            try:
                given = int(size)
            except ValueError:
                raise UsageError(f'Invalid field requested: "{key}"') from None
            width = given   # as Slurm: a given size right-justifies unless it is negative
        out.append((key, width))
    return out


def select_rows(rows: list[dict], *, all_users: bool, me: str, accounts: list[str] | None,
                users: list[str] | None, users_only: bool) -> list[dict]:
    """Slurm's row selection, with each kept row's indentation."""
    out = []
    if accounts is not None:
        keep = []
        i = 0
        while i < len(rows):
            row = rows[i]
            if not row["user"] and row["account"] in accounts:
                base = row["depth"]
                keep.append(dict(row, indent=0))
                i += 1
                while i < len(rows) and rows[i]["depth"] > base:
                    keep.append(dict(rows[i], indent=rows[i]["depth"] - base))
                    i += 1
                continue
            i += 1
    else:
        keep = [dict(r, indent=r["depth"]) for r in rows]
    for row in keep:
        if row["user"]:
            if users is not None:
                if row["user"] not in users:
                    continue
            elif not all_users and accounts is None and row["user"] != me:
                continue
        elif users_only:
            continue
        if users_only:
            row = dict(row, indent=0)
        out.append(row)
    return out


def render(rows: list[dict], fields: list[tuple[str, int]], opts: dict, *, header: bool,
           parsable: int) -> str:
    lines = []
    if parsable:
        tail = "|" if parsable == 1 else ""
        if header:
            lines.append("|".join(FIELDS[k][0] for k, _ in fields) + tail)
        for row in rows:
            lines.append("|".join(FIELDS[k][2](row, opts) for k, _ in fields) + tail)
    else:
        if header:
            lines.append("".join(title(FIELDS[k][0], w) + " " for k, w in fields))
            lines.append("".join("-" * abs(w) + " " for _, w in fields))
        for row in rows:
            lines.append("".join(cell(FIELDS[k][2](row, opts), w) + " " for k, w in fields))
    return "".join(line + "\n" for line in lines)


@dataclass
class Options:
    all_users: bool = False
    long: bool = False
    partition: bool = False
    users_only: bool = False
    header: bool = True
    parsable: int = 0                   # 1: -p (trailing |), 2: -P
    fmt: str | None = None
    accounts: list[str] | None = None
    users: list[str] | None = None
    fields: list[tuple[str, int]] = field(default_factory=list)
    stdout: str = ""                    # --help/-V/-e: print this and stop


def parse_options(argv: list[str]) -> Options:
    """sshare's command line; UsageError (with Slurm's line) for what it refuses."""
    try:
        pairs, operands = scan(argv, SHORT, LONGS)
    except ScanError as exc:
        raise UsageError(f"{exc.text}\nTry \"{PROG} --help\" for more information", prefix="") from None
    opts = Options()
    for key, value in pairs:
        if key in ("V", "help", "e"):
            opts.stdout = {"V": VERSION + "\n", "help": HELP, "e": HELPFORMAT}[key]
            return opts
        if key == "a":
            opts.all_users = True
        elif key == "A":
            opts.accounts = [a for a in (value or "").split(",") if a]
        elif key == "l":
            opts.long = True
        elif key == "m":
            opts.partition = True
        elif key == "n":
            opts.header = False
        elif key == "o":
            opts.fmt = value
        elif key == "p":
            opts.parsable = 1
        elif key == "P":
            opts.parsable = 2
        elif key == "u":
            opts.users = [u for u in (value or "").split(",") if u]
            if opts.users == ["-1"] or "all" in opts.users:
                opts.users, opts.all_users = None, True
        elif key == "U":
            opts.users_only = True
    if operands:
        raise UsageError(f"Unrecognized option: {operands[0]}")
    if opts.fmt:
        opts.fields = parse_format(opts.fmt)
    else:
        names = list(LONG if opts.long else DEFAULT)
        if opts.partition:
            names.insert(2, "partition")
        opts.fields = [(n, FIELDS[n][1]) for n in names]
    return opts


def report_text(opts: Options, report: dict, me: str) -> str:
    """The `shares` op's reply laid out as sshare prints it for user `me`."""
    rows = select_rows(report["rows"], all_users=opts.all_users, me=me, accounts=opts.accounts,
                       users=opts.users, users_only=opts.users_only)
    cells = {"cluster": report.get("cluster") or "", "fair_tree": report.get("fair_tree", True)}
    fields = opts.fields
    if opts.long and not opts.fmt and not cells["fair_tree"]:
        fields = [f for f in fields if f[0] != "levelfs"]   # LevelFS is Fair Tree's alone
    return render(rows, fields, cells, header=opts.header, parsable=opts.parsable)


def main(argv: list[str] | None = None) -> int:
    try:
        opts = parse_options(sys.argv[1:] if argv is None else argv)
    except UsageError as exc:
        sys.stderr.write(f"{PROG}: {exc.prefix}{exc}\n")
        return 1
    if opts.stdout:
        sys.stdout.write(opts.stdout)
        return 0
    from commands.ask import ask
    from sdk.client import current_user_name
    report, reason = ask("shares")
    if report is None:
        sys.stderr.write(f"{PROG}: error: {reason}\n")
        return 1
    from commands.output import write_stdout
    write_stdout(report_text(opts, report, current_user_name()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
