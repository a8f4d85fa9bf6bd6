"""Job array expressions (sbatch --array) and their printed form.

Golden cases were produced by the real Slurm 22.05 on this machine (MaxArraySize=1001):
`SLURM_CONF=/etc/slurm/slurm.conf sbatch --array=EXPR --hold --wrap true`, then
`scontrol show job ID` (its `ArrayTaskId=`, throttle included as `%N`). "E" means sbatch printed
`sbatch: error: Batch job submission failed: Invalid job array specification` and exited 1;
None means it submitted a plain, non-array job.
"""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conf.arrays import (INVALID_ARRAY, ArrayError, format_indices, parse_array, parse_indices,
                         parse_task_ranges, remove_index, task_text)
from conf.errors import ConfError

SUBMITTED = {
    # forms people write
    "0-15": "0-15", "1,3,5-7": "1,3,5-7", "0-20:4": "0-20:4", "0-9%2": "0-9%2", "1000": "1000",
    "0-1000": "0-1000", "3-3": "3", "1,1,2": "1-2", "[1-3]": "1-3", "1-3:2%1": "1,3%1",
    # refusals
    "abc": "E", "5-2": "E", "0-1001": "E", "1001": "E", "-1": "E", "1-3:0": "E", "1-3:-1": "E",
    "1-": "E", "0x10": "E", "1 ": "E", "1-3:": "E", "4294967295": "E", "1-2-3": "E", "1e3": "E",
    "[[1]": "E", "1-3:2:3": "E", "4294967296": "E", "4294967297": "E", "-4294967295": "E",
    "99999999999999999999": "E", "[1]-[3]": "E", "1-[3": "E", "1-3:[2]": "E", "1-3 %2": "E",
    "1-3:2]x": "E", "--1": "E", "0-10:4294967297": "E", "0-10:-4294967295": "E", "0-10:1001": "E",
    "0-10:5000": "E", "0-10:2147483647": "E",
    # strtol's leniency: blanks, signs, no digits read as 0, one '[' and trailing ']'
    "": None, ",": None, "1,,2": "1-2", "%2": "0%2", " 1": "1", "+1": "1", "01": "1", "0-": "0",
    "-0": "0", "-": "0", "%": "0", "1,%": "0-1", "1-3,%2": "0-3%2", "[1-3": "1-3", "1-3]": "1-3",
    "1]": "1", "2-3:1]": "2-3", "1-2]:1": "1-2", " 1- 3: 2": "1,3", "1-3:+2": "1,3", "5-5:3": "5",
    "1-1000:500": "1,501", "0-10:1000": "0", "0-1000:1000": "0,1000",
    # the throttle: first '%', strtol, then a C int (<= 0 means none)
    "0-3%0": "0-3", "0-3%": "0-3", "0-3%abc": "0-3", "1%2,3": "1,3%2", "1-3%2%3": "1-3%2",
    "0-3%-1": "0-3", "0-3% 2": "0-3%2", "0-3%99999999999": "0-3%1215752191", "0-3%4294967297": "0-3%1",
    "0-3%2x": "0-3%2", "%0": "0", "1-3%2,5-6%3": "1-3,5-6%2", "0-3%-2": "0-3", "0-3%-5": "0-3",
    "0-3%4294967295": "0-3", "0-3%4294967294": "0-3", "0-3%4294967293": "0-3", "0-3%+2": "0-3%2",
    "0-3%2%": "0-3%2", "0-3%2147483647": "0-3%2147483647", "0-3%2147483648": "0-3", "0-3%6442450945": "0-3",
    # printing: ranges, and long progressions as first-last:step
    "1,3,5": "1,3,5", "1,3,5,7": "1,3,5,7", "0,2,4,5": "0,2,4-5", "0,2,4,6,7,8": "0,2,4,6-8",
    "1,2,4,6,8": "1-2,4,6,8", "0,3,6,9,10,11,12": "0,3,6,9-12", "0,4,8": "0,4,8", "0-8:4": "0,4,8",
    "0-20:4,30": "0,4,8,12,16,20,30", "1-7:2": "1,3,5,7", "0-16:4": "0,4,8,12,16", "0-24:4": "0-24:4",
    "0-40:4": "0-40:4", "0-15:5": "0,5,10,15", "0-30:2": "0-30:2", "0-8:2": "0,2,4,6,8",
    "0-10:2": "0,2,4,6,8,10", "0-500:100": "0-500:100", "0-20:4,21": "0,4,8,12,16,20-21",
    "1-21:4": "1-21:4", "3-13:2": "3,5,7,9,11,13", "100-1000:300": "100,400,700,1000",
    "10-50:10": "10,20,30,40,50", "1-13:2": "1-13:2", "2-12:2": "2,4,6,8,10,12", "11-21:5": "11,16,21",
    "995-1000:2": "995,997,999", "100-900:200": "100,300,500,700,900", "10-60:10": "10-60:10",
    "0-1000:250": "0,250,500,750,1000", "10-20:2": "10,12,14,16,18,20", "0-12:2": "0-12:2",
    "990-1000:2": "990,992,994,996,998,1000", "0,1,2,3,4,5,6": "0-6", "1-2,5-6,9-10": "1-2,5-6,9-10",
}


def shown(text: str, max_array_size: int = 1001):
    try:
        spec = parse_array(text, max_array_size)
    except ArrayError:
        return "E"
    return None if spec is None else task_text(spec.tasks, spec.throttle)


@pytest.mark.parametrize("text, expected", SUBMITTED.items(), ids=[repr(k) for k in SUBMITTED])
def test_as_slurm_accepts_and_prints(text, expected):
    assert shown(text) == expected


def test_refusal_carries_slurms_message_and_exit_code():
    with pytest.raises(ArrayError) as caught:
        parse_array("5-2", 1001)
    assert caught.value.message == INVALID_ARRAY == "Invalid job array specification"
    assert caught.value.exit_code == 1 and isinstance(caught.value, ConfError)


def test_max_array_size_bounds_indices_and_steps():
    assert shown("0-9", 10) == "0-9" and shown("10", 10) == "E" and shown("0-9:10", 10) == "E"
    assert shown("0-4", 0) == "E" and shown("", 0) is None      # MaxArraySize=0: arrays disabled
    assert parse_array("5000000", None).tasks == (5000000,)     # stored text is re-read unbounded


def test_environment_values():
    # SLURM_ARRAY_TASK_{COUNT,MIN,MAX,STEP} seen by the tasks of --array=1,3,5-7 and 0-20:4
    spec = parse_array("1,3,5-7", 1001)
    assert (spec.count, spec.min, spec.max, spec.step) == (5, 1, 7, 1)
    spec = parse_array("0-20:4", 1001)
    assert (spec.count, spec.min, spec.max, spec.step) == (6, 0, 20, 4)
    # --array=0-8:4 and 1,3,5,7: the step comes from the text, not from the tasks
    assert parse_array("0-8:4", 1001).step == 4 and parse_array("1,3,5,7", 1001).step == 1


def test_parse_indices_reads_printed_forms():
    assert parse_indices("1,3,5-7") == [1, 3, 5, 6, 7]
    assert parse_indices("[0-20:4%2]") == [0, 4, 8, 12, 16, 20]
    assert parse_indices("") == []


def test_remove_index():
    tasks = [1, 3, 5]
    assert remove_index(tasks, 3) and tasks == [1, 5]
    assert not remove_index(tasks, 4) and tasks == [1, 5]


# scancel 409_[...] (observed: these are hostlist-style ranges, no steps)
@pytest.mark.parametrize("text, expected", [
    ("1-3", [1, 2, 3]), ("5,7", [5, 7]), (" 1", [1]), ("01", [1]), ("7-", []), ("1-3,2-4", [1, 2, 3, 4]),
    ("10-16:2", "_parse_single_range: Invalid range: `10-16:2'"),
    ("3-1", "_parse_single_range: Invalid range: `3-1'"), ("-8", "_parse_single_range: Invalid range: `-8'"),
    ("9x", "_parse_single_range: Invalid range: `9x'"), ("abc", "_parse_single_range: Invalid range: `abc'"),
    ("4-5,", "_parse_single_range: Invalid range: `'"), ("", "_parse_single_range: Invalid range: `'"),
    ("0-99999", "_parse_single_range: Too many hosts in range `0-99999'"),
])
def test_scancel_task_ranges(text, expected):
    try:
        got = parse_task_ranges(text)
    except ArrayError as error:
        got = error.message
    assert got == expected


task_sets = st.lists(st.integers(0, 4_000_000), min_size=1, max_size=60, unique=True).map(sorted)
small_sets = st.lists(st.integers(0, 1000), min_size=1, max_size=60, unique=True).map(sorted)
progressions = st.builds(lambda a, s, n: list(range(a, a + s * n, s)),
                         st.integers(0, 500), st.integers(1, 40), st.integers(1, 30))


@given(st.one_of(task_sets, small_sets, progressions), st.integers(0, 2 ** 31 - 1))
def test_printed_form_reads_back(tasks, throttle):
    text = task_text(tasks, throttle)
    spec = parse_array(text, None)
    assert spec is not None and list(spec.tasks) == tasks and spec.throttle == throttle
    assert parse_indices(f"[{text}]") == tasks


@given(small_sets)
def test_printed_form_is_accepted_by_the_submit_check(tasks):
    # what squeue prints can be submitted again with the same MaxArraySize
    assert list(parse_array(format_indices(tasks), 1001).tasks) == tasks


@given(st.text(alphabet="0123456789-:,%[] +x\t", max_size=30), st.integers(0, 5000))
def test_any_input_parses_or_is_refused(text, max_array_size):
    try:
        spec = parse_array(text, max_array_size)
    except ArrayError:
        return
    if spec is not None:
        assert spec.tasks == tuple(sorted(set(spec.tasks))) and all(0 <= t < max_array_size for t in spec.tasks)
        assert spec.throttle >= 0


@given(st.text(max_size=40))
def test_no_crash_on_any_text(text):
    for call in (lambda: parse_array(text, 1001), lambda: parse_array(text, None),
                 lambda: parse_indices(text), lambda: parse_task_ranges(text)):
        try:
            call()
        except ArrayError:
            pass
