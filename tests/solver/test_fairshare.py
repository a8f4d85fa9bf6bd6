"""Fair-share values against Slurm's own expectations.

CLASSIC_GOLDEN is the association tree of Slurm's testsuite program for test_130_2 (formerly
test24.3: root -> AccountA..H with users, Fairshare=parent cases under AccountH) and the rows its
test expects sshare to print (FairShareDampeningFactor=1): NormShares, RawUsage, NormUsage,
EffectvUsage, FairShare. The numbers are Slurm's; the tree is re-entered here by hand.
"""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver.fairshare import ShareNode, classic, fair_tree

P = None  # Fairshare=parent

TREE = [
    ShareNode(1, "root"),
    ShareNode(2, "AccountA", parent=1, shares=40),
    ShareNode(21, "AccountB", parent=2, shares=30),
    ShareNode(211, "AccountB", "User1", parent=21, shares=1, usage_raw=20),
    ShareNode(22, "AccountC", parent=2, shares=10),
    ShareNode(221, "AccountC", "User2", parent=22, shares=1, usage_raw=25),
    ShareNode(222, "AccountC", "User3", parent=22, shares=1, usage_raw=0),
    ShareNode(3, "AccountD", parent=1, shares=60),
    ShareNode(31, "AccountE", parent=3, shares=25),
    ShareNode(311, "AccountE", "User4", parent=31, shares=1, usage_raw=25),
    ShareNode(32, "AccountF", parent=3, shares=35),
    ShareNode(321, "AccountF", "User5", parent=32, shares=1, usage_raw=0),
    ShareNode(4, "AccountG", parent=1, shares=0),
    ShareNode(41, "AccountG", "User6", parent=4, shares=0, usage_raw=30),
    ShareNode(5, "AccountH", parent=1, shares=50),
    ShareNode(51, "AccountHTA", parent=5, shares=P, usage_raw=35),  # own usage is replaced by its children's
    ShareNode(511, "AccountHTA", "UHTAStd1", parent=51, shares=P, usage_raw=10),
    ShareNode(512, "AccountHTA", "UHTAStd2", parent=51, shares=30, usage_raw=10),
    ShareNode(513, "AccountHTA", "UHTAStd3", parent=51, shares=50, usage_raw=25),
    ShareNode(52, "AccountH", "UHRA1", parent=5, shares=P, usage_raw=20),
    ShareNode(53, "AccountH", "UHRA2", parent=5, shares=40, usage_raw=20),
    ShareNode(54, "AccountH", "UHRA3", parent=5, shares=50, usage_raw=25),
]

# account, user, raw shares, NormShares, RawUsage, NormUsage, EffectvUsage, FairShare
CLASSIC_GOLDEN = [
    ("root", "", "", "1.000000", "210", "", "1.000000", "0.500000"),
    ("AccountA", "", "40", "0.266667", "45", "0.214286", "0.214286", "0.572929"),
    ("AccountB", "", "30", "0.200000", "20", "0.095238", "0.184524", "0.527550"),
    ("AccountB", "User1", "1", "0.200000", "20", "0.095238", "0.184524", "0.527550"),
    ("AccountC", "", "10", "0.066667", "25", "0.119048", "0.142857", "0.226431"),
    ("AccountC", "User2", "1", "0.033333", "25", "0.119048", "0.130952", "0.065672"),
    ("AccountC", "User3", "1", "0.033333", "0", "0.000000", "0.071429", "0.226431"),
    ("AccountD", "", "60", "0.400000", "25", "0.119048", "0.119048", "0.813594"),
    ("AccountE", "", "25", "0.166667", "25", "0.119048", "0.119048", "0.609507"),
    ("AccountE", "User4", "1", "0.166667", "25", "0.119048", "0.119048", "0.609507"),
    ("AccountF", "", "35", "0.233333", "0", "0.000000", "0.069444", "0.813594"),
    ("AccountF", "User5", "1", "0.233333", "0", "0.000000", "0.069444", "0.813594"),
    ("AccountG", "", "0", "0.000000", "30", "0.142857", "0.142857", "0.000000"),
    ("AccountG", "User6", "0", "0.000000", "30", "0.142857", "0.142857", "0.000000"),
    ("AccountH", "", "50", "0.333333", "110", "0.523810", "0.523810", "0.336475"),
    ("AccountH", "UHRA1", "parent", "0.333333", "20", "0.095238", "0.523810", "0.336475"),
    ("AccountH", "UHRA2", "40", "0.078431", "20", "0.095238", "0.196078", "0.176777"),
    ("AccountH", "UHRA3", "50", "0.098039", "25", "0.119048", "0.238095", "0.185749"),
    ("AccountHTA", "", "parent", "0.333333", "45", "0.214286", "0.523810", "0.336475"),
    ("AccountHTA", "UHTAStd1", "parent", "0.333333", "10", "0.047619", "0.523810", "0.336475"),
    ("AccountHTA", "UHTAStd2", "30", "0.058824", "10", "0.047619", "0.131653", "0.211966"),
    ("AccountHTA", "UHTAStd3", "50", "0.098039", "25", "0.119048", "0.238095", "0.185749"),
]


def _cells(row):
    raw = "" if row.account == "root" and not row.user else (
        "parent" if row.raw_shares is None else str(row.raw_shares))
    norm_usage = "" if row.norm_usage is None else f"{row.norm_usage:.6f}"
    return (row.account, row.user, raw, f"{row.norm_shares:.6f}", f"{row.raw_usage:.0f}",
            norm_usage, f"{row.effective_usage:.6f}", f"{row.fairshare:.6f}")


@pytest.mark.parametrize("expected", CLASSIC_GOLDEN, ids=lambda e: f"{e[0]}|{e[1]}")
def test_classic_matches_slurm_test_130_2(expected):
    result = classic(TREE, dampening=1)
    rows = {(r.account, r.user): r for r in result.rows}
    assert _cells(rows[(expected[0], expected[1])]) == expected


def test_classic_factor_lookup_by_user_and_account():
    result = classic(TREE)
    assert result.factor("User1", "AccountB") == pytest.approx(0.527550, abs=1e-6)
    assert result.factor("nobody", "AccountB") == 0.0


def test_dampening_softens_the_factor():
    # F = 2^(-(UE/S)/d): User2 0.130952/0.033333 = 3.928571 -> d=2 gives 2^-1.964286
    result = classic(TREE, dampening=2)
    assert result.factor("User2", "AccountC") == pytest.approx(2 ** (-3.928571 / 2), rel=1e-5)


def _tree(*nodes):
    return [ShareNode(1, "root"), *nodes]


def test_fair_tree_better_served_account_ranks_all_its_users_first():
    # acct a: S=0.5, U=10/100 -> LF 5; acct b: S=0.5, U=90/100 -> LF 0.56.
    # Every user of a ranks above every user of b, even b's idle user.
    result = fair_tree(_tree(
        ShareNode(2, "a", parent=1, shares=1),
        ShareNode(3, "b", parent=1, shares=1),
        ShareNode(21, "a", "u1", parent=2, shares=1, usage_raw=10),
        ShareNode(22, "a", "u2", parent=2, shares=1, usage_raw=0),
        ShareNode(31, "b", "u3", parent=3, shares=1, usage_raw=90),
        ShareNode(32, "b", "u4", parent=3, shares=1, usage_raw=0),
    ))
    f = result.factor
    assert [f("u2", "a"), f("u1", "a"), f("u4", "b"), f("u3", "b")] == [1.0, 0.75, 0.5, 0.25]


def test_fair_tree_level_values_match_sshare_definitions():
    result = fair_tree(_tree(
        ShareNode(2, "a", parent=1, shares=3),
        ShareNode(3, "b", parent=1, shares=1),
        ShareNode(21, "a", "u1", parent=2, shares=1, usage_raw=30),
        ShareNode(31, "b", "u3", parent=3, shares=1, usage_raw=10),
    ))
    rows = {(r.account, r.user): r for r in result.rows}
    a = rows[("a", "")]
    assert a.norm_shares == 0.75 and a.effective_usage == 0.75 and a.level_fs == 1.0
    assert a.raw_usage == 30 and a.norm_usage == 0.75 and a.fairshare is None
    u1 = rows[("a", "u1")]
    assert u1.norm_shares == 1.0 and u1.effective_usage == 1.0 and u1.level_fs == 1.0
    root = rows[("root", "")]
    assert root.effective_usage == 1.0 and root.norm_usage is None and root.level_fs is None


def test_fair_tree_no_usage_is_infinite_level_fs_and_zero_shares_is_zero():
    result = fair_tree(_tree(
        ShareNode(2, "a", parent=1, shares=1),
        ShareNode(21, "a", "idle", parent=2, shares=1),
        ShareNode(22, "a", "none", parent=2, shares=0, usage_raw=5),
    ))
    rows = {(r.account, r.user): r for r in result.rows}
    assert math.isinf(rows[("a", "idle")].level_fs)
    assert rows[("a", "none")].level_fs == 0.0
    assert result.factor("idle", "a") == 1.0 and result.factor("none", "a") == 0.5


def test_fair_tree_tied_users_share_a_rank():
    result = fair_tree(_tree(
        ShareNode(2, "a", parent=1, shares=1),
        ShareNode(21, "a", "x", parent=2, shares=1, usage_raw=5),
        ShareNode(22, "a", "y", parent=2, shares=1, usage_raw=5),
        ShareNode(23, "a", "z", parent=2, shares=1, usage_raw=50),
    ))
    assert result.factor("x", "a") == result.factor("y", "a") == 1.0
    assert result.factor("z", "a") == pytest.approx(1 / 3)


def test_fair_tree_tied_accounts_are_merged_before_descending():
    # a and b tie (same S, same U); their users compete as one level: a's heavy user must not
    # outrank b's light one just because a came first alphabetically.
    result = fair_tree(_tree(
        ShareNode(2, "a", parent=1, shares=1),
        ShareNode(3, "b", parent=1, shares=1),
        ShareNode(21, "a", "heavy", parent=2, shares=1, usage_raw=9),
        ShareNode(22, "a", "light_a", parent=2, shares=1, usage_raw=1),
        ShareNode(31, "b", "light_b", parent=3, shares=1, usage_raw=1),
        ShareNode(32, "b", "heavy_b", parent=3, shares=1, usage_raw=9),
    ))
    f = result.factor
    assert f("light_a", "a") == f("light_b", "b") == 1.0
    assert f("heavy", "a") == f("heavy_b", "b") == 0.5


def test_fair_tree_parent_share_account_children_compete_one_level_up():
    result = fair_tree(_tree(
        ShareNode(2, "a", parent=1, shares=1),
        ShareNode(21, "sub", parent=2, shares=None),
        ShareNode(211, "sub", "s1", parent=21, shares=1, usage_raw=1),
        ShareNode(22, "a", "u1", parent=2, shares=3, usage_raw=1),
    ))
    rows = {(r.account, r.user): r for r in result.rows}
    assert rows[("sub", "s1")].norm_shares == 0.25 and rows[("a", "u1")].norm_shares == 0.75
    assert rows[("sub", "")].raw_shares is None and rows[("sub", "")].level_fs is None
    assert result.factor("u1", "a") > result.factor("s1", "sub")


def test_rows_are_depth_first_users_before_sub_accounts():
    result = fair_tree(_tree(
        ShareNode(3, "zz", parent=1, shares=1),
        ShareNode(2, "aa", parent=1, shares=1),
        ShareNode(11, "root", "root", parent=1, shares=1),
        ShareNode(21, "aa", "bob", parent=2, shares=1),
        ShareNode(22, "aa", "al", parent=2, shares=1),
    ))
    assert [(r.account, r.user, r.depth) for r in result.rows] == [
        ("root", "", 0), ("root", "root", 1), ("aa", "", 1), ("aa", "al", 2),
        ("aa", "bob", 2), ("zz", "", 1)]


@st.composite
def trees(draw):
    nodes = [ShareNode(1, "root")]
    accounts = [1]
    for key in range(2, draw(st.integers(2, 25))):
        parent = draw(st.sampled_from(accounts))
        is_user = draw(st.booleans())
        shares = draw(st.one_of(st.none(), st.integers(0, 100)))
        usage = draw(st.floats(0, 1e6, allow_nan=False))
        name = f"n{key}"
        if is_user:
            account = next(n.account for n in nodes if n.key == parent)
            nodes.append(ShareNode(key, account, f"u{key}", parent=parent, shares=shares,
                                   usage_raw=usage))
        else:
            nodes.append(ShareNode(key, name, parent=parent, shares=shares))
            accounts.append(key)
    return nodes


@settings(max_examples=200, deadline=None)
@given(trees())
def test_factors_are_in_unit_range_and_every_association_has_a_row(nodes):
    for algorithm in (fair_tree, classic):
        result = algorithm(nodes)
        assert len(result.rows) == len(nodes)
        for row in result.rows:
            if row.user:
                assert 0.0 <= row.fairshare <= 1.0
            assert row.norm_shares >= 0 and row.raw_usage >= 0
