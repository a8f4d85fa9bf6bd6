"""Slurm's job-launch text forms, shared by the controller (batch steps) and the node agent
(srun steps): file-name patterns and per-node count lists.

    expand_file_pattern("out-%j_%3t.txt", {"j": "42", "t": "7"})   -> "out-42_007.txt"
    per_node_counts([2, 2, 2, 1])                                  -> "2(x3),1"

Pattern rules (sbatch.1/srun.1 "filename pattern", checked on Slurm 22.05 here): `%%` is a
percent sign; `%<digits><code>` zero-pads a numeric value to that width (at most 10); an unknown
code stays as written; a pattern holding a backslash is taken literally, backslashes removed.
"""
from __future__ import annotations

from collections.abc import Mapping


def expand_file_pattern(pattern: str, values: Mapping[str, str]) -> str:
    if "\\" in pattern:
        return pattern.replace("\\", "")
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] != "%":
            out.append(pattern[i])
            i += 1
            continue
        j = i + 1
        while j < len(pattern) and pattern[j].isdigit():
            j += 1
        if j >= len(pattern):
            out.append(pattern[i:])
            break
        code = pattern[j]
        if code == "%":
            out.append("%")
        elif code in values:
            value = values[code]
            width = min(int(pattern[i + 1:j] or 0), 10)
            out.append(value.zfill(width) if width and value.isdigit() else value)
        else:
            out.append(pattern[i:j + 1])
        i = j + 1
    return "".join(out)


def per_node_counts(values: list[int]) -> str:
    """Slurm's run-length form of a per-node list (SLURM_TASKS_PER_NODE): [2, 2, 1] -> '2(x2),1'."""
    parts: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[i]:
            j += 1
        n = j - i + 1
        parts.append(f"{values[i]}(x{n})" if n > 1 else str(values[i]))
        i = j + 1
    return ",".join(parts)
