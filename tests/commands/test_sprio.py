"""sprio layouts against real Slurm 22.05.

tests/commands/data/slurm_sprio.txt was captured on the live Slurm here
(PriorityWeightAge=1000, PriorityWeightFairshare=10000, PriorityWeightJobSize=100; user root the
only user of its association, so FAIRSHARE factor 1.0) by running, with jobs 182..195 pending,
`for a in "" "-l" "-n" "-w" "-l -n" "-w -n" "-h" ...; do sprio $a; done`. Each block there is
compared with what commands.sprio renders from the same factors.
"""
from __future__ import annotations

import pytest

from commands import sprio

GOLDEN = open(__file__.rsplit("/", 1)[0] + "/data/slurm_sprio.txt").read()
WEIGHTS = {"age": 1000, "assoc": 0, "fairshare": 10000, "job_size": 100, "partition": 0,
           "qos": 0, "site": 1}


def _block(args: str) -> list[str]:
    lines = GOLDEN.split(f"=== sprio {args}\n", 1)[1].split("\nrc=", 1)[0].split("\n")
    return lines


def _job(job_id: int, size: float, priority: int) -> dict:
    norm = {"site": 0.0, "age": 0.0, "assoc": 0.0, "fairshare": 1.0, "job_size": size,
            "partition": 0.0, "qos": 0.0}
    weighted = {k: WEIGHTS.get(k, 0) * v for k, v in norm.items()}
    weighted["site"] = 0.0
    return {"job_id": job_id, "partition": "cpu", "user": "root", "account": "root", "qos": "normal",
            "nice": 0, "priority": priority, "normalised": norm, "weighted": weighted, "tres": []}


def _report(ids=(182, 183, 184, 185, 188, 192, 195)) -> dict:
    jobs = [_job(i, 0.171875, 10017) if i == 192 else _job(i, 0.140625, 10014) for i in ids]
    return {"jobs": jobs, "weights": WEIGHTS, "tres_weights": [], "priority_type": "priority/multifactor"}


def _render(report, *, long=False, norm=False, user=False, header=True, weights=False, fmt=None):
    layout = fmt or sprio.default_format(report["weights"], report["tres_weights"], long=long,
                                         norm=norm, user=user)
    return sprio.render(report, layout, header=header, weights_only=weights).rstrip("\n").split("\n")


def test_default_layout_shows_columns_of_nonzero_weights():
    assert _render(_report()) == _block("")


def test_long_layout_shows_every_factor_user_and_nice():
    assert _render(_report(), long=True) == _block("-l")


def test_normalised_values():
    assert _render(_report(), norm=True) == _block("-n")


def test_long_normalised_values():
    # captured after job 182 had started: 183.. remain
    assert _render(_report((183, 184, 185, 188, 195)), long=True, norm=True) == _block("-l -n")


def test_weights_row():
    assert _render(_report(), weights=True) == _block("-w")
    assert _render(_report(), weights=True, norm=True) == _block("-w -n")
    assert _render(_report(), weights=True, norm=True, long=True) == _block("-n -l -w")


def test_no_header_and_explicit_format():
    rep = _report((183, 184, 185, 188, 195))
    assert _render(rep, header=False) == _block("-h")
    assert _render(rep, fmt="%.15i%.10Y%.10F") == _block("-o %.15i%.10Y%.10F")


def test_user_filter_adds_the_user_column_and_may_be_empty():
    assert _render(_report(()), user=True) == _block("-u nobody")


def test_cells_are_cut_to_width_and_normalised_priority_has_14_decimals():
    # real: sprio -o "%5f|%12f|%.12f|%4Y|%3i|%.3i|%20y|%.20y" printed
    # "0.500|0.5000000   |   0.5000000|5100|244|244|0.00000118743628    |    0.00000118743628"
    job = _job(244, 1.0, 5100)
    job["normalised"]["fairshare"] = 0.5
    rep = {"jobs": [job], "weights": WEIGHTS, "tres_weights": []}
    out = sprio.render(rep, "%5f|%12f|%.12f|%4Y|%3i|%.3i|%20y|%.20y", header=True, weights_only=False)
    assert out.split("\n")[:2] == [
        "FAIRS|FAIRSHARE   |   FAIRSHARE|PRIO|JOB|JOB|PRIORITY            |            PRIORITY",
        "0.500|0.5000000   |   0.5000000|5100|244|244|0.00000118743628    |    0.00000118743628"]


@pytest.mark.parametrize(("argv", "stream", "text", "code"), [
    (["--bogus"], "err", "sprio: unrecognized option '--bogus'\nTry \"sprio --help\" for more information\n", 1),
    (["-j", "abc"], "err", "sprio: error: Invalid job id: abc\n", 1),
    (["--usage"], "out", sprio.USAGE, 0),
    (["-V"], "out", "slurm-wlm 22.05.8\n", 0),
])
def test_option_errors_match_slurm(capsys, argv, stream, text, code):
    assert sprio.main(argv) == code
    captured = capsys.readouterr()
    assert (captured.out if stream == "out" else captured.err) == text
