"""The synchronous Python client: what the commands and ML engineers' code call.

    from sdk import Client, JobSpec
    c = Client()                       # finds the cluster like the commands do
    job_id = c.submit(JobSpec(script="#!/bin/sh\necho hi\n", name="hi"))
    print(c.job(job_id).state)
"""
from __future__ import annotations

import os

from dataclasses import dataclass

from sdk.discovery import controller_socket, find_conf
from sdk.errors import ConfigNotFound, SlurmError
from sdk.records import AcctRecord, JobInfo, JobSpec, NodeInfo, PartitionInfo
from sdk.transport import LocalTransport


@dataclass(frozen=True, slots=True)
class CancelResult:
    job_id: str                 # as the caller named it
    code: str = ""              # '' on success, else an errors.ERROR_TEXT key
    message: str = ""


class Client:
    def __init__(self, conf_path: str | None = None, *, socket_path: str | None = None,
                 endpoint: str | None = None, token: str | None = None, timeout: float = 60.0) -> None:
        """Local (the controller's Unix socket, found from slurm.conf) unless `endpoint`
        ('tcp://host:port' of the controller's client port) is given; a remote client needs a
        `token` (default: $SLURM_JWT, as `scontrol token` prints it)."""
        if endpoint is not None:
            from sdk.transport import RemoteTransport
            token = token or os.environ.get("SLURM_JWT", "")
            if not token:
                raise SlurmError("ACCESS_DENIED", "a remote client needs a token (SLURM_JWT)")
            self.conf_path = conf_path
            self._transport = RemoteTransport(endpoint, token, timeout)
            return
        if socket_path is None:
            conf_path = conf_path or find_conf()
            if not conf_path:
                raise ConfigNotFound("CONNECTION", "could not find slurm.conf (set SLURM_CONF)")
            try:
                socket_path = controller_socket(conf_path)
            except OSError as exc:
                raise ConfigNotFound("CONNECTION", f"cannot read {conf_path}: {exc.strerror}") from None
        self.conf_path = conf_path
        self._transport = LocalTransport(socket_path, timeout)

    def call(self, op: str, args: dict | None = None):
        return self._transport.call(op, args)

    # ---- jobs ----
    def submit(self, spec: JobSpec, *, idempotency_key: str | None = None) -> int:
        """Submit one job; returns its id once the controller has committed it. A retry with the
        same idempotency key returns the same id instead of a second job."""
        key = idempotency_key or os.urandom(16).hex()
        return int(self.call("submit", {"jobs": [spec.to_wire()], "keys": [key]})["job_ids"][0])

    def submit_many(self, specs: list[JobSpec], *, idempotency_keys: list[str] | None = None) -> list[int]:
        """Submit several jobs in one request and one transaction (all or nothing)."""
        keys = idempotency_keys or [os.urandom(16).hex() for _ in specs]
        if len(keys) != len(specs):
            raise ValueError("one idempotency key per job")
        res = self.call("submit", {"jobs": [s.to_wire() for s in specs], "keys": keys})
        return [int(j) for j in res["job_ids"]]

    def jobs(self, job_ids: list[int] | None = None, *, include_finished: bool = False) -> list[JobInfo]:
        """Jobs the controller holds (pending, running and, with include_finished, those that
        ended within MinJobAge). Unknown ids in job_ids raise INVALID_JOB_ID when none is found."""
        args: dict = {"include_finished": include_finished}
        if job_ids is not None:
            args["job_ids"] = [int(j) for j in job_ids]
        return [JobInfo.from_wire(d) for d in self.call("jobs", args)["jobs"]]

    def job(self, job_id: int) -> JobInfo:
        found = self.jobs([job_id], include_finished=True)
        if not found:
            raise SlurmError("INVALID_JOB_ID")
        return found[0]

    def jobs_raw(self, job_ids: list[int] | None = None, *, include_finished: bool = False) -> list[dict]:
        """Like jobs(), as wire maps: the hot path of squeue skips building records."""
        args: dict = {"include_finished": include_finished}
        if job_ids is not None:
            args["job_ids"] = [int(j) for j in job_ids]
        return self.call("jobs", args)["jobs"]

    def cancel(self, job_ids: list[int] | None = None, *, signal: int | None = None,
               batch_only: bool = False, user: str | None = None, name: str | None = None,
               partition: str | None = None, states: list[str] | None = None,
               nodes: str | None = None) -> list[CancelResult]:
        """Cancel (or, with `signal`, signal) the named jobs, or every job matching all filters.
        Only the job's owner or root may; others get ACCESS_DENIED per job."""
        args = {"job_ids": [int(j) for j in job_ids or []], "signal": signal, "batch_only": batch_only,
                "user": user, "name": name, "partition": partition, "states": states, "nodes": nodes}
        res = self.call("cancel", args)
        return [CancelResult(str(r["job_id"]), r.get("code", ""), r.get("message", ""))
                for r in res["results"]]

    def wait(self, job_id: int, *, poll: float = 0.5, timeout: float | None = None) -> JobInfo:
        """Block until the job has ended; returns its final record."""
        import time
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            info = self.job(job_id)
            if info.state not in ("PENDING", "RUNNING", "COMPLETING", "SUSPENDED", "CONFIGURING"):
                return info
            if deadline is not None and time.monotonic() > deadline:
                raise SlurmError("TIMEOUT", f"job {job_id} still {info.state}")
            time.sleep(poll)

    # ---- allocations and steps (salloc, srun; see sdk/steps.py) ----
    def steps(self):
        """The allocation and step operations (an sdk.steps.StepClient on this connection)."""
        from sdk.steps import StepClient
        return StepClient(self.call)

    def allocate(self, spec: JobSpec, *, idempotency_key: str | None = None, owner: str = "salloc") -> int:
        """Ask for an allocation without a batch script; it holds its nodes until release().
        owner='srun': made for one step, released by the controller too if that srun is lost."""
        return self.steps().allocate(spec.to_wire(), idempotency_key=idempotency_key, owner=owner)

    def allocation(self, job_id: int) -> dict:
        """The job's state; once RUNNING also its nodes and the environment salloc exports."""
        return self.steps().allocation(job_id)

    def release(self, job_id: int, *, exit_code: int = 0, signal: int = 0) -> None:
        """End an allocation (or withdraw a pending one) with the exit status of what ran in it."""
        self.steps().release(job_id, exit_code=exit_code, signal=signal)

    # ---- cluster ----
    def nodes(self) -> list[NodeInfo]:
        return [NodeInfo.from_wire(d) for d in self.call("nodes")["nodes"]]

    def partitions(self) -> list[PartitionInfo]:
        return [PartitionInfo.from_wire(d) for d in self.call("partitions")["partitions"]]

    def config(self) -> dict:
        """Cluster-wide settings the commands need (ClusterName, MinJobAge, KillWait, ...)."""
        return self.call("config")

    def ping(self) -> dict:
        return self.call("ping")

    def token(self, *, lifespan: int = 1800, user: str | None = None) -> str:
        """A signed token for remote clients (only root may ask for another user's)."""
        args: dict = {"lifespan": lifespan}
        if user:
            args["user"] = user
        return self.call("token", args)["token"]

    # ---- accounting ----
    def accounting(self, *, job_ids: list[int] | None = None, users: list[str] | None = None,
                   all_users: bool = False, start: int | None = None, end: int | None = None,
                   states: list[str] | None = None, names: list[str] | None = None,
                   partitions: list[str] | None = None) -> list[AcctRecord]:
        """Jobs from the accounting database (every job ever submitted), with their steps.
        Window semantics follow sacct: a job matches when it was eligible/running within
        [start, end]; with job_ids and no window every matching id is returned."""
        args = {"job_ids": job_ids, "users": users, "all_users": all_users, "start": start,
                "end": end, "states": states, "names": names, "partitions": partitions}
        if isinstance(self._transport, LocalTransport) and self.conf_path:
            # the database answers when the controller does not (sacct works with it down)
            from sdk.acctquery import records
            found = records(self.conf_path, args, socket_path=self._transport.socket_path,
                            timeout=self._transport.timeout)
        else:
            found = self.call("accounting", args)["records"]
        return [AcctRecord.from_wire(d) for d in found]


def current_user_name() -> str:
    import pwd
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())
