"""Hypothesis properties of sbatch's parsing: the option parser, #SBATCH directives, the time
grammars and the job-option values (--signal, --mail-type, --priority).

- No input crashes: any argv, any script, any environment ends in a Submission or an SbatchExit
  whose lines are Slurm's (`sbatch: error: ...`, `sbatch: fatal: ...`, getopt's `sbatch: ...`
  + `Try "sbatch --help"...`, the time parser's `Invalid time specification (pos=N): ...`) and
  whose exit code is Slurm's (1, or 255 for bad values found while parsing options).
- Round trips: a value written in any of Slurm's spellings parses back to itself, and an option
  means the same on the command line, as a #SBATCH directive, and as an SBATCH_* variable.
"""
from __future__ import annotations

import datetime as dt
import string

from hypothesis import HealthCheck, given, settings, strategies as st

from commands.sbatch import SbatchExit, build_spec, build_submission
from commands.sbatch_job_options import MAIL_TYPES, SIGNAL_NUMBERS, parse_mail_type, parse_signal
from commands.sbatch_options import OptionValueError, fast_minutes
from conf.timefmt import format_duration, parse_minutes, parse_timestamp

NOW = 1_700_000_000.0
ENV = {"PATH": "/usr/bin:/bin", "HOME": "/root"}
SCRIPT = "#!/bin/sh\ntrue\n"
TRY = 'Try "sbatch --help" for more information'
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

OPTION_WORDS = st.sampled_from([
    "-J", "-p", "-t", "-n", "-c", "-N", "--mem", "--mem-per-cpu", "--begin", "--deadline", "--signal",
    "--mail-type", "--mail-user", "--priority", "--nice", "--open-mode", "--cpus-per-gpu", "--mem-per-gpu",
    "--gpus-per-task", "--export", "--wckey", "--reservation", "--requeue", "--no-requeue", "-H", "--hold",
    "--parsable", "-Q", "--comment", "-d", "--dependency", "-o", "-e", "--wrap", "--exclusive", "--test-only",
    "--time=", "--sig", "--", "-", "--bogus", "-y", "-Hp",
])
WORDS = st.one_of(OPTION_WORDS, st.text(max_size=12), st.sampled_from(["10", "0", "-1", "1-2", "USR1@30",
                                                                       "now+1hour", "ALL", "gpu", "B:TERM"]))


def _check_exit(stop: SbatchExit) -> None:
    assert stop.exit_code in (0, 1, 255), stop.exit_code
    for line in stop.stderr_lines:
        assert (line.startswith("sbatch: ") or line == TRY
                or line.startswith("Invalid time specification (pos=")), line


@FAST
@given(st.lists(WORDS, max_size=8))
def test_any_command_line_ends_in_a_spec_or_slurms_error(argv):
    try:
        build_submission([*argv, "--wrap", "true"], ENV, "/tmp", None, now=NOW)
    except SbatchExit as stop:
        _check_exit(stop)


@FAST
@given(st.lists(st.tuples(st.sampled_from(["#SBATCH ", "#SBATCH", "#SLURM ", "# ", "", "  #SBATCH "]),
                          st.lists(WORDS, max_size=4)), max_size=6),
       st.sampled_from(["#!/bin/sh\n", "#!/bin/bash\r\n", "", "echo\n"]))
def test_any_script_ends_in_a_spec_or_slurms_error(lines, head):
    script = head + "".join(prefix + " ".join(words) + "\n" for prefix, words in lines)
    try:
        build_submission([], ENV, "/tmp", script, now=NOW)
    except SbatchExit as stop:
        _check_exit(stop)


@FAST
@given(st.dictionaries(st.sampled_from(["SBATCH_JOB_NAME", "SBATCH_PARTITION", "SBATCH_TIMELIMIT",
                                        "SBATCH_MEM_PER_NODE", "SBATCH_MEM_PER_CPU", "SBATCH_EXPORT",
                                        "SBATCH_NO_REQUEUE", "SBATCH_OPEN_MODE", "SBATCH_EXCLUSIVE"]),
                       st.text(max_size=10), max_size=5))
def test_any_sbatch_environment_ends_in_a_spec_or_slurms_error(variables):
    try:
        build_submission(["--wrap", "true"], {**ENV, **variables}, "/tmp", None, now=NOW)
    except SbatchExit as stop:
        _check_exit(stop)


# ---- round trips ----------------------------------------------------------------------------

@FAST
@given(st.integers(min_value=1, max_value=400 * 24 * 60))
def test_time_limits_round_trip_through_every_spelling(minutes):
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    spellings = [str(minutes), f"{minutes}:00", f"{days * 24 + hours}:{mins}:00", f"{days}-{hours}",
                 f"{days}-{hours}:{mins}", f"{days}-{hours}:{mins}:00", format_duration(minutes * 60)]
    for text in spellings:
        if text == f"{days}-{hours}" and mins:
            continue
        assert parse_minutes(text) == minutes, text
        quick = fast_minutes(text)
        assert quick in (None, minutes), text
        assert build_spec(["-t", text, "--wrap", "x"], ENV, "/tmp", now=NOW)["time_limit_min"] == minutes


@FAST
@given(st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2037, 12, 31)))
def test_begin_and_deadline_iso_times_round_trip(moment):
    moment = moment.replace(microsecond=0)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    epoch = int(moment.timestamp())
    assert int(parse_timestamp(text, NOW)) == epoch
    spec = build_spec([f"--begin={text}", f"--deadline={text}", "--wrap", "x"], ENV, "/tmp", now=NOW)
    assert spec["begin_time"] == epoch == spec["deadline"]


@FAST
@given(st.integers(min_value=0, max_value=10_000), st.sampled_from(["seconds", "minutes", "hours", "days", "weeks"]))
def test_relative_times_are_now_plus_the_offset(count, unit):
    seconds = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}[unit]
    assert parse_timestamp(f"now+{count}{unit}", NOW) == NOW + count * seconds


@FAST
@given(st.sampled_from(["", "B:", "R:", "RB:", "b:"]), st.sampled_from(sorted(SIGNAL_NUMBERS)),
       st.booleans(), st.one_of(st.none(), st.integers(min_value=0, max_value=0xFFFF)))
def test_signal_specifications_round_trip(flags, name, prefixed, seconds):
    text = f"{flags}{'SIG' if prefixed else ''}{name}" + ("" if seconds is None else f"@{seconds}")
    number, when, shown_flags = parse_signal(text)
    assert number == SIGNAL_NUMBERS[name]
    assert when == (60 if seconds is None else seconds)
    assert shown_flags == "".join(c for c in "RB" if c in flags.upper())
    assert parse_signal(f"{shown_flags + ':' if shown_flags else ''}{number}@{when}") == (number, when, shown_flags)


@FAST
@given(st.text(alphabet=string.printable, max_size=20))
def test_signal_errors_are_slurms(text):
    try:
        parse_signal(text)
    except OptionValueError as error:
        assert error.line == "Invalid --signal specification" and error.exit_code == 255


@FAST
@given(st.lists(st.sampled_from([*MAIL_TYPES, "ALL", "NONE", "begin", "end", "FOO"]), min_size=1, max_size=6))
def test_mail_types_are_canonical_and_stable(words):
    text = ",".join(words)
    known = [w for w in words if w.upper() in (*MAIL_TYPES, "ALL", "NONE")]
    try:
        canonical = parse_mail_type(text)
    except OptionValueError as error:
        assert not known and error.line == "Invalid --mail-type specification"
        return
    assert known
    if canonical:
        assert parse_mail_type(canonical) == canonical


@FAST
@given(st.text(alphabet=string.ascii_letters + string.digits + "_-.", min_size=1, max_size=12),
       st.integers(min_value=1, max_value=10_000), st.integers(min_value=-10_000, max_value=10_000),
       st.sampled_from(sorted(SIGNAL_NUMBERS)), st.sampled_from(MAIL_TYPES))
def test_an_option_means_the_same_on_the_command_line_in_the_script_and_in_the_environment(
        name, minutes, nice, signal_name, mail):
    options = [f"--job-name={name}", f"--time={minutes}", f"--nice={nice}", f"--signal={signal_name}@10",
               f"--mail-type={mail}", "--open-mode=append"]
    from_cli = build_spec([*options, "--wrap", "x"], ENV, "/tmp", now=NOW)
    script = "#!/bin/sh\n" + "".join(f"#SBATCH {o}\n" for o in options) + "true\n"
    from_script = build_spec([], ENV, "/tmp", script, now=NOW)
    env = {**ENV, "SBATCH_JOB_NAME": name, "SBATCH_TIMELIMIT": str(minutes), "SBATCH_OPEN_MODE": "append"}
    from_env = build_spec(["--wrap", "x"], env, "/tmp", now=NOW)
    for field in ("name", "time_limit_min", "nice", "signal", "signal_time", "mail_type", "open_mode"):
        assert from_cli[field] == from_script[field], field
    for field in ("name", "time_limit_min", "open_mode"):
        assert from_cli[field] == from_env[field], field
