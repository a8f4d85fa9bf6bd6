"""The `%[.][size]x` output-format machinery shared by squeue and sinfo.

Observed on Slurm 22.05 (squeue -o "%.3i|%3M|...", sinfo -o "%.3P|..."):
* `.` right-justifies; no `.` left-justifies; no size (or size 0) prints the natural width;
* a value longer than its size is cut with no marker, except that the time fields (squeue %M %l
  %L) are never cut when right-justified;
* headers are cut the same way, except the node-list headers (`NODELIST(REASON)`, `NODELIST`)
  when right-justified;
* the text after the first `%` is split at every `%`, empty pieces skipped (so `%%` prints
  nothing); an unknown letter is printed as given and reported
  (`Invalid job format specification: X`);
* sinfo's `#` size means "as wide as the widest value, at least 9" (resolved by the caller).
"""
from __future__ import annotations

HASH_WIDTH = -1  # a field whose width is the widest value's (sinfo `%#P`)


def parse(fmt: str, known: str | dict) -> tuple[list, list[str]]:
    """Split a format into literal strings and (code, width, right) fields.
    Returns (items, unknown) where unknown lists the letters that were not field codes.

    Slurm splits the text after the first `%` at every `%` and skips empty pieces (strtok), so
    `%%` prints nothing and `%i%%%j` is `%i%j`; each piece is `[.][size|#]<code><literal text>`.
    A piece without a known code is printed as written (with its `%`) and reported."""
    items: list = []
    unknown: list[str] = []
    first = fmt.find("%")
    if first < 0:
        return ([fmt] if fmt else []), unknown
    literal: list[str] = [fmt[:first]] if first else []
    for piece in fmt[first + 1:].split("%"):
        if not piece:
            continue
        i, n = 0, len(piece)
        right = False
        if piece[0] == ".":
            right = True
            i = 1
        width = 0
        if i < n and piece[i] == "#":
            width = HASH_WIDTH
            i += 1
        else:
            start = i
            while i < n and piece[i].isdigit():
                i += 1
            if i > start:
                width = int(piece[start:i])
        code = piece[i] if i < n else ""
        if not code or code not in known:
            unknown.append(code)
            literal.append("%" + piece)
            continue
        if literal:
            items.append("".join(literal))
            literal = []
        items.append((code, width, right))
        if piece[i + 1:]:
            literal.append(piece[i + 1:])
    if literal:
        items.append("".join(literal))
    return items, unknown


def fit(value: str, width: int, right: bool, cut: bool = True) -> str:
    """One cell: cut (unless told not to, which only applies right-justified) and pad."""
    if width <= 0:
        return value
    if right:
        if cut and len(value) > width:
            value = value[:width]
        return value.rjust(width)
    return value[:width].ljust(width)


def render(items: list, cells: dict, nocut: frozenset | set = frozenset()) -> str:
    """One line from the parsed items and a code -> text mapping."""
    out = []
    for item in items:
        if type(item) is str:
            out.append(item)
        else:
            code, width, right = item
            out.append(fit(cells[code], width, right, code not in nocut))
    return "".join(out)


def header(items: list, titles: dict, nocut_header: frozenset | set = frozenset()) -> str:
    out = []
    for item in items:
        if type(item) is str:
            out.append(item)
        else:
            code, width, right = item
            out.append(fit(titles[code], width, right, not (right and code in nocut_header)))
    return "".join(out)


def resolve_hash_widths(items: list, rows: list[dict], minimum: int = 9) -> list:
    """Replace `#` widths by the widest value of that field across rows (at least `minimum`)."""
    out = []
    for item in items:
        if type(item) is not str and item[1] == HASH_WIDTH:
            code = item[0]
            widest = max((len(r[code]) for r in rows), default=0)
            item = (code, max(minimum, widest), item[2])
        out.append(item)
    return out
