"""Shared display rules of the view commands (commands/formats.py, fieldfmt.py, optscan.py).

Expected texts were observed on the live Slurm 22.05 here (squeue -o %M/%l/%L, sinfo, scontrol
show job/partition, sacct -o Elapsed,TotalCPU,AllocTRES) unless a comment says otherwise.
"""
import pytest

from commands import fieldfmt, formats
from commands.optscan import ScanError, scan


@pytest.mark.parametrize("secs,text", [
    (0, "0:00"), (32, "0:32"), (1800, "30:00"), (7200, "2:00:00"), (7198, "1:59:58"),
    (86400, "1-00:00:00"), (90061, "1-01:01:01"), (-1, "INVALID"),
])
def test_duration_compact_squeue_style(secs, text):
    assert formats.duration_compact(secs) == text


@pytest.mark.parametrize("secs,text", [
    (19, "00:00:19"), (1800, "00:30:00"), (86400, "1-00:00:00"), (365 * 86400, "365-00:00:00"),
])
def test_duration_padded_scontrol_style(secs, text):
    assert formats.duration_padded(secs) == text


def test_limits_unlimited_words():
    assert formats.limit_compact(None) == "UNLIMITED"          # squeue %l
    assert formats.limit_compact(None, "infinite") == "infinite"  # sinfo TIMELIMIT
    assert formats.limit_padded(None) == "UNLIMITED"           # scontrol TimeLimit
    assert formats.limit_padded(30) == "00:30:00"


@pytest.mark.parametrize("mb,text", [
    (16000, "16000M"), (32000, "32000M"), (64000, "62.50G"),   # scontrol show partition TRES=
    (1000, "1000M"), (4096, "4G"), (0, "0"),
])
def test_mem_units(mb, text):
    assert formats.mem_units(mb) == text


@pytest.mark.parametrize("secs,text", [
    (None, "00:00:00"), (0.003, "00:00.003"), (65.5, "01:05.500"), (3700, "01:01:40"),
])
def test_cpu_time_sacct_totalcpu(secs, text):
    assert formats.cpu_time(secs) == text


def test_rss_kb():
    assert formats.rss_kb(3212) == "3212K"   # sacct MaxRSS of a batch step
    assert formats.rss_kb(None) == ""


def test_timestamp_unknown_and_iso():
    import time
    t = int(time.mktime((2026, 11, 28, 15, 27, 54, 0, 0, -1)))
    assert formats.timestamp(t) == "2026-11-28T15:27:54"
    assert formats.timestamp(0) == "Unknown"
    assert formats.timestamp(0, "N/A") == "N/A"


def test_job_states_parse_compact_long_and_all():
    assert formats.parse_job_states("pd,R,completed") == ["PENDING", "RUNNING", "COMPLETED"]
    assert formats.parse_job_states("all") is None
    with pytest.raises(ValueError):
        formats.parse_job_states("bogus")


def test_node_states():
    assert formats.node_state_compact("MIXED") == "mix"
    assert formats.node_state_compact("DOWN", responding=False) == "down*"
    assert formats.node_state_long("IDLE") == "idle"
    assert formats.node_state_scontrol({"state": "DRAINED"}) == "IDLE+DRAIN"
    assert formats.node_state_scontrol({"state": "DOWN", "responding": False}) == "DOWN+NOT_RESPONDING"


def test_run_seconds_uses_now_for_running_jobs():
    job = {"state": "RUNNING", "start_time": 100, "end_time": 100 + 3600}
    assert formats.run_seconds(job, 130) == 30
    assert formats.run_seconds({"state": "COMPLETED", "start_time": 100, "end_time": 160}, 999) == 60
    assert formats.run_seconds({"state": "PENDING", "start_time": 500}, 999) == 0


def test_fieldfmt_parse_and_fit():
    # Slurm splits at every `%` and skips empty pieces: `%%x` is a field `x` (unknown here)
    items, unknown = fieldfmt.parse("%.18i %-5j%%x%5j", "ij")
    assert items == [("i", 18, True), " %-5j%x", ("j", 5, False)]
    assert unknown == ["-", "x"]
    # observed (tests/golden/views/squeue.json fmt_percent): `%i%%%j` prints JOBID then NAME
    assert fieldfmt.parse("%i%%%j", "ij") == ([("i", 0, False), ("j", 0, False)], [])
    assert fieldfmt.parse("a%%b", "b") == (["a", ("b", 0, False)], [])
    assert fieldfmt.parse("x%.5%y", "y") == (["x%.5", ("y", 0, False)], [""])
    assert fieldfmt.fit("longname_abc", 8, True) == "longname"
    assert fieldfmt.fit("2:00:00", 3, True, cut=False) == "2:00:00"   # squeue %.3l
    assert fieldfmt.fit("2:00:00", 3, False, cut=False) == "2:0"      # squeue %3l
    assert fieldfmt.fit("x", 0, True) == "x"


def test_optscan_getopt_long_behaviour():
    longs = {"noheader": ("h", 0), "jobs": ("j", 2), "format": ("o", 1), "federation": ("F", 0),
             "partition": ("p", 1)}
    opts, rest = scan(["-hj5", "--part=gpu", "-o%i", "x", "--jobs"], "hj::o:p:", longs)
    assert opts == [("h", None), ("j", "5"), ("p", "gpu"), ("o", "%i"), ("j", None)]
    assert rest == ["x"]
    with pytest.raises(ScanError, match="invalid option -- 'z'"):
        scan(["-z"], "h", longs)
    with pytest.raises(ScanError, match="option requires an argument -- 'o'"):
        scan(["-o"], "o:", longs)
    with pytest.raises(ScanError, match="is ambiguous; possibilities: '--format' '--federation'"):
        scan(["--f=x"], "", longs)
    with pytest.raises(ScanError, match="unrecognized option '--bogus'"):
        scan(["--bogus"], "", longs)
