"""A small getopt_long work-alike for the view commands (squeue, sinfo, scontrol, sacct).

Why not argparse: squeue runs in shell loops and must start in a few milliseconds; argparse (and
the stdlib `getopt`, which pulls in gettext and re) cost more than the whole command may. This
scanner does what glibc's getopt_long does for users: bundled short options (`-hl`), attached
values (`-j123`, `-ofmt`), `--opt=value` and `--opt value`, unambiguous prefixes of long options
(`--part=gpu`), optional arguments (`::`, only attached), permutation of operands, and `--`.
Errors are returned as glibc's exact words, so each command prints them with its own name.

    short = "hj::o:"        # letter, ':' = required value, '::' = optional (attached) value
    longs = {"noheader": ("h", 0), "jobs": ("j", 2), "format": ("o", 1)}   # name -> (key, has_arg)
    opts, operands = scan(argv, short, longs)   # opts: [(key, value or None)], raises ScanError
"""
from __future__ import annotations


class ScanError(Exception):
    """Bad command line; `text` is glibc's message without the program name prefix."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _short_table(short: str) -> dict[str, int]:
    table: dict[str, int] = {}
    i = 0
    while i < len(short):
        letter = short[i]
        i += 1
        arg = 0
        if short[i:i + 2] == "::":
            arg, i = 2, i + 2
        elif short[i:i + 1] == ":":
            arg, i = 1, i + 1
        table[letter] = arg
    return table


def scan(argv: list[str], short: str, longs: dict[str, tuple[str, int]]):
    table = _short_table(short)
    opts: list[tuple[str, str | None]] = []
    operands: list[str] = []
    i = 0
    n = len(argv)
    while i < n:
        arg = argv[i]
        i += 1
        if arg == "--":
            operands.extend(argv[i:])
            break
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            if name in longs:
                matched = name
            else:
                hits = [k for k in longs if k.startswith(name)]
                # aliases that map to the same option with the same arity are not ambiguous
                if len({longs[k] for k in hits}) > 1:
                    raise ScanError(f"option '{arg}' is ambiguous; possibilities:"
                                    + "".join(f" '--{k}'" for k in hits))
                if not hits:
                    raise ScanError(f"unrecognized option '{arg}'")
                matched = hits[0]
            key, has_arg = longs[matched]
            if has_arg == 0:
                if eq:
                    raise ScanError(f"option '--{matched}' doesn't allow an argument")
                opts.append((key, None))
            elif has_arg == 1:
                if not eq:
                    if i >= n:
                        raise ScanError(f"option '--{matched}' requires an argument")
                    value = argv[i]
                    i += 1
                opts.append((key, value))
            else:
                opts.append((key, value if eq else None))
            continue
        if arg.startswith("-") and len(arg) > 1:
            j = 1
            while j < len(arg):
                letter = arg[j]
                j += 1
                has_arg = table.get(letter)
                if has_arg is None or letter == ":":
                    raise ScanError(f"invalid option -- '{letter}'")
                if has_arg == 0:
                    opts.append((letter, None))
                    continue
                rest = arg[j:]
                if rest:
                    opts.append((letter, rest))
                elif has_arg == 2:
                    opts.append((letter, None))
                elif i < n:
                    opts.append((letter, argv[i]))
                    i += 1
                else:
                    raise ScanError(f"option requires an argument -- '{letter}'")
                break
            continue
        operands.append(arg)
    return opts, operands
