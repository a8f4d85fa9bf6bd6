"""The #SBATCH reader (commands.batchscript) and the value fast paths of sbatch_options.

Expected words come from jobs submitted to Slurm 22.05.8 with `sbatch -H <script>` and read back
with `scontrol show job` (JobName, StdOut, Comment)."""
from __future__ import annotations

import pytest
from hypothesis import example, given, settings, strategies as st

from commands.batchscript import ScriptError, check_script, directive_words, split_directive
from commands.sbatch import SbatchExit, build_spec
from commands.sbatch_options import fast_memory_mb, fast_minutes
from conf.timefmt import parse_minutes
from conf.units import parse_memory_mb


@pytest.mark.parametrize("rest, words", [
    # #SBATCH -J 'my job' -o 'out\ file' # comment   -> JobName=my job, StdOut=.../out file
    (" -J 'my job' -o 'out\\ file' # comment", ["-J", "my job", "-o", "out file"]),
    # #SBATCH --comment="a b"c'd'                       -> Comment=a bcd
    (" --comment=\"a b\"c'd'", ["--comment=a bcd"]),
    # #SBATCH -o "a\ b" -J "x\"y"                       -> StdOut=.../a b, JobName=x"y
    (' -o "a\\ b" -J "x\\"y"', ["-o", "a b", "-J", 'x"y']),
    # #SBATCH -o a\"b -J x#y --comment=x#y             -> StdOut=.../a"b, JobName=x
    (' -o a\\"b -J x#y --comment=x#y', ["-o", 'a"b', "-J", "x"]),
    # #SBATCH -J a#b                                    -> JobName=a
    (" -J a#b", ["-J", "a"]),
    # an unquoted backslash-space ends the word (Invalid directive ...: file)
    (" -o out\\ file", ["-o", "out", "file"]),
    # an empty word ends the line: #SBATCH --comment "" -J x -> --comment requires an argument
    (' --comment "" -J x', ["--comment"]),
    ("-J nospace", ["-J", "nospace"]),  # #SBATCH-J nospace -> JobName=nospace
    (" -J x\t-p cpu", ["-J", "x", "-p", "cpu"]),
    ("", []),
    ("    ", []),
])
def test_split_directive(rest, words):
    assert split_directive(rest) == words


def test_unmatched_quote_is_fatal_with_line_and_rest():
    with pytest.raises(ScriptError) as caught:
        split_directive(' -J "abc', "job.sh", 2)
    assert caught.value.fatal and caught.value.lines == ('job.sh: line 2: Unmatched `"` in [ "abc]',)


def test_directive_words_rules():
    text = ("#!/bin/sh\n#SBATCH -J a\n#sbatch -p lower\n  #SBATCH -p indented\n\n# plain comment\n"
            "#SLURM -H\n#SBATCHfoo\nhostname\n#SBATCH -J late\n")
    assert directive_words(text, "x") == (["-J", "a", "-H", "foo"], True)


@pytest.mark.parametrize("text, first_line", [
    ("", "Batch script is empty!"),
    (" \n\t\v\f\r", "Batch script contains only whitespace!"),
    ("echo\n", "This does not look like a batch script.  The first"),
    ("#!/bin/sh\n\0", "The Slurm controller does not allow scripts that"),
    ("#!/bin/sh\r\n", "Batch script contains DOS line breaks (\\r\\n)"),
])
def test_check_script(text, first_line):
    with pytest.raises(ScriptError) as caught:
        check_script(text)
    assert caught.value.lines[0] == first_line and caught.value.exit_code == 1


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(" \t\\'\"#-=abJ\n\x00é")), max_size=40))
def test_splitter_never_crashes(rest):
    try:
        words = split_directive(rest, "s", 1)
    except ScriptError as error:
        assert error.fatal and error.exit_code == 1
    else:
        assert all(words)


_SCRIPT_LINES = st.lists(st.one_of(
    st.sampled_from(["#!/bin/sh", "", "  ", "# c", "#SBATCH -J x", "#SBATCH --foo", "#SBATCH -t", "#SBATCH -N 2-1",
                     "#SLURM -H", "#SBATCH --mem=1G --mem-per-cpu=1", "#SBATCH 'oops", "hostname", "#SBATCH -w a/b"]),
    st.text(max_size=20).map(lambda t: "#SBATCH " + t),
    st.text(max_size=20),
), max_size=8)


@settings(max_examples=300, deadline=None)
@given(_SCRIPT_LINES, st.lists(st.text(max_size=8), max_size=4))
@example(["#!/bin/sh", "#SBATCH -N 99999999999"], [])
def test_build_spec_never_crashes(lines, argv):
    # arbitrary scripts and command lines: a spec, or one of our clean exits (0, 1 or 255)
    try:
        spec = build_spec(argv, {"PATH": ""}, "/nonexistent-dir", "\n".join(lines), now=0.0)
    except SbatchExit as stop:
        assert stop.exit_code in (0, 1, 255)
        assert stop.stderr_lines or stop.stdout
    else:
        assert spec["script"].startswith("#!")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789:-")), max_size=12))
@example("1-1:60:15")
@example("60:15")
def test_fast_minutes_agrees_with_conf(text):
    quick = fast_minutes(text)
    if quick is None:
        return
    assert quick == parse_minutes(text)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789kKmMgGtTbBX")), max_size=8))
@example("1025K")
def test_fast_memory_agrees_with_conf(text):
    quick = fast_memory_mb(text)
    if quick is None:
        return
    assert quick == parse_memory_mb(text)
