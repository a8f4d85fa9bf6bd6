#!/usr/bin/env bash
# Run the test suite (SQLite and PostgreSQL). PostgreSQL must answer on 127.0.0.1:5432 (or
# SLURMPY_TEST_PG_URL); its tests fail, not skip, when it does not.
#   scripts/test.sh            all tests
#   scripts/test.sh -m "not slow"   the quick subset
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-venv.sh
exec .venv/bin/python -m pytest "$@"
