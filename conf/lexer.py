"""Reading Slurm-style configuration files into lines of `Key=Value` pairs.

Shared by slurm.conf and gres.conf. What it handles (slurm.conf(5)):

* `#` starts a comment (outside quotes; `\\#` is a literal `#`);
* a line ending in `\\` continues on the next one;
* `Include FILE` (any case) reads FILE inline; a relative FILE is found next to the including
  file, `%c` is replaced by the cluster name seen so far; include loops are refused;
* a line holds whitespace-separated `Key=Value` pairs; a value may be double-quoted ("a b"); an apostrophe is an ordinary character.

Problems are appended to a caller-owned list as `path:line: message`, so a caller reports all of
them at once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["ConfLine", "Pair", "iter_file_lines", "iter_text_lines"]

_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_INCLUDE = re.compile(r"include\s+(.+)", re.IGNORECASE)
#: deeper than this is surely a loop the path check missed (symlinks, %c tricks)
_MAX_INCLUDE_DEPTH = 16


@dataclass(frozen=True, slots=True)
class Pair:
    key: str  # as written
    value: str


@dataclass(frozen=True, slots=True)
class ConfLine:
    path: str
    line: int
    pairs: tuple[Pair, ...]

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def iter_file_lines(
    path: str, problems: list[str], cluster_name: Callable[[], str] = lambda: "", *, where: str | None = None
) -> Iterator[ConfLine]:
    """The lines of the file at `path`; an unreadable file is a problem reported at `where`."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            text = handle.read()
    except OSError as error:
        problems.append(f"{where or path}: cannot read {path}: {error.strerror or error}")
        return
    yield from iter_text_lines(text, path, problems, cluster_name, _active=(os.path.realpath(path),))


def iter_text_lines(
    text: str,
    path: str,
    problems: list[str],
    cluster_name: Callable[[], str] = lambda: "",
    *,
    _active: tuple[str, ...] = (),
) -> Iterator[ConfLine]:
    base_dir = os.path.dirname(os.path.abspath(path)) if not path.startswith("<") else os.getcwd()
    for line_number, logical in _logical_lines(text):
        where = f"{path}:{line_number}"
        content = _strip_comment(logical).strip()
        if not content:
            continue
        if (include := _INCLUDE.fullmatch(content)) and "=" not in content.split()[0]:
            target = include.group(1).strip().replace("%c", cluster_name())
            if not os.path.isabs(target):
                target = os.path.join(base_dir, target)
            real = os.path.realpath(target)
            if real in _active or len(_active) >= _MAX_INCLUDE_DEPTH:
                problems.append(f"{where}: Include of {target} makes a loop")
                continue
            yield from _iter_included(target, problems, cluster_name, where, (*_active, real))
            continue
        pairs = _split_pairs(content, where, problems)
        if pairs:
            yield ConfLine(path, line_number, tuple(pairs))


def _iter_included(
    target: str, problems: list[str], cluster_name: Callable[[], str], where: str, active: tuple[str, ...]
) -> Iterator[ConfLine]:
    try:
        with open(target, encoding="utf-8", errors="surrogateescape") as handle:
            text = handle.read()
    except OSError as error:
        problems.append(f"{where}: cannot read included file {target}: {error.strerror or error}")
        return
    yield from iter_text_lines(text, target, problems, cluster_name, _active=active)


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, text) with `\\`-continued lines joined."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        stripped = raw.rstrip()
        if stripped.endswith("\\") and not stripped.endswith("\\\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(raw)
        yield start, " ".join(pending)
        pending = []
    if pending:
        yield start, " ".join(pending)


def _strip_comment(line: str) -> str:
    out: list[str] = []
    quote = ""
    index = 0
    while index < len(line):
        char = line[index]
        if char == "\\" and line[index + 1 : index + 2] == "#":
            out.append("#")
            index += 2
            continue
        if quote:
            if char == quote:
                quote = ""
        elif char == '"':
            quote = char
        elif char == "#":
            break
        out.append(char)
        index += 1
    return "".join(out)


def _split_pairs(content: str, where: str, problems: list[str]) -> list[Pair]:
    """`A=1 B="x y"` -> pairs; a word without `=` or an open quote is a problem."""
    pairs: list[Pair] = []
    index, length = 0, len(content)
    while index < length:
        while index < length and content[index].isspace():
            index += 1
        if index >= length:
            break
        equals = content.find("=", index)
        space = next((i for i in range(index, length) if content[i].isspace()), length)
        if equals < 0 or equals > space:
            problems.append(f"{where}: expected Key=Value, found {content[index:space]!r}")
            index = space
            continue
        key = content[index:equals]
        if not _KEY.fullmatch(key):
            problems.append(f"{where}: invalid key {key!r}")
        value_chars: list[str] = []
        index = equals + 1
        quote = ""
        while index < length:
            char = content[index]
            if quote:
                if char == quote:
                    quote = ""
                else:
                    value_chars.append(char)
            elif char == '"':
                quote = char
            elif char.isspace():
                break
            else:
                value_chars.append(char)
            index += 1
        if quote:
            problems.append(f"{where}: unmatched {quote} in value of {key}")
        pairs.append(Pair(key, "".join(value_chars)))
    return pairs
