"""The agent's durable memory of runs: one directory per run, `<spool>/job<ID>.<ATTEMPT>/`.

It holds the batch script and `run.json`, the run's record. The record is written atomically
(temporary file, rename) once when the process has started and once when it has ended, each time
BEFORE the controller is told, so a crash of the agent never loses a start or a completion the
controller has not acknowledged. The end record is also made durable against a crash of the
machine (fsync of the file and of the directory); the start record need not be: after a power
loss the process is gone anyway, and a run directory without a record is reported as node_fail,
which is what the lost start record would have led to. The directory is removed when the
controller acknowledges the end (EndAck).
"""
from __future__ import annotations

import enum
import json
import logging
import os
import re
import shutil
from dataclasses import asdict, dataclass, replace
from pathlib import Path

log = logging.getLogger("nodeagent.spool")

RECORD_NAME = "run.json"
SCRIPT_NAME = "script"
_RUN_DIR = re.compile(r"^job(\d+)\.(\d+)$")


class RunPhase(enum.StrEnum):
    LAUNCHING = "launching"    # directory exists but no record: the agent died while starting it
    RUNNING = "running"
    ENDED = "ended"            # ended, RunEnded not yet acknowledged


@dataclass(frozen=True, slots=True)
class RunResult:
    outcome: str
    exit_code: int
    signal: int
    end_time: float
    message: str = ""
    max_rss_kb: int = 0
    cpu_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class RunRecord:
    job_id: int
    attempt: int
    phase: RunPhase
    pid: int = 0
    proc_start_ticks: int = 0       # /proc/<pid>/stat starttime: tells a re-used pid from ours
    start_time: float = 0.0
    time_limit: float | None = None
    result: RunResult | None = None
    warn_signal: int = 0            # --signal, kept so an agent restart still sends it
    warn_time: float = 0.0
    warn_batch_only: bool = False
    stderr: str = ""                # the batch step's error file, for slurmstepd's kill notice

    def ended(self, result: RunResult) -> RunRecord:
        return replace(self, phase=RunPhase.ENDED, result=result)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @staticmethod
    def from_json(data: bytes) -> RunRecord:
        body = json.loads(data)
        result = body.pop("result", None)
        return RunRecord(
            job_id=int(body["job_id"]), attempt=int(body["attempt"]),
            phase=RunPhase(body["phase"]), pid=int(body.get("pid", 0)),
            proc_start_ticks=int(body.get("proc_start_ticks", 0)),
            start_time=float(body.get("start_time", 0.0)),
            time_limit=None if body.get("time_limit") is None else float(body["time_limit"]),
            result=RunResult(**result) if result else None,
            warn_signal=int(body.get("warn_signal", 0)), warn_time=float(body.get("warn_time", 0.0)),
            warn_batch_only=bool(body.get("warn_batch_only", False)), stderr=str(body.get("stderr", "")),
        )


class Spool:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        # 0755: a job running as another user must traverse it to reach its script.
        self.root.mkdir(mode=0o755, parents=True, exist_ok=True)

    def run_dir(self, job_id: int, attempt: int) -> Path:
        return self.root / f"job{job_id}.{attempt}"

    def has_run(self, job_id: int, attempt: int) -> bool:
        return self.run_dir(job_id, attempt).exists()

    def write_script(self, job_id: int, attempt: int, text: str,
                     owner: tuple[int, int] | None = None) -> Path:
        """Create the run's directory and its script (mode 0700, owned by the job's user when
        given). The directory stays the agent's (0711) so the user cannot edit the record."""
        directory = self.run_dir(job_id, attempt)
        directory.mkdir(mode=0o711, exist_ok=True)
        path = directory / SCRIPT_NAME
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o700)
        try:
            os.write(fd, text.encode("utf-8", errors="surrogateescape"))
            if owner is not None:
                os.fchown(fd, owner[0], owner[1])
            os.fchmod(fd, 0o700)
        finally:
            os.close(fd)
        return path

    def save(self, record: RunRecord, durable: bool = True) -> None:
        directory = self.run_dir(record.job_id, record.attempt)
        directory.mkdir(mode=0o711, exist_ok=True)
        final = directory / RECORD_NAME
        temporary = directory / (RECORD_NAME + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, record.to_json())
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(temporary, final)
        if not durable:
            return
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)     # makes the rename itself durable
        finally:
            os.close(dir_fd)

    def load_all(self) -> list[RunRecord]:
        """Every run the spool knows, in job order. A directory without a readable record is a
        run whose start was interrupted (phase LAUNCHING)."""
        records = []
        for entry in sorted(self.root.iterdir()):
            match = _RUN_DIR.match(entry.name)
            if not match or not entry.is_dir():
                continue
            job_id, attempt = int(match[1]), int(match[2])
            try:
                record = RunRecord.from_json((entry / RECORD_NAME).read_bytes())
            except FileNotFoundError:
                record = RunRecord(job_id, attempt, RunPhase.LAUNCHING)
            except (ValueError, KeyError, TypeError) as exc:
                log.error("unreadable spool record %s (%s); treating the run as interrupted",
                          entry / RECORD_NAME, exc)
                record = RunRecord(job_id, attempt, RunPhase.LAUNCHING)
            records.append(record)
        return records

    def remove(self, job_id: int, attempt: int) -> None:
        directory = self.run_dir(job_id, attempt)
        try:    # the usual content, without rmtree's directory walk
            for name in (SCRIPT_NAME, RECORD_NAME):
                os.unlink(directory / name)
            os.rmdir(directory)
        except OSError:
            shutil.rmtree(directory, ignore_errors=True)
