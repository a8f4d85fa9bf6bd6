"""File-name patterns and per-node count lists shared by batch and srun steps."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conf.jobtext import expand_file_pattern, per_node_counts

VALUES = {"j": "42", "t": "7", "x": "name", "N": "n1"}


@pytest.mark.parametrize(("pattern", "expected"), [
    ("slurm-%j.out", "slurm-42.out"),
    ("%3t-%x", "007-name"),          # zero padding applies to numbers only
    ("%5x", "name"),
    ("%12j", "0000000042"),          # padding stops at 10
    ("100%%", "100%"),
    ("%q-%j", "%q-42"),              # unknown codes stay as written
    ("a\\%j", "a%j"),                # a backslash makes the pattern literal
    ("trailing%", "trailing%"),
    ("trailing%3", "trailing%3"),
])
def test_patterns(pattern, expected):
    assert expand_file_pattern(pattern, VALUES) == expected


@given(st.text())
def test_any_pattern_expands_without_error(pattern):
    assert isinstance(expand_file_pattern(pattern, VALUES), str)


@pytest.mark.parametrize(("values", "text"), [
    ([2, 2, 2, 1], "2(x3),1"), ([4], "4"), ([1, 2, 1], "1,2,1"), ([], ""),
])
def test_per_node_counts(values, text):
    assert per_node_counts(values) == text
