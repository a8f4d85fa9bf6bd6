"""The shape of the conf package: its exported surface, lazy imports and stdlib-only imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import conf

CONF_DIR = Path(conf.__file__).parent


def test_exported_surface() -> None:
    assert conf.__all__ == sorted(conf.__all__)
    for name in conf.__all__:
        assert getattr(conf, name) is not None
    assert conf.expand_hostlist("n[1-2]") == ["n1", "n2"]
    assert {"load_config", "parse_config_text", "Config", "ConfigError", "parse_duration"} <= set(conf.__all__)


def test_importing_conf_or_timefmt_loads_no_parser() -> None:
    code = (
        "import sys, conf, conf.timefmt, conf.hostlist\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('conf.'))\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "conf.errors,conf.hostlist,conf.timefmt"


def test_conf_imports_only_the_standard_library_and_itself() -> None:
    stdlib = sys.stdlib_module_names
    for path in CONF_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = [node.module.split(".")[0]]
            else:
                continue
            for root in roots:
                assert root in stdlib or root == "conf", f"{path.name} imports {root}"


def test_errors_share_one_root_with_exit_codes() -> None:
    from conf.errors import ConfError, ConfigError, HostlistError, TimeFormatError, UnitError

    for error_type in (ConfigError, HostlistError, TimeFormatError, UnitError):
        assert issubclass(error_type, ConfError) and issubclass(error_type, ValueError)
        assert error_type.exit_code == 1 and error_type.code
