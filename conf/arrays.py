"""Job array index expressions (`sbatch --array`), read and printed as Slurm 22.05 does.

Observed on the Slurm 22.05 here (`sbatch --array=X --hold`, then `scontrol show job`/`squeue`),
MaxArraySize=1001:

* items are separated by commas, empty items skipped (`1,,2` = 1-2); `` and `,` mean "no array";
* an item is `N`, `N-M` or `N-M:S`; numbers read like C's strtol (leading blanks, a sign, no
  digits reads 0 without moving), so `%2` is task 0 and ` 1- 3: 2` is 1,3; one `[` may open an
  item and a `]` may follow each number (`[1-3]`, `1-2]:1`);
* after the item's last number only the end or `%` may follow (`1 ` and `1-3 %2` are refused);
* refused: a negative first index, `M < N`, `S <= 0`, and any index or step >= MaxArraySize;
* the throttle is the number after the first `%` anywhere (strtol, then C's int): `0-3%2` runs at
  most 2 tasks at once; `%0`, `%-1`, `%abc` and values past 2**31 wrapping negative mean none;
* every refusal is one message, "Invalid job array specification", and sbatch exits 1.

Printing (`ArrayTaskId=`, squeue's `123_[...]`): consecutive indices merge into `a-b`; a set
that is one progression of step >= 2 with at least 6 members spanning more than 10 prints as
`first-last:step` (`0-20:4`, `1-13:2`, while `0,2,4,6,8,10` and `0,4,8,12,16` stay lists).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

from conf.errors import ConfError

__all__ = ["INVALID_ARRAY", "ArrayError", "ArraySpec", "format_indices", "parse_array",
           "parse_indices", "parse_task_ranges", "remove_index", "task_text"]

#: Slurm's message for every malformed --array value (and for MaxArraySize=0)
INVALID_ARRAY = "Invalid job array specification"

_LONG_MAX = (1 << 63) - 1
_LONG_MIN = -(1 << 63)
_BLANKS = " \t\n\v\f\r"
#: a progression prints as `a-b:s` from this many members on (and a span over _STRIDE_SPAN)
_STRIDE_MEMBERS = 6
_STRIDE_SPAN = 10
#: the bound when re-reading stored or printed text (MaxArraySize is at most 4000001)
UNBOUNDED_LIMIT = 1 << 23


class ArrayError(ConfError, ValueError):
    code = "invalid_array"


class ArraySpec:
    """A parsed --array: the sorted, distinct task indices and the throttle (0 = none)."""

    __slots__ = ("tasks", "throttle", "step")

    def __init__(self, tasks: Sequence[int], throttle: int = 0, step: int = 1) -> None:
        self.tasks: tuple[int, ...] = tuple(tasks)
        self.throttle = throttle
        #: SLURM_ARRAY_TASK_STEP: observed, the step of a lone `a-b:s` item (`0-8:4` gives 4,
        #: `0,4,8` gives 1, though both are the same tasks), else 1
        self.step = step

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ArraySpec) and (self.tasks, self.throttle) == (other.tasks, other.throttle)

    def __hash__(self) -> int:
        return hash((self.tasks, self.throttle))

    def __repr__(self) -> str:
        return f"ArraySpec({task_text(self.tasks, self.throttle)!r})"

    @property
    def count(self) -> int:
        return len(self.tasks)

    @property
    def min(self) -> int:
        return self.tasks[0]

    @property
    def max(self) -> int:
        return self.tasks[-1]


def _strtol(text: str, pos: int) -> tuple[int, int]:
    """C's strtol(text + pos, &end, 10): (value, end). No digits: (0, pos)."""
    i = pos
    while i < len(text) and text[i] in _BLANKS:
        i += 1
    sign = 1
    if i < len(text) and text[i] in "+-":
        sign = -1 if text[i] == "-" else 1
        i += 1
    start = i
    while i < len(text) and "0" <= text[i] <= "9":
        i += 1
    if i == start:
        return 0, pos
    value = sign * int(text[start:i])
    return max(_LONG_MIN, min(_LONG_MAX, value)), i


def _skip_bracket(text: str, pos: int) -> int:
    return pos + 1 if pos < len(text) and text[pos] == "]" else pos


def _item(token: str, limit: int) -> range:
    """One comma-separated item as a range of indices; ArrayError when Slurm refuses it."""
    pos = 1 if token.startswith("[") else 0
    first, pos = _strtol(token, pos)
    pos = _skip_bracket(token, pos)
    if first < 0:
        raise ArrayError(INVALID_ARRAY)
    last, step = first, 1
    if pos < len(token) and token[pos] == "-":
        last, pos = _strtol(token, pos + 1)
        pos = _skip_bracket(token, pos)
        if pos < len(token) and token[pos] == ":":
            step, pos = _strtol(token, pos + 1)
            pos = _skip_bracket(token, pos)
            if step <= 0 or step >= limit:
                raise ArrayError(INVALID_ARRAY)
        if last < first:
            raise ArrayError(INVALID_ARRAY)
    if pos < len(token) and token[pos] != "%":
        raise ArrayError(INVALID_ARRAY)
    if last >= limit:
        raise ArrayError(INVALID_ARRAY)
    return range(first, last + 1, step)


def _throttle(text: str) -> int:
    cut = text.find("%")
    if cut < 0:
        return 0
    value, _ = _strtol(text, cut + 1)
    value &= 0xFFFFFFFF                  # stored in a C int: wraps, and negative means none
    return value if value < (1 << 31) else 0


def parse_array(text: str, max_array_size: int | None) -> ArraySpec | None:
    """The --array value as an ArraySpec, or None when it names no task (`` or `,`).
    `max_array_size` bounds indices and steps (None: any MaxArraySize could have, for
    re-reading stored text)."""
    if max_array_size is not None and max_array_size <= 0 and text.strip(","):
        raise ArrayError(INVALID_ARRAY)  # MaxArraySize=0 disables arrays
    limit = UNBOUNDED_LIMIT if max_array_size is None else max_array_size
    items = [_item(token, limit) for token in text.split(",") if token]
    if not items:
        return None
    if len(items) == 1 and items[0].step == 1:
        tasks: Sequence[int] = items[0]
    else:
        tasks = sorted(set().union(*items))
    return ArraySpec(tuple(tasks), _throttle(text), items[0].step if len(items) == 1 else 1)


def parse_indices(text: str) -> list[int]:
    """The sorted indices of a printed task set (`1,3,5-7`, `0-20:4`, with or without `[]` and
    `%N`); ArrayError when it is malformed."""
    body = text.strip()
    if body.startswith("[") and body.endswith("]"):
        body = body[1:-1]
    spec = parse_array(body, None)
    return list(spec.tasks) if spec is not None else []


#: scancel refuses a bracket range of more indices than this (as hostlist ranges)
MAX_RANGE_TASKS = 65536


def parse_task_ranges(text: str) -> list[int]:
    """The indices of scancel's `12_[...]`: comma-separated `a` or `a-b` (leading blanks allowed,
    no step). Observed on scancel 22.05: anything else is refused with the line in the
    ArrayError; `a-` passes here and names no index (the controller then knows no such task)."""
    out: list[int] = []
    for item in text.split(","):
        low_text, dash, high_text = item.lstrip(_BLANKS).partition("-")
        if not (low_text.isascii() and low_text.isdigit()) or (
                high_text and not (high_text.isascii() and high_text.isdigit())):
            raise ArrayError(f"_parse_single_range: Invalid range: `{item}'")
        if dash and not high_text:
            continue
        low = int(low_text)
        high = int(high_text) if dash else low
        if high < low:
            raise ArrayError(f"_parse_single_range: Invalid range: `{item}'")
        if high - low + 1 > MAX_RANGE_TASKS:
            raise ArrayError(f"_parse_single_range: Too many hosts in range `{item}'")
        out.extend(range(low, high + 1))
    return sorted(set(out))


def _progression_step(tasks: Sequence[int]) -> int:
    """The common difference when `tasks` (sorted, >= 2 members) is one progression, else 0."""
    if len(tasks) < 2:
        return 0
    step = tasks[1] - tasks[0]
    for i in range(2, len(tasks)):
        if tasks[i] - tasks[i - 1] != step:
            return 0
    return step


def format_indices(tasks: Sequence[int]) -> str:
    """Slurm's text for a sorted set of indices: `1,3,5-7`, or `0-20:4` for a long progression."""
    n = len(tasks)
    if n >= _STRIDE_MEMBERS and tasks[-1] - tasks[0] > _STRIDE_SPAN:
        step = _progression_step(tasks)
        if step >= 2:
            return f"{tasks[0]}-{tasks[-1]}:{step}"
    parts: list[str] = []
    i = 0
    while i < n:
        j = i
        while j + 1 < n and tasks[j + 1] == tasks[j] + 1:
            j += 1
        parts.append(str(tasks[i]) if i == j else f"{tasks[i]}-{tasks[j]}")
        i = j + 1
    return ",".join(parts)


def task_text(tasks: Sequence[int], throttle: int = 0) -> str:
    """What `ArrayTaskId=` and squeue's `%K` show for a pending set: `1-5%2`."""
    text = format_indices(tasks)
    return f"{text}%{throttle}" if throttle else text


def remove_index(tasks: list[int], index: int) -> bool:
    """Remove `index` from a sorted list in place; whether it was there."""
    at = bisect_left(tasks, index)
    if at < len(tasks) and tasks[at] == index:
        del tasks[at]
        return True
    return False
