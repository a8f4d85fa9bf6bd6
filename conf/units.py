"""Memory sizes and GRES strings, as Slurm writes them.

Memory (`--mem`, RealMemory, DefMemPerCPU, ...): an integer with an optional unit K, M, G or T
(powers of 1024, any case, an optional trailing `B` as in `1GB`); the default unit is MiB. Values
in KiB round up to whole MiB (`--mem=1025K` shows as `MinMemoryNode=2M` in Slurm 22.05).

GRES (`--gres`, a node's `Gres=`): comma-separated `name[:type][:count]`, where the count may carry
a K/M/G multiplier (powers of 1024) and a node's `Gres=` may add `no_consume`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from conf.errors import UnitError

__all__ = [
    "GresRequest",
    "UnitError",
    "format_gres",
    "format_memory_mb",
    "parse_gres",
    "parse_gres_count",
    "parse_memory_mb",
]

_MEMORY = re.compile(r"(\d+)([kmgt]?)b?", re.IGNORECASE | re.ASCII)
_KIB_PER_UNIT = {"k": 1, "m": 1024, "g": 1024**2, "t": 1024**3}
_PRINT_UNITS = ("M", "G", "T", "P")


def parse_memory_mb(text: str, default_unit: str = "M") -> int:
    """MiB in a memory size such as `4000`, `16G`, `1025K` (rounded up to 2)."""
    unit_key = default_unit.lower()
    if unit_key not in _KIB_PER_UNIT:
        raise UnitError(f"unknown default memory unit {default_unit!r}")
    match = _MEMORY.fullmatch(text)
    if match is None or (match.group(2) == "" and text[-1:] in "bB"):  # a bare "100B" is not a size
        raise UnitError(f"Invalid memory specification: {text!r}")
    unit = match.group(2).lower() or unit_key
    kib = int(match.group(1)) * _KIB_PER_UNIT[unit]
    return -(-kib // 1024)


def format_memory_mb(mb: int) -> str:
    """The largest unit that divides `mb` exactly: 4096 -> `4G`, 4000 -> `4000M`, 0 -> `0`."""
    if mb == 0:
        return "0"
    value, unit = mb, 0
    while value % 1024 == 0 and unit < len(_PRINT_UNITS) - 1:
        value //= 1024
        unit += 1
    return f"{value}{_PRINT_UNITS[unit]}"


@dataclass(frozen=True, slots=True)
class GresRequest:
    """One `name[:type]:count` item; `type` is '' when none was given."""

    name: str
    type: str
    count: int
    #: set on a node's `Gres=...:no_consume:...`: jobs may use it without using it up
    no_consume: bool = False

    def __str__(self) -> str:
        return format_gres((self,))


_GRES_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*", re.ASCII)
_GRES_COUNT = re.compile(r"(\d+)([kmg]?)", re.IGNORECASE | re.ASCII)


def parse_gres(text: str) -> tuple[GresRequest, ...]:
    """`gpu:2`, `gpu:a100:2`, `gpu` (count 1) and comma lists of them."""
    if not text:
        raise UnitError("Invalid generic resource (gres) specification: empty")
    return tuple(_parse_gres_item(item, text) for item in text.split(","))


def format_gres(requests: tuple[GresRequest, ...] | list[GresRequest]) -> str:
    """The inverse of `parse_gres`: `gpu:a100:2,mps:100`."""
    parts = []
    for request in requests:
        fields = [request.name]
        if request.type:
            fields.append(request.type)
        if request.no_consume:
            fields.append("no_consume")
        fields.append(str(request.count))
        parts.append(":".join(fields))
    return ",".join(parts)


def _parse_gres_item(item: str, text: str) -> GresRequest:
    fields = item.split(":")
    name = fields[0]
    if not _GRES_NAME.fullmatch(name):
        raise UnitError(f"Invalid generic resource (gres) specification: {text!r}: bad name {name!r}")
    no_consume = "no_consume" in fields[1:]
    rest = [field for field in fields[1:] if field != "no_consume"]
    if any(not field for field in rest) or len(rest) > 2:
        raise UnitError(f"Invalid generic resource (gres) specification: {text!r}")
    gres_type, count = "", 1
    if len(rest) == 2:
        gres_type, count = rest[0], _parse_count(rest[1], text)
    elif len(rest) == 1:
        # `gpu:2` is a count, `gpu:a100` a type
        if _GRES_COUNT.fullmatch(rest[0]):
            count = _parse_count(rest[0], text)
        else:
            gres_type = rest[0]
    if gres_type and not _GRES_NAME.fullmatch(gres_type) and not gres_type.isdigit():
        raise UnitError(f"Invalid generic resource (gres) specification: {text!r}: bad type {gres_type!r}")
    return GresRequest(name=name, type=gres_type, count=count, no_consume=no_consume)


def parse_gres_count(text: str) -> int:
    """A GRES count: a whole number with an optional K/M/G multiplier (powers of 1024)."""
    return _parse_count(text, text)


def _parse_count(field: str, text: str) -> int:
    match = _GRES_COUNT.fullmatch(field)
    if match is None:
        raise UnitError(f"Invalid generic resource (gres) specification: {text!r}: bad count {field!r}")
    multiplier = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[match.group(2).lower()]
    return int(match.group(1)) * multiplier
