"""The package boundaries of DESIGN.md §2: what each package must never import."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
NEVER = {
    "conf": {"accounting", "slurmctld_py", "nodeagent", "commands", "sdk", "solver", "sqlalchemy", "zmq"},
    "solver": {"accounting", "slurmctld_py", "nodeagent", "commands", "sdk", "zmq", "sqlalchemy", "psycopg"},
    "accounting": {"slurmctld_py", "nodeagent", "commands", "zmq"},
    "nodeagent": {"accounting", "solver", "slurmctld_py", "commands", "sqlalchemy"},
    "sdk": {"accounting", "solver", "slurmctld_py", "sqlalchemy"},
    "commands": {"accounting", "solver", "slurmctld_py", "sqlalchemy"},
}


def imported_roots(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(NEVER))
def test_package_never_imports(package):
    offenders = {}
    for path in (ROOT / package).rglob("*.py"):
        bad = imported_roots(path) & NEVER[package]
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert not offenders, f"{package} crosses its boundary: {offenders}"


def test_solver_reads_no_clock():
    for path in (ROOT / "solver").rglob("*.py"):
        text = path.read_text()
        assert "time.time(" not in text and "datetime.now(" not in text, path
