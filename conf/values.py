"""Converters from slurm.conf value text to typed values.

Each takes the text and returns the value or raises `ValueError` with a message that reads well
after `path:line: Key=value: `.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from conf.errors import ConfError
from conf.timefmt import parse_duration
from conf.units import parse_memory_mb

Converter = Callable[[str], Any]

_UNLIMITED = frozenset({"unlimited", "infinite", "-1"})
_TRUE = frozenset({"yes", "true", "1", "on", "y"})
_FALSE = frozenset({"no", "false", "0", "off", "n"})
_INTEGER = re.compile(r"\d+", re.ASCII)


def integer(text: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    if not _INTEGER.fullmatch(text):
        raise ValueError("not a whole number")
    value = int(text)
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"{minimum}..{maximum}" if maximum is not None else f">= {minimum}"
        raise ValueError(f"out of range ({bounds})")
    return value


def int_range(minimum: int = 0, maximum: int | None = None) -> Converter:
    return lambda text: integer(text, minimum=minimum, maximum=maximum)


def integer_or_unlimited(text: str) -> int | None:
    return None if text.lower() in _UNLIMITED else integer(text)


def boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("expected YES or NO")


def duration(text: str) -> int | None:
    """Slurm time string -> seconds; None = UNLIMITED."""
    try:
        return parse_duration(text)
    except ConfError:
        raise ValueError("not a valid time (M, M:S, H:M:S, D-H, D-H:M, D-H:M:S or UNLIMITED)") from None


def bounded_duration(text: str) -> int:
    seconds = duration(text)
    if seconds is None:
        raise ValueError("must not be UNLIMITED")
    return seconds


def optional_duration(text: str) -> int | None:
    """DefaultTime: NONE and UNLIMITED leave it unset."""
    return None if text.lower() == "none" else duration(text)


def memory(text: str) -> int:
    try:
        return parse_memory_mb(text)
    except ConfError:
        raise ValueError("not a memory size (a number of MiB, or with a K/M/G/T suffix)") from None


def memory_or_unset(text: str) -> int | None:
    """0 and UNLIMITED mean "not set", as in Slurm."""
    if text.lower() in _UNLIMITED:
        return None
    return memory(text) or None


def minutes_or_unlimited(text: str) -> int:
    # Slurm stores UNLIMITED as INFINITE16; the documented maximum is 65533
    return 65535 if text.lower() in _UNLIMITED else integer(text, maximum=65533)


def port(text: str) -> int:
    """6817 or a range 6817-6818 (the first port is the one used)."""
    first, _, last = text.partition("-")
    low = integer(first, minimum=1, maximum=65535)
    if last and integer(last, minimum=low, maximum=65535) < low:
        raise ValueError("port range goes backwards")
    return low


def text_value(text: str) -> str:
    return text


def nonempty(text: str) -> str:
    if not text:
        raise ValueError("must not be empty")
    return text


def word_list(text: str) -> tuple[str, ...]:
    return tuple(item for item in (part.strip() for part in text.split(",")) if item)


def upper_word_list(text: str) -> tuple[str, ...]:
    return tuple(item.upper() for item in word_list(text))


def parameter_map(text: str) -> dict[str, str]:
    """`bf_interval=30,bf_continue` -> {"bf_interval": "30", "bf_continue": ""}."""
    result: dict[str, str] = {}
    for item in word_list(text):
        key, _, value = item.partition("=")
        if not key:
            raise ValueError(f"empty parameter name in {item!r}")
        result[key.strip()] = value.strip()
    return result


def choice(*allowed: str, with_count: bool = False) -> Converter:
    """One of `allowed` (any case, printed as listed); `with_count` also takes `YES:4`."""
    by_lower = {option.lower(): option for option in allowed}

    def convert(text: str) -> str:
        head, sep, count = text.partition(":") if with_count else (text, "", "")
        option = by_lower.get(head.lower())
        if option is None:
            raise ValueError(f"expected one of {', '.join(allowed)}")
        return option + (sep + str(integer(count, minimum=1)) if sep else "")

    return convert
