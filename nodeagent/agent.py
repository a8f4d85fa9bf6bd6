"""The node agent daemon: registers the node with the controller, heartbeats, and runs what the
controller launches (see wire.py for the message flow and runs.py for the run lifecycle).

Stopping the agent (SIGTERM/SIGINT) leaves running jobs alone, as stopping slurmd does: the next
agent re-adopts them from the spool.
"""
from __future__ import annotations

import asyncio
import logging
import platform
import signal as signals
import socket
import sys
import time
from importlib import metadata

import zmq.asyncio

from nodeagent import wire
from nodeagent.errors import AgentError
from nodeagent.gpus import detect_gpus, node_gpus
from nodeagent.launcher import seal_inherited_descriptors
from nodeagent.runs import RunSupervisor
from nodeagent.steps import StepSupervisor
from nodeagent.settings import AgentSettings, parse_args, setup_logging
from nodeagent.spool import Spool
from nodeagent.transport import ControllerLink

log = logging.getLogger("nodeagent.agent")


def _boot_time() -> float:
    try:
        with open("/proc/stat") as stat:
            for line in stat:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    return time.time() - time.monotonic()


def _version() -> str:
    try:
        return metadata.version("slurm-py")
    except metadata.PackageNotFoundError:
        return "0"


class NodeAgent:
    def __init__(self, settings: AgentSettings, *, gpu_detector=detect_gpus,
                 context: zmq.asyncio.Context | None = None) -> None:
        self.settings = settings
        self.node = settings.node
        self.gpus = node_gpus(settings.gpus, gpu_detector())
        self.spool = Spool(settings.spool)
        self.heartbeat_interval = settings.heartbeat
        self.controller_epoch = ""
        self.registered = False
        self.registrations = 0
        self._context = context
        self._started = time.time()
        self._stop = asyncio.Event()
        self._link: ControllerLink | None = None
        self._runs: RunSupervisor | None = None
        self._steps: StepSupervisor | None = None
        self._last_register_sent = 0.0

    # ---- lifecycle -------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until stop(); running jobs are left running."""
        seal_inherited_descriptors()
        self._link = ControllerLink(self.node, self.settings.controller, self._context, self.settings.keys_dir)
        self._runs = RunSupervisor(self.node, self.spool, self._link.send, self.settings.kill_wait)
        self._steps = StepSupervisor(self.node, self._link.send, self.settings.kill_wait)
        self._runs.recover()
        log.info("node agent started: %d cpus, %d MB, %d gpus, controller %s, spool %s",
                 self.settings.cpus, self.settings.memory_mb, len(self.gpus),
                 self.settings.controller, self.settings.spool)
        self._register()
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self._receive_loop()),
                         group.create_task(self._heartbeat_loop()),
                         group.create_task(self._resend_loop())]
                await self._stop.wait()
                for task in tasks:
                    task.cancel()
        finally:
            if self._steps is not None:
                self._steps.kill_all()     # steps' I/O goes through this process: they end with it
            await self._runs.drain()
            self._link.close()
            log.info("node agent stopped")

    def stop(self) -> None:
        self._stop.set()

    def statistics(self) -> dict[str, object]:
        runs = self._runs
        link = self._link.counters if self._link else None
        return {
            "node": self.node,
            "registered": self.registered,
            "controller_epoch": self.controller_epoch,
            "registrations": self.registrations,
            "uptime_s": round(time.time() - self._started, 3),
            "runs_started": runs.counters.started if runs else 0,
            "runs_ended": runs.counters.ended if runs else 0,
            "launch_failures": runs.counters.launch_failed if runs else 0,
            "duplicate_launches": runs.counters.duplicate_launches if runs else 0,
            "runs_adopted": runs.counters.adopted if runs else 0,
            "runs_active": len(runs.active_refs()) if runs else 0,
            "runs_awaiting_end_ack": len(runs.finished_refs()) if runs else 0,
            "messages_in": link.received if link else 0,
            "messages_out": link.sent if link else 0,
            "messages_dropped": link.send_dropped if link else 0,
            "garbage_frames": link.garbage if link else 0,
        }

    # ---- registration and heartbeats ----------------------------------------------------------

    def _register(self) -> None:
        assert self._link is not None and self._runs is not None
        uname = platform.uname()
        self._last_register_sent = time.monotonic()
        self._link.send(wire.Register(
            node=self.node, cpus=self.settings.cpus, memory_mb=self.settings.memory_mb,
            gpus=self.gpus, boot_time=_boot_time(), agent_start_time=self._started,
            version=_version(), active=self._runs.active_refs(),
            finished=self._runs.finished_refs(), hostname=socket.gethostname(),
            arch=uname.machine, os=f"{uname.system} {uname.release} {uname.version}"))

    async def _heartbeat_loop(self) -> None:
        assert self._link is not None and self._runs is not None
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            if not self.registered:
                # No RegisterAck yet (controller away or message lost): keep asking.
                self._register()
            else:
                self._link.send(wire.Heartbeat(self.node, self.controller_epoch,
                                               self._runs.active_refs()))

    async def _resend_loop(self) -> None:
        assert self._runs is not None
        interval = self.settings.resend_interval
        while True:
            await asyncio.sleep(min(interval, 1.0))
            self._runs.resend_ends(interval)
            if self._steps is not None:
                self._steps.resend_ends(interval)

    # ---- incoming ---------------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        assert self._link is not None
        while True:
            msg = await self._link.receive()
            try:
                self._dispatch(msg)
            except Exception:   # one bad request must not stop the node
                log.exception("handling %s failed", type(msg).__name__)

    def _dispatch(self, msg: wire.Message) -> None:
        runs = self._runs
        assert runs is not None
        match msg:
            case wire.Launch():
                runs.launch(msg)
            case wire.Terminate():
                runs.terminate(msg)
            case wire.Signal():
                runs.signal(msg)
            case wire.StepLaunch() if self._steps is not None:
                self._steps.launch(msg)
            case wire.StepSignal() if self._steps is not None:
                self._steps.signal(msg)
            case wire.StepTerminate() if self._steps is not None:
                self._steps.terminate(msg)
            case wire.StepEndAck() if self._steps is not None:
                self._steps.end_acknowledged(msg)
            case wire.EndAck():
                runs.end_acknowledged(msg)
            case wire.HeartbeatAck():
                if msg.controller_epoch != self.controller_epoch:
                    log.info("controller epoch changed (%s -> %s); registering again",
                             self.controller_epoch or "none", msg.controller_epoch)
                    self.registered = False
                    self._register()
            case wire.RegisterAck():
                self._registered_with(msg)
            case _:
                log.warning("ignored a %s: not a controller-to-agent message", type(msg).__name__)

    def _registered_with(self, ack: wire.RegisterAck) -> None:
        assert self._runs is not None
        self.controller_epoch = ack.controller_epoch
        self.registered = True
        self.registrations += 1
        # The controller's slurm.conf is the authority on these timings.
        if ack.heartbeat_interval > 0:
            self.heartbeat_interval = ack.heartbeat_interval
        if ack.kill_wait > 0:
            self._runs.kill_wait = ack.kill_wait
            if self._steps is not None:
                self._steps.kill_wait = ack.kill_wait
        log.info("registered with controller epoch %s", ack.controller_epoch)
        # A new controller may not have our completions: tell it now instead of at the next resend.
        self._runs.resend_ends(0.0, force=True)
        if self._steps is not None:
            self._steps.resend_ends(0.0, force=True)


def main(argv: list[str] | None = None) -> int:
    try:
        settings = parse_args(argv)
        setup_logging(settings)
        return asyncio.run(_serve(settings))
    except AgentError as exc:
        print(exc.message, file=sys.stderr)
        return exc.exit_code


async def _serve(settings: AgentSettings) -> int:
    try:
        agent = NodeAgent(settings)
    except OSError as exc:
        raise AgentError(f"nodeagent: cannot use spool {settings.spool}: {exc}") from None
    loop = asyncio.get_running_loop()
    for signum in (signals.SIGTERM, signals.SIGINT):
        loop.add_signal_handler(signum, agent.stop)
    await agent.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
