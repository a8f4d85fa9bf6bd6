"""The view commands' (squeue, sinfo, scontrol, sacct) option scanner: their option tables as
`{long name: (key, has_arg)}` dicts, parsed by the shared getopt_long work-alike with GNU
permutation of operands (see commands/getopt.py).

    short = "hj::o:"        # letter, ':' = required value, '::' = optional (attached) value
    longs = {"noheader": ("h", 0), "jobs": ("j", 2), "format": ("o", 1)}   # name -> (key, has_arg)
    opts, operands = scan(argv, short, longs)   # opts: [(key, value or None)], raises ScanError
"""
from __future__ import annotations

from commands.getopt import GetoptError, OptionTable

ScanError = GetoptError

_tables: dict[tuple[str, int], OptionTable] = {}


def scan(argv: list[str], short: str, longs: dict[str, tuple[str, int]]):
    key = (short, id(longs))
    table = _tables.get(key)
    if table is None:
        table = OptionTable(short, [(name, has_arg, k) for name, (k, has_arg) in longs.items()])
        _tables[key] = table
    return table.parse(argv, stop_at_operand=False)
