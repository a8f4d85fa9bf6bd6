"""Writing a command's output the way Slurm's tools behave in pipelines."""
from __future__ import annotations

import os
import sys


def write_stdout(text: str) -> None:
    """Write and flush; a reader that went away (`squeue | head`) is not an error."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # keep the interpreter's final flush from failing on the closed pipe too
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
