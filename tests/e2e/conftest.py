import pytest

from tests.e2e import harness


@pytest.fixture(autouse=True)
def _private_state_home(tmp_path, monkeypatch):
    # slurm-local remembers the last cluster under XDG_STATE_HOME; keep tests out of the user's
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))


@pytest.fixture
def cluster(tmp_path):
    c = harness.start(tmp_path, nodes=2, cpus=4, mem=4000, gpus=2)
    yield c
    harness.stop(c)
