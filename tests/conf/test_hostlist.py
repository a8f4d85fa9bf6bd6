"""Hostlist expansion and compression.

Golden cases were produced by the real Slurm 22.05 on this machine with
`SLURM_CONF=/etc/slurm/slurm.conf scontrol show hostnames EXPR` (expansion) and
`scontrol show hostlistsorted NAMES` on de-duplicated NAMES (compression).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conf.errors import ConfError
from conf.hostlist import HostlistError, compress_hostlist, expand_hostlist, sort_hostnames

# scontrol show hostnames EXPR
EXPANSIONS = [
    ("n[1-3,7]", ["n1", "n2", "n3", "n7"]),
    ("gpu[01-04]", ["gpu01", "gpu02", "gpu03", "gpu04"]),
    ("rack[0-1]_b[0-2]", ["rack0_b0", "rack0_b1", "rack0_b2", "rack1_b0", "rack1_b1", "rack1_b2"]),
    ("a,b[1-2],c", ["a", "b1", "b2", "c"]),
    ("n[9-11]", ["n9", "n10", "n11"]),
    ("n[08-11]", ["n08", "n09", "n10", "n11"]),
    ("n[001-3]", ["n001", "n002", "n003"]),
    ("n[1-03]", ["n1", "n2", "n3"]),
    ("n[9-010]", ["n9", "n10"]),
    ("n[098-101]", ["n098", "n099", "n100", "n101"]),
    ("n,,m", ["n", "m"]),
    ("a b", ["a", "b"]),
    ("n1,n1", ["n1", "n1"]),
    ("x[1-2][3-4]", ["x13", "x14", "x23", "x24"]),
    ("n[1-2]-[3]", ["n1-3", "n2-3"]),
    ("n[1-2]x[3]", ["n1x3", "n2x3"]),
    ("n01,n1", ["n01", "n1"]),
    ("[1-2]", ["1", "2"]),
    ("n[1-2],", ["n1", "n2"]),
    (",n1", ["n1"]),
    ("n[01-1]", ["n01"]),
    ("", []),
    ("n[18446744073709551615]", ["n18446744073709551615"]),
]

# each of these is "Invalid hostlist" in scontrol show hostnames
# (the unbalanced ones Slurm mangles silently instead; we refuse them)
INVALID = [
    "n[1-3]x",
    "n[3-1]",
    "n[a-b]",
    "n[]",
    "n[1,,2]",
    "n[1-2]x[3]y",
    "n[1]]",
    "n[1-2-3]",
    "n[1x]",
    "n[1-2]a,b",
    "n[1-3].x",
    "n[1-65537]",
    "n[1-",
    "n1]",
    "n[[1]",
    "n[ 1-2]",
    "n[+1]",
]

# scontrol show hostlistsorted NAMES
COMPRESSIONS = [
    ("n1,n2,n3,n10", "n[1-3,10]"),
    ("b1,b2,b3,c1,d1,d2,d3,d4,d5,e1", "b[1-3],c1,d[1-5],e1"),
    ("n01,n02,n03,n07", "n[01-03,07]"),
    ("n01,n1,n2,n001", "n[1-2,01,001]"),
    ("a,b,c", "a,b,c"),
    ("n1x,n2x", "n1x,n2x"),
    ("rack0_b0,rack0_b1,rack1_b0", "rack0_b[0-1],rack1_b0"),
    ("n0,n00,n000", "n[0,00,000]"),
    ("x,x1,x2", "x,x[1-2]"),
    ("a1b2,a1b3", "a1b[2-3]"),
    ("n98,n99,n100", "n[98-100]"),
    ("n098,n099,n100", "n[098-100]"),
    ("n-1,n-2", "n-[1-2]"),
    ("gpu10,gpu9,gpu8", "gpu[8-10]"),
    ("n1,n2,n3,n4,n5,n6,n7,n8,n9,n10,n11,n12", "n[1-12]"),
    ("z1,a2,a1", "a[1-2],z1"),
    ("n09,n10", "n[09-10]"),
    ("n9,n09,n10", "n[9,09-10]"),
    ("n8,n9,n09,n10,n11", "n[8-9,09-11]"),
    ("n098,n099,n100,n99", "n[99,098-100]"),
    ("n1,n01,n10", "n[1,01,10]"),
    ("n10,n01", "n[01,10]"),
    ("n100,n099,n1", "n[1,099-100]"),
    ("a1,a,b", "a,a1,b"),
    ("n1,na,n", "n,n1,na"),
    ("a-1,a1,a_1,A1", "A1,a1,a-1,a_1"),
    ("n1.x,n2.x", "n1.x,n2.x"),
    ("1,2,3", "[1-3]"),
    ("n0001,n2", "n[2,0001]"),
    ("n1,n3", "n[1,3]"),
]


@pytest.mark.parametrize(("expr", "expected"), EXPANSIONS)
def test_expand_matches_slurm(expr: str, expected: list[str]) -> None:
    assert expand_hostlist(expr) == expected


@pytest.mark.parametrize("expr", INVALID)
def test_malformed_expressions_raise(expr: str) -> None:
    with pytest.raises(HostlistError) as caught:
        expand_hostlist(expr)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, ConfError)
    assert expr in str(caught.value)


@pytest.mark.parametrize(("names", "expected"), COMPRESSIONS)
def test_compress_matches_slurm(names: str, expected: str) -> None:
    assert compress_hostlist(names.split(",")) == expected


def test_compress_removes_duplicates_and_accepts_any_iterable() -> None:
    assert compress_hostlist(iter(["n3", "n1", "n2", "n1"])) == "n[1-3]"
    assert compress_hostlist([]) == ""


@pytest.mark.parametrize("bad", ["", "a b", "n[1]", "a,b"])
def test_compress_rejects_non_names(bad: str) -> None:
    with pytest.raises(HostlistError):
        compress_hostlist([bad])


def test_sort_hostnames_orders_numerically_by_width() -> None:
    assert sort_hostnames(["n10", "n9", "n09", "m", "n9"]) == ["m", "n9", "n09", "n10"]


def test_expansion_size_is_bounded() -> None:
    assert len(expand_hostlist("n[1-65536]")) == 65536
    with pytest.raises(HostlistError):
        expand_hostlist("n[0-65535][0-65535]")


_host_names = st.builds(
    lambda prefix, digits, suffix: prefix + digits + suffix,
    st.sampled_from(["n", "gpu", "rack0_b", "a-", "", "x.y"]),
    st.one_of(st.just(""), st.from_regex(r"[0-9]{1,4}", fullmatch=True)),
    st.sampled_from(["", "", "", "x"]),
).filter(bool)


@given(st.lists(_host_names, max_size=40))
def test_expand_inverts_compress(names: list[str]) -> None:
    compressed = compress_hostlist(names)
    assert expand_hostlist(compressed) == sort_hostnames(names)
    assert set(sort_hostnames(names)) == set(names)
    assert compress_hostlist(expand_hostlist(compressed)) == compressed


@given(st.text(alphabet="n01-[],x ", max_size=20))
def test_arbitrary_text_only_raises_hostlist_error(text: str) -> None:
    try:
        expand_hostlist(text)
    except HostlistError:
        pass
