"""Slurm hostlist expressions: expand `n[1-3,7]` into names and compress names back.

Behaviour checked against Slurm 22.05 (`scontrol show hostnames EXPR`, `scontrol show hostlistsorted
NAMES`):

* a list is names and/or `prefix[ranges]` separated by commas or whitespace; empty items are skipped;
* several bracket groups form a Cartesian product, the first group varying slowest
  (`rack[0-1]_b[0-2]`); text after the last bracket group is rejected, as Slurm does (`n[1-3]x`);
* a range's width is the width of its low bound: `gpu[01-04]` gives `gpu01..gpu04`, `n[9-010]`
  gives `n9 n10`; one range may hold at most 65536 hosts;
* compressing sorts and de-duplicates, then merges consecutive numbers whose printed width agrees:
  `n1,n2,n3,n10` -> `n[1-3,10]`, `n09,n10` -> `n[09-10]`, `n1,n01` -> `n[1,01]`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

from conf.errors import HostlistError

__all__ = ["HostlistError", "compress_hostlist", "expand_hostlist", "sort_hostnames"]

#: Slurm refuses a single range of more hosts than this ("Too many hosts in range")
MAX_RANGE_HOSTS = 65536
#: a guard against expressions like `n[0-65535][0-65535]` exhausting memory
MAX_EXPANDED_HOSTS = 1 << 20

_RANGE_ITEM = re.compile(r"(\d+)(?:-(\d+))?")
_TRAILING_NUMBER = re.compile(r"(.*?)(\d+)")
_SEPARATORS = frozenset(", \t\n\r")


def expand_hostlist(expr: str) -> list[str]:
    """Every host name `expr` denotes, in order, duplicates kept (as `scontrol show hostnames`)."""
    names: list[str] = []
    for word in _split_top_level(expr):
        names.extend(_expand_word(word, expr))
        if len(names) > MAX_EXPANDED_HOSTS:
            raise HostlistError(f"Invalid hostlist: {expr}: more than {MAX_EXPANDED_HOSTS} hosts")
    return names


def compress_hostlist(names: Iterable[str]) -> str:
    """The sorted, de-duplicated, ranged form Slurm prints: `b[1-3],c1,d[1-5],e1`."""
    parsed = {_split_name(name) for name in names}
    ordered = sorted(parsed, key=_sort_key)
    pieces: list[str] = []
    for (prefix, has_number), group_iter in itertools.groupby(ordered, key=lambda p: (p[0], p[1] is not None)):
        group = list(group_iter)
        if not has_number:
            pieces.extend(prefix for _ in group)  # a plain name; groupby merged equal prefixes only
            continue
        if len(group) == 1:
            pieces.append(prefix + str(group[0][1]))
            continue
        pieces.append(f"{prefix}[{_format_ranges([digits for _, digits in group])}]")
    return ",".join(pieces)


def sort_hostnames(names: Iterable[str]) -> list[str]:
    """De-duplicated names in Slurm's hostlist order (the order `expand(compress(names))` gives)."""
    return [prefix + (digits or "") for prefix, digits in sorted({_split_name(n) for n in names}, key=_sort_key)]


# --- expansion -------------------------------------------------------------------------------


def _split_top_level(expr: str) -> list[str]:
    """Split at commas and whitespace that are outside brackets."""
    words: list[str] = []
    current: list[str] = []
    depth = 0
    for char in expr:
        if char == "[":
            if depth:
                raise HostlistError(f"Invalid hostlist: {expr}: nested '['")
            depth = 1
        elif char == "]":
            if not depth:
                raise HostlistError(f"Invalid hostlist: {expr}: ']' without '['")
            depth = 0
        elif char in _SEPARATORS and not depth:
            if current:
                words.append("".join(current))
                current = []
            continue
        current.append(char)
    if depth:
        raise HostlistError(f"Invalid hostlist: {expr}: '[' without ']'")
    if current:
        words.append("".join(current))
    return words


def _expand_word(word: str, expr: str) -> list[str]:
    """One comma-free item: literal text and bracket groups, expanded as a product."""
    choices: list[list[str]] = []
    position = 0
    while (open_at := word.find("[", position)) >= 0:
        close_at = word.index("]", open_at)  # balanced: checked by _split_top_level
        choices.append([word[position:open_at]])
        choices.append(_expand_ranges(word[open_at + 1 : close_at], expr))
        position = close_at + 1
    total = 1
    for options in choices:
        total *= len(options)
    if total > MAX_EXPANDED_HOSTS:
        raise HostlistError(f"Invalid hostlist: {expr}: more than {MAX_EXPANDED_HOSTS} hosts")
    tail = word[position:]
    if choices and tail:
        # Slurm 22.05: `n[1-3]x` is "Invalid hostlist" while `n[1-2]x[3]` is fine
        raise HostlistError(f"Invalid hostlist: {expr}: text {tail!r} after the last range")
    choices.append([tail])
    return ["".join(parts) for parts in itertools.product(*choices)]


def _expand_ranges(body: str, expr: str) -> list[str]:
    numbers: list[str] = []
    for item in body.split(","):
        match = _RANGE_ITEM.fullmatch(item)
        if match is None:
            raise HostlistError(f"Invalid hostlist: {expr}: invalid range {item!r}")
        low_text, high_text = match.group(1), match.group(2)
        low = int(low_text)
        high = low if high_text is None else int(high_text)
        if high < low:
            raise HostlistError(f"Invalid hostlist: {expr}: invalid range {item!r}")
        if high - low + 1 > MAX_RANGE_HOSTS:
            raise HostlistError(f"Invalid hostlist: {expr}: too many hosts in range {item!r}")
        width = len(low_text)
        numbers.extend(f"{value:0{width}d}" for value in range(low, high + 1))
    return numbers


# --- compression -----------------------------------------------------------------------------


def _split_name(name: str) -> tuple[str, str | None]:
    """(prefix, trailing digits or None); only a trailing number takes part in ranges."""
    if not name or any(char in _SEPARATORS or char in "[]" for char in name):
        raise HostlistError(f"Invalid host name: {name!r}")
    match = _TRAILING_NUMBER.fullmatch(name)
    if match is None:
        return name, None
    return match.group(1), match.group(2)


def _sort_key(parsed: tuple[str, str | None]) -> tuple[str, int, int, int]:
    prefix, digits = parsed
    if digits is None:
        return prefix, 0, 0, 0
    # numbers of the same printed width sort together, which keeps zero-padded names apart
    return prefix, 1, len(digits), int(digits)


def _format_ranges(digit_strings: list[str]) -> str:
    """`["1","2","3","10"]` -> `"1-3,10"`; the input is sorted by (width, value)."""
    ranges: list[tuple[str, int, int]] = []  # (low text, low value, high value)
    for digits in digit_strings:
        value = int(digits)
        if ranges:
            low_text, low, high = ranges[-1]
            # a number joins the run if it follows it and prints the same at the run's width
            if value == high + 1 and f"{value:0{len(low_text)}d}" == digits:
                ranges[-1] = (low_text, low, value)
                continue
        ranges.append((digits, value, value))
    parts = []
    for low_text, low, high in ranges:
        width = len(low_text)
        parts.append(low_text if low == high else f"{low_text}-{high:0{width}d}")
    return ",".join(parts)
