"""commands.getopt against glibc getopt_long behaviour (messages observed through Slurm 22.05's
sbatch and scancel, which print glibc's words)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from commands.getopt import NO_ARGUMENT, OPTIONAL, REQUIRED, GetoptError, OptionTable
from commands.sbatch_options import TABLE as SBATCH_TABLE
from commands.scancel import TABLE as SCANCEL_TABLE

TABLE = OptionTable("vHn:N:t:p:x::", [
    ("verbose", NO_ARGUMENT, "v"), ("hold", NO_ARGUMENT, "H"), ("ntasks", REQUIRED, "n"),
    ("nodes", REQUIRED, "N"), ("time", REQUIRED, "t"), ("parsable", NO_ARGUMENT, "parsable"),
    ("partition", REQUIRED, "p"), ("nice", OPTIONAL, "nice"), ("cluster", REQUIRED, "M"),
    ("clusters", REQUIRED, "M"),
])


def parse(argv, stop=True):
    return TABLE.parse(argv, stop_at_operand=stop)


@pytest.mark.parametrize("argv, options, operands", [
    (["-vvH"], [("v", None), ("v", None), ("H", None)], []),
    (["-n4", "-N2", "-tfoo"], [("n", "4"), ("N", "2"), ("t", "foo")], []),
    (["-vn", "4"], [("v", None), ("n", "4")], []),
    (["--ntasks=4", "--nodes", "2"], [("n", "4"), ("N", "2")], []),
    (["--part=gpu", "--parsable"], [("p", "gpu"), ("parsable", None)], []),
    (["--nice", "--nice=5", "--nice="], [("nice", None), ("nice", "5"), ("nice", "")], []),
    (["--partition="], [("p", "")], []),
    (["-x", "-xy"], [("x", None), ("x", "y")], []),
    (["--clus=a"], [("M", "a")], []),  # two aliases of one option are not ambiguous
    (["--", "-v", "x"], [], ["-v", "x"]),
    (["-v", "script.sh", "-H", "--foo"], [("v", None)], ["script.sh", "-H", "--foo"]),
    (["-", "-v"], [], ["-", "-v"]),
    (["-p", "--hold"], [("p", "--hold")], []),  # a required value may look like an option
])
def test_accepts_getopt_long_forms(argv, options, operands):
    assert parse(argv) == (options, operands)


def test_permutation_collects_operands_and_keeps_parsing():
    assert parse(["12", "-v", "13", "--", "-H"], stop=False) == ([("v", None)], ["12", "13", "-H"])


@pytest.mark.parametrize("argv, message", [
    (["--foo"], "unrecognized option '--foo'"),
    (["--foo=bar"], "unrecognized option '--foo=bar'"),
    (["-y"], "invalid option -- 'y'"),
    (["-vy"], "invalid option -- 'y'"),
    (["-p"], "option requires an argument -- 'p'"),
    (["-Hp"], "option requires an argument -- 'p'"),
    (["--partition"], "option '--partition' requires an argument"),
    (["--part"], "option '--partition' requires an argument"),
    (["--hold=x"], "option '--hold' doesn't allow an argument"),
    (["--ho=x"], "option '--hold' doesn't allow an argument"),
    (["--pa"], "option '--pa' is ambiguous; possibilities: '--parsable' '--partition'"),
    (["--pa=x"], "option '--pa=x' is ambiguous; possibilities: '--parsable' '--partition'"),
    (["-:"], "invalid option -- ':'"),
])
def test_errors_have_glibc_words(argv, message):
    with pytest.raises(GetoptError) as caught:
        parse(argv)
    assert caught.value.text == message


# Golden lines from Slurm 22.05.8 (glibc 2.36); each produced by the command in the comment.
@pytest.mark.parametrize("argv, message", [
    # sbatch --n
    (["--n"], "option '--n' is ambiguous; possibilities: '--network' '--nice' '--no-kill' '--no-requeue' "
              "'--nodefile' '--nodelist' '--nodes' '--ntasks' '--ntasks-per-core' '--ntasks-per-gpu' "
              "'--ntasks-per-node' '--ntasks-per-socket' '--ntasks-per-tres'"),
    # sbatch --c
    (["--c"], "option '--c' is ambiguous; possibilities: '--cluster-constraint' '--chdir' '--cluster' "
              "'--clusters' '--comment' '--container' '--context' '--contiguous' '--constraint' '--core-spec' "
              "'--cores-per-socket' '--cpu-freq' '--cpus-per-gpu' '--cpus-per-task'"),
    # sbatch --me
    (["--me"], "option '--me' is ambiguous; possibilities: '--mem' '--mem-bind' '--mem-per-cpu' '--mem-per-gpu'"),
    # sbatch --clu
    (["--clu"], "option '--clu' is ambiguous; possibilities: '--cluster-constraint' '--cluster' '--clusters'"),
    # sbatch --u
    (["--u"], "option '--u' is ambiguous; possibilities: '--uid' '--use-min-nodes' '--usage'"),
    # sbatch --v
    (["--v"], "option '--v' is ambiguous; possibilities: '--verbose' '--version'"),
    # sbatch --f
    (["--f"], "unrecognized option '--f'"),
    # sbatch ---x
    (["---x"], "unrecognized option '---x'"),
    # sbatch --cluster
    (["--cluster"], "option '--cluster' requires an argument"),
    # sbatch --hol=x
    (["--hol=x"], "option '--hold' doesn't allow an argument"),
    # sbatch -f
    (["-f"], "invalid option -- 'f'"),
    # sbatch -J
    (["-J"], "option requires an argument -- 'J'"),
])
def test_sbatch_table_matches_slurm(argv, message):
    with pytest.raises(GetoptError) as caught:
        SBATCH_TABLE.parse(argv, stop_at_operand=True)
    assert caught.value.text == message


def test_sbatch_table_order_is_slurms():
    # sbatch --=x lists every long option, in Slurm 22.05's table order
    observed = ("account acctg-freq array batch begin bb bbf cluster-constraint chdir cluster clusters comment "
                "container context contiguous constraint core-spec cores-per-socket cpu-freq cpus-per-gpu "
                "cpus-per-task deadline delay-boot dependency distribution error exclude exclusive export "
                "export-file extra-node-info get-user-env gid gpu-bind gpu-freq gpus gpus-per-node "
                "gpus-per-socket gpus-per-task gres gres-flags help hint hold ignore-pbs input job-name "
                "kill-on-invalid-dep licenses mail-type mail-user mcs-label mem mem-bind mem-per-cpu "
                "mem-per-gpu mincpus network nice no-kill no-requeue nodefile nodelist nodes ntasks "
                "ntasks-per-core ntasks-per-gpu ntasks-per-node ntasks-per-socket ntasks-per-tres open-mode "
                "output overcommit oversubscribe parsable partition power prefer priority profile propagate "
                "qos quiet reboot requeue reservation signal sockets-per-node spread-job switches "
                "tasks-per-node test-only thread-spec threads-per-core time time-min tmp uid use-min-nodes "
                "verbose version usage wait wait-all-nodes wckey wrap").split()
    assert [name for name, _, _ in SBATCH_TABLE.longs] == observed


@pytest.mark.parametrize("argv, message", [
    # scancel --s
    (["--s"], "option '--s' is ambiguous; possibilities: '--sibling' '--signal' '--state'"),
    # scancel --si=x 1
    (["--si=x", "1"], "option '--si=x' is ambiguous; possibilities: '--sibling' '--signal'"),
    # scancel --sig
    (["--sig"], "option '--signal' requires an argument"),
    # scancel --batch=1 1
    (["--batch=1", "1"], "option '--batch' doesn't allow an argument"),
    # scancel -z
    (["-z"], "invalid option -- 'z'"),
    # scancel -h
    (["-h"], "invalid option -- 'h'"),
])
def test_scancel_table_matches_slurm(argv, message):
    with pytest.raises(GetoptError) as caught:
        SCANCEL_TABLE.parse(argv, stop_at_operand=False)
    assert caught.value.text == message


_WORDS = st.lists(st.one_of(
    st.text(max_size=12),
    st.sampled_from(["-", "--", "-v", "-n", "--n", "--nice", "--nice=", "--pa", "--part=x", "-vn4", "--=x"]),
), max_size=8)


@settings(max_examples=300, deadline=None)
@given(_WORDS, st.booleans())
def test_never_crashes(argv, stop):
    for table in (TABLE, SBATCH_TABLE, SCANCEL_TABLE):
        try:
            options, operands = table.parse(argv, stop_at_operand=stop)
        except GetoptError as error:
            assert error.text
        else:
            assert all(isinstance(key, str) for key, _ in options)
            assert all(isinstance(word, str) for word in operands)
