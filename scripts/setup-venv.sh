#!/usr/bin/env bash
# Create .venv (Python 3.11+) and install the project with its test extras. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
# compat editable mode: a plain path entry, so the Slurm-named commands start without the
# import-hook finder (about 25 ms per call otherwise)
.venv/bin/python -m pip install -q -e '.[test]' --config-settings editable_mode=compat
# byte-compile our packages: with PYTHONDONTWRITEBYTECODE set (as on some machines) every
# command call would otherwise recompile what it imports
.venv/bin/python -m compileall -q conf sdk commands nodeagent slurmctld_py solver accounting >/dev/null
.venv/bin/python scripts/fast_launchers.py
