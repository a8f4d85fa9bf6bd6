"""Rewrite the Slurm-named console scripts in .venv/bin as `python -S` launchers.

Users run sbatch/squeue in shell loops, and site.py alone costs about 7 ms of a ~30 ms call here
(it scans site-packages and its .pth files). The launchers skip it and put the exact sys.path that
site.py would have built (computed now, at install time) in place instead. Run by
scripts/setup-venv.sh after every install; pip overwrites them on reinstall, which is harmless.
"""
from __future__ import annotations

import os
import sys

COMMANDS = ("sbatch", "squeue", "scancel", "sinfo", "scontrol", "sacct", "sdiag", "sprio", "sshare", "srun",
            "salloc", "sacctmgr")

TEMPLATE = """#!{python} -S
# fast launcher written by scripts/fast_launchers.py: -S skips site.py (about 7 ms per call);
# these are the paths site.py would have added
import sys
sys.path[:] = {path!r}
from commands.{module} import main
sys.exit(main())
"""


def main() -> None:
    bindir = os.path.dirname(sys.executable)
    here = os.path.dirname(os.path.abspath(__file__))
    path = [p for p in sys.path if p and os.path.isdir(p) and os.path.abspath(p) != here]
    for name in COMMANDS:
        target = os.path.join(bindir, name)
        text = TEMPLATE.format(python=sys.executable, path=path, module=name)
        tmp = target + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)


if __name__ == "__main__":
    main()
