"""Memory sizes and GRES strings.

Memory goldens: `sbatch --test-only --mem=X --wrap=true` on the real Slurm 22.05 here (accepted or
"Invalid --mem specification"), and `scontrol show job` of `sbatch --hold --mem=1025K`, which shows
`MinMemoryNode=2M`. GRES goldens: `sbatch --test-only -p gpu --gres=X --wrap=true` (accepted, or
"Invalid generic resource (gres) specification").
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conf.units import GresRequest, UnitError, format_gres, format_memory_mb, parse_gres, parse_memory_mb


@pytest.mark.parametrize(
    ("text", "mb"),
    [
        ("100", 100),
        ("100M", 100),
        ("100m", 100),
        ("1G", 1024),
        ("1g", 1024),
        ("1024K", 1),
        ("1025K", 2),
        ("1k", 1),
        ("1T", 1024 * 1024),
        ("1GB", 1024),
        ("1MB", 1),
        ("1KB", 1),
        ("0", 0),
    ],
)
def test_parse_memory(text: str, mb: int) -> None:
    assert parse_memory_mb(text) == mb


@pytest.mark.parametrize("text", ["1.5G", "100 ", "-1", "", "1P", "1X", "G", "100B", "1GiB", "١"])
def test_invalid_memory_raises(text: str) -> None:
    with pytest.raises(UnitError):
        parse_memory_mb(text)


def test_default_unit_applies_without_suffix() -> None:
    assert parse_memory_mb("2", default_unit="G") == 2048
    assert parse_memory_mb("2048", default_unit="K") == 2
    assert parse_memory_mb("2M", default_unit="G") == 2
    with pytest.raises(UnitError):
        parse_memory_mb("2", default_unit="Q")


@pytest.mark.parametrize(
    ("mb", "text"), [(4096, "4G"), (4000, "4000M"), (0, "0"), (2, "2M"), (1024 * 1024, "1T"), (1536, "1536M"), (1024**3, "1P")]
)
def test_format_memory(mb: int, text: str) -> None:
    assert format_memory_mb(mb) == text


@given(st.integers(min_value=0, max_value=2**50))
def test_memory_format_parse_round_trip(mb: int) -> None:
    text = format_memory_mb(mb)
    if text.endswith("P"):
        text = str(mb)  # P is printed but never parsed, as in Slurm
    assert parse_memory_mb(text) == mb


@given(st.integers(min_value=0, max_value=2**40), st.sampled_from(["K", "M", "G", "T"]))
def test_memory_units_are_powers_of_1024(value: int, unit: str) -> None:
    kib = value * {"K": 1, "M": 1024, "G": 1024**2, "T": 1024**3}[unit]
    assert parse_memory_mb(f"{value}{unit}") == -(-kib // 1024)


@given(st.text(max_size=12))
def test_arbitrary_memory_text_raises_only_unit_error(text: str) -> None:
    try:
        assert parse_memory_mb(text) >= 0
    except UnitError:
        pass


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gpu", (GresRequest("gpu", "", 1),)),
        ("gpu:2", (GresRequest("gpu", "", 2),)),
        ("gpu:0", (GresRequest("gpu", "", 0),)),
        ("gpu:a100", (GresRequest("gpu", "a100", 1),)),
        ("gpu:a100:2", (GresRequest("gpu", "a100", 2),)),
        ("gpu:2,gpu:1", (GresRequest("gpu", "", 2), GresRequest("gpu", "", 1))),
        ("gpu:1K", (GresRequest("gpu", "", 1024),)),
        ("gpu:2:3", (GresRequest("gpu", "2", 3),)),
        ("gpu:a100:4,gpu:v100:2", (GresRequest("gpu", "a100", 4), GresRequest("gpu", "v100", 2))),
        ("gpu:a100:no_consume:4", (GresRequest("gpu", "a100", 4, no_consume=True),)),
        ("mps:100,gpu:1", (GresRequest("mps", "", 100), GresRequest("gpu", "", 1))),
    ],
)
def test_parse_gres(text: str, expected: tuple[GresRequest, ...]) -> None:
    assert parse_gres(text) == expected
    assert parse_gres(format_gres(expected)) == expected


@pytest.mark.parametrize("text", ["gres/gpu:1", "gpu:", ":2", "gpu::2", "gpu:a:b:c", "gpu,", "", "gpu:-1", "gpu:1.5"])
def test_invalid_gres_raises(text: str) -> None:
    with pytest.raises(UnitError):
        parse_gres(text)


def test_gres_request_is_frozen_and_prints() -> None:
    request = GresRequest("gpu", "a100", 2)
    assert str(request) == "gpu:a100:2"
    with pytest.raises(AttributeError):
        request.count = 3  # type: ignore[misc]


@given(st.text(alphabet="gpu:a10,_kK-", max_size=16))
def test_arbitrary_gres_text_raises_only_unit_error(text: str) -> None:
    try:
        parse_gres(text)
    except UnitError:
        pass


@pytest.mark.parametrize(("text", "count"), [("4", 4), ("4K", 4096), ("1g", 1024**3)])
def test_parse_gres_count(text: str, count: int) -> None:
    from conf.units import parse_gres_count

    assert parse_gres_count(text) == count


@pytest.mark.parametrize("text", ["", "many", "-1", "1.5", "4T"])
def test_parse_gres_count_rejects(text: str) -> None:
    from conf.units import parse_gres_count

    with pytest.raises(UnitError):
        parse_gres_count(text)
