"""Slurm's print_fields cells, as sacct, sshare and sacctmgr lay out their columns.

A width is negative for a left-justified column. A value wider than its column is cut and ends
in `+`; a header is cut without the mark (observed on Slurm 22.05 here: `sshare -o
Account%5,RawUsage%3` printed `Accou`/` anc+` and `Raw`).
"""
from __future__ import annotations


def cell(value: str, width: int) -> str:
    size = abs(width)
    if len(value) > size:
        value = value[:size - 1] + "+" if size > 0 else ""
    return value.ljust(size) if width < 0 else value.rjust(size)


def title(value: str, width: int) -> str:
    size = abs(width)
    value = value[:size]
    return value.ljust(size) if width < 0 else value.rjust(size)
