"""Capture the sbatch golden corpus from real Slurm 22.05 (/usr/bin/sbatch & co. with
SLURM_CONF=/etc/slurm/slurm.conf): one JSON file per case under tests/golden/sbatch/, holding the
case, the real command lines that made it (`command`) and what Slurm did (`observed`).

    python -m tests.golden.capture_sbatch [NAME...]
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from tests.golden.corpus import command_line, run_case
from tests.golden.sbatch_cases import CASES

REAL_BIN = "/usr/bin"
REAL_CONF = "/etc/slurm/slurm.conf"
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sbatch")
WORK_ROOT = "/tmp/golden-capture"


def capture(case: dict) -> str:
    observed = run_case(case, REAL_BIN, REAL_CONF, WORK_ROOT)
    version = subprocess.run([f"{REAL_BIN}/sbatch", "--version"], capture_output=True, text=True).stdout.strip()
    record = {"case": case, "command": command_line(case), "slurm": version, "observed": observed}
    with open(os.path.join(OUT_DIR, case["name"] + ".json"), "w") as handle:
        json.dump(record, handle, indent=1, sort_keys=True)
    return case["name"]


def main(names: list[str]) -> int:
    os.makedirs(OUT_DIR, exist_ok=True)
    chosen = [c for c in CASES if not names or c["name"] in names]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for name in pool.map(capture, chosen):
            print("captured", name, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
