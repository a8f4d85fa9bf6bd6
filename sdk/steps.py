"""Allocations and job steps from the client side (what salloc and srun are made of).

    from sdk import Client, JobSpec
    from sdk.steps import StepIO, StepRequest
    steps = Client().steps()              # or StepClient.local() (what srun uses: fewer imports)
    job_id = steps.allocate(JobSpec(script="", name="interactive", min_nodes=2).to_wire())
    info = steps.allocation(job_id)      # {'state': 'RUNNING', 'environment': {...}, ...} once granted
    with StepIO() as io:
        grant = steps.create_step(job_id, StepRequest(argv=["hostname"], ntasks=2), io)
        while not io.all_exited(grant.ntasks):
            for event in io.poll(0.5): ...     # Output, TaskExited, StepCancelled
    steps.release(job_id, exit_code=0)

The step's I/O link: the client listens on a TCP port and tells the controller where; each node
agent running tasks of the step connects, presents the step's key (a secret the controller
relays to the agents over their authenticated link) and sends length-prefixed msgpack maps:
    {"k": "hello", "key": ..., "node": ..., "job": ..., "step": ...}
    {"k": "out", "t": <task id>, "fd": 1 | 2, "d": <bytes>}
    {"k": "exit", "t": <task id>, "code": <exit code>, "sig": <signal>}
    {"k": "cancelled", "kill_wait": <seconds>, "note": <text>}      (the step is being ended)
and the client sends its stdin to the agents: {"k": "in", "d": <bytes>}, then {"k": "in", "eof": true}.
"""
from __future__ import annotations

import os
import selectors
import socket
from _operator import _compare_digest    # hmac.compare_digest without importing hashlib

MAX_IO_FRAME = 4 * 1024 * 1024
_BACKLOG = 128

# The records below are plain slotted classes rather than dataclasses: srun runs in shell loops
# and the dataclass machinery alone would cost it more than its round trips to the controller.


class StepRequest:
    """What srun asks for. ntasks None: one per node (or as ntasks_per_node says); nodes None:
    as few of the job's nodes as hold the tasks; stdout/stderr '' = back to the client, else a
    pattern (%t %n %N %j %s); stdin: who reads the client's stdin ('all', a task id, '' nobody)."""

    __slots__ = ("argv", "ntasks", "nodes", "cpus_per_task", "ntasks_per_node", "name", "stdout", "stderr",
                 "stdin", "work_dir", "environment")

    def __init__(self, argv: list[str], ntasks: int | None = None, nodes: int | None = None,
                 cpus_per_task: int | None = None, ntasks_per_node: int | None = None, name: str = "",
                 stdout: str = "", stderr: str = "", stdin: str = "", work_dir: str = "",
                 environment: dict[str, str] | None = None) -> None:
        self.argv, self.ntasks, self.nodes = list(argv), ntasks, nodes
        self.cpus_per_task, self.ntasks_per_node, self.name = cpus_per_task, ntasks_per_node, name
        self.stdout, self.stderr, self.stdin, self.work_dir = stdout, stderr, stdin, work_dir
        self.environment = dict(environment or {})

    def to_wire(self) -> dict:
        return {k: getattr(self, k) for k in self.__slots__ if getattr(self, k) is not None}


class StepGrant:
    """The step the controller created: its id and where its tasks run."""

    __slots__ = ("job_id", "step_id", "nodes", "tasks", "warnings")

    def __init__(self, job_id: int, step_id: int, nodes: list[str], tasks: list[list[int]],
                 warnings: list[str]) -> None:
        self.job_id, self.step_id, self.nodes, self.tasks, self.warnings = job_id, step_id, nodes, tasks, warnings

    @property
    def ntasks(self) -> int:
        return sum(len(t) for t in self.tasks)

    def node_of(self, task: int) -> str:
        for node, tasks in zip(self.nodes, self.tasks):
            if task in tasks:
                return node
        return "?"


class Output:
    __slots__ = ("task", "fd", "data")

    def __init__(self, task: int, fd: int, data: bytes) -> None:
        self.task, self.fd, self.data = task, fd, data     # fd: 1 stdout, 2 stderr


class StepCancelled:
    """A node is ending the step (scancel, the job's end, or the client's own request)."""

    __slots__ = ("node", "kill_wait", "note")

    def __init__(self, node: str, kill_wait: float, note: str) -> None:
        self.node, self.kill_wait, self.note = node, kill_wait, note


class TaskExited:
    __slots__ = ("task", "node", "exit_code", "signal")

    def __init__(self, task: int, node: str, exit_code: int, signal: int) -> None:
        self.task, self.node, self.exit_code, self.signal = task, node, exit_code, signal

    def __repr__(self) -> str:
        return f"TaskExited(task={self.task}, node={self.node!r}, exit_code={self.exit_code}, signal={self.signal})"


class StepClient:
    """The allocation and step operations over a transport (sdk.client.Client uses this too);
    `StepClient.local()` finds the local controller without loading the full client."""

    __slots__ = ("call",)

    def __init__(self, call) -> None:
        self.call = call                  # (op, args) -> result; raises sdk.errors.SlurmError

    @classmethod
    def local(cls) -> "StepClient":
        from sdk.discovery import controller_socket, find_conf
        from sdk.errors import ConfigNotFound
        from sdk.transport import LocalTransport
        conf = find_conf()
        if not conf:
            raise ConfigNotFound("CONNECTION", "could not find slurm.conf (set SLURM_CONF)")
        try:
            return cls(LocalTransport(controller_socket(conf)).call)
        except OSError as exc:
            raise ConfigNotFound("CONNECTION", f"cannot read {conf}: {exc.strerror}") from None

    def allocate(self, spec: dict, *, idempotency_key: str | None = None, owner: str = "salloc") -> int:
        """spec: a JobSpec wire map. owner='srun': made for one step, released by the controller
        too if that srun is lost."""
        key = idempotency_key or os.urandom(16).hex()
        return int(self.call("allocate", {"job": spec, "key": key, "owner": owner})["job_id"])

    def allocation(self, job_id: int) -> dict:
        return self.call("allocation", {"job_id": int(job_id)})

    def release(self, job_id: int, *, exit_code: int = 0, signal: int = 0) -> None:
        self.call("allocation_release", {"job_id": int(job_id), "exit_code": exit_code, "signal": signal})

    def create_step(self, job_id: int, request: StepRequest, io: "StepIO") -> StepGrant:
        args = dict(request.to_wire(), job_id=int(job_id), io_host=io.host, io_port=io.port, io_key=io.key)
        reply = self.call("step_create", args)
        return StepGrant(int(job_id), int(reply["step_id"]), list(reply["nodes"]),
                         [list(t) for t in reply["tasks"]], list(reply.get("warnings") or []))

    def step_status(self, job_id: int, step_id: int) -> dict:
        return self.call("step_status", {"job_id": int(job_id), "step_id": int(step_id)})

    def signal_step(self, job_id: int, step_id: int, signal: int) -> None:
        self.call("step_signal", {"job_id": int(job_id), "step_id": int(step_id), "signal": int(signal)})

    def cancel_step(self, job_id: int, step_id: int) -> None:
        """Kill the step's tasks at once."""
        self.call("step_cancel", {"job_id": int(job_id), "step_id": int(step_id)})

    def config(self) -> dict:
        return self.call("config", {})


def io_host() -> str:
    """The address the node agents reach this host by: its name when it resolves, else loopback."""
    name = socket.gethostname()
    try:
        socket.getaddrinfo(name, None)
        return name
    except OSError:
        return "127.0.0.1"


class _Conn:
    __slots__ = ("sock", "buffer", "node", "authenticated")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.node = ""
        self.authenticated = False


class StepIO:
    """The client's end of the step's I/O link: a listening socket and the agents' connections."""

    def __init__(self, host: str | None = None) -> None:
        self.key = os.urandom(16).hex()
        self.host = host or io_host()
        self._selector = selectors.DefaultSelector()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("", 0))
        self._listener.listen(_BACKLOG)
        self._listener.setblocking(False)
        self.port = self._listener.getsockname()[1]
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._conns: list[_Conn] = []
        self.exited: dict[int, TaskExited] = {}
        self.nodes_seen: set[str] = set()
        self._extra: dict[int, object] = {}

    def __enter__(self) -> "StepIO":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def watch_fd(self, fd: int, tag: object) -> None:
        """Also wake poll() when `fd` is readable (a signal self-pipe); it returns `tag` then."""
        self._selector.register(fd, selectors.EVENT_READ, ("extra", tag))

    def unwatch_fd(self, fd: int) -> None:
        try:
            self._selector.unregister(fd)
        except (KeyError, ValueError):
            pass

    def send_input(self, data: bytes) -> None:
        """Pass stdin to every node of the step (b'' = end of input)."""
        from sdk import leanpack
        body = {"k": "in", "d": data} if data else {"k": "in", "eof": True}
        payload = leanpack.packb(body)
        frame = len(payload).to_bytes(4, "big") + payload
        for conn in list(self._conns):
            if not conn.authenticated:
                continue
            try:
                conn.sock.setblocking(True)   # the agents always read: this waits only briefly
                conn.sock.sendall(frame)
                conn.sock.setblocking(False)
            except OSError:
                self._drop(conn)

    def all_exited(self, ntasks: int) -> bool:
        return len(self.exited) >= ntasks

    def open_connections(self) -> int:
        return len(self._conns)

    def poll(self, timeout: float | None) -> list[object]:
        """Events that arrived within `timeout` seconds: Output, TaskExited, and the tags of
        watched descriptors that became readable."""
        events: list[object] = []
        for key, _ in self._selector.select(timeout):
            data = key.data
            if data is None:
                self._accept()
            elif isinstance(data, tuple) and data[0] == "extra":
                events.append(data[1])
            else:
                self._read(data, events)
        return events

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            sock.setblocking(False)
            conn = _Conn(sock)
            self._conns.append(conn)
            self._selector.register(sock, selectors.EVENT_READ, conn)

    def _drop(self, conn: _Conn) -> None:
        try:
            self._selector.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.sock.close()
        if conn in self._conns:
            self._conns.remove(conn)

    def _read(self, conn: _Conn, events: list[object]) -> None:
        try:
            chunk = conn.sock.recv(1 << 20)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(conn)
            return
        conn.buffer += chunk
        from sdk.transport import unpack_reply
        while len(conn.buffer) >= 4:
            size = int.from_bytes(conn.buffer[:4], "big")
            if size > MAX_IO_FRAME:
                self._drop(conn)
                return
            if len(conn.buffer) < 4 + size:
                break
            payload = bytes(conn.buffer[4:4 + size])
            del conn.buffer[:4 + size]
            try:
                body = unpack_reply(payload)
            except Exception:        # garbage: whoever sent it is not one of our agents
                self._drop(conn)
                return
            if not isinstance(body, dict):
                self._drop(conn)
                return
            if not conn.authenticated:
                key = body.get("key")
                if body.get("k") != "hello" or not isinstance(key, str) or not _compare_digest(key, self.key):
                    self._drop(conn)
                    return
                conn.authenticated = True
                conn.node = str(body.get("node", ""))
                self.nodes_seen.add(conn.node)
                continue
            kind, task = body.get("k"), body.get("t")
            if kind == "cancelled":
                wait = body.get("kill_wait")
                events.append(StepCancelled(conn.node, float(wait) if isinstance(wait, (int, float)) else 0.0,
                                            str(body.get("note") or "")))
                continue
            if not isinstance(task, int):
                continue
            if kind == "out" and isinstance(body.get("d"), (bytes, bytearray)):
                events.append(Output(task, 2 if body.get("fd") == 2 else 1, bytes(body["d"])))
            elif kind == "exit":
                ended = TaskExited(task, conn.node, int(body.get("code") or 0), int(body.get("sig") or 0))
                self.exited[task] = ended
                events.append(ended)

    def close(self) -> None:
        for conn in list(self._conns):
            self._drop(conn)
        try:
            self._selector.unregister(self._listener)
        except (KeyError, ValueError):
            pass
        self._listener.close()
        self._selector.close()


def write_all(fd: int, data: bytes) -> None:
    """Write everything, waiting while a pipe is full (srun's stdout may be a slow reader)."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            import select
            select.select([], [fd], [])
            continue
        view = view[written:]
