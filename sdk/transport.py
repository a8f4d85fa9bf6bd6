"""The local client transport: msgpack frames over the controller's Unix-domain socket.

A frame is a 4-byte big-endian length followed by a msgpack map. The controller learns the
caller's uid from the socket's peer credentials (SO_PEERCRED), never from the payload.
Imports are kept to `_socket` and msgpack: this runs on every sbatch/squeue call.
"""
from __future__ import annotations

import _socket

from sdk import leanpack
from sdk.errors import ControllerUnreachable, SlurmError, error_from_reply

PROTOCOL_VERSION = 1
MAX_REPLY_BYTES = 512 * 1024 * 1024
MAX_REQUEST_BYTES = 64 * 1024 * 1024


LEAN_REPLY_LIMIT = 16 * 1024    # larger replies are unpacked by msgpack's C extension


def unpack_reply(data: bytes):
    if len(data) <= LEAN_REPLY_LIMIT:
        return leanpack.unpackb(data)
    import msgpack
    return msgpack.unpackb(data, raw=False)


def pack_frame(body: dict) -> bytes:
    payload = leanpack.packb(body)
    return len(payload).to_bytes(4, "big") + payload


class LocalTransport:
    """One connection per call (cheap on a Unix socket, and no state to go stale)."""

    def __init__(self, socket_path: str, timeout: float = 60.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    def call(self, op: str, args: dict | None = None, *, lean_reply: bool = False) -> object:
        """One request; `lean_reply` decodes the reply with leanpack whatever its size (for
        replies made of a few large values, such as a marshal-encoded table)."""
        frame = pack_frame({"v": PROTOCOL_VERSION, "op": op, "args": args or {}})
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            try:
                sock.connect(self.socket_path)
            except OSError:
                raise ControllerUnreachable("CONNECTION") from None
            try:
                sock.sendall(frame)
                header = _recv_exact(sock, 4)
                size = int.from_bytes(header, "big")
                if size > MAX_REPLY_BYTES:
                    raise SlurmError("PROTOCOL", "reply too large")
                data = _recv_exact(sock, size)
                reply = leanpack.unpackb(data) if lean_reply else unpack_reply(data)
            except TimeoutError:
                raise SlurmError("TIMEOUT") from None
            except OSError:
                raise ControllerUnreachable("CONNECTION") from None
        finally:
            sock.close()
        if not isinstance(reply, dict):
            raise SlurmError("PROTOCOL", "malformed reply")
        if reply.get("ok"):
            return reply.get("result")
        raise error_from_reply(str(reply.get("code", "INTERNAL")), str(reply.get("message", "")),
                               str(reply.get("detail", "")))


def _recv_exact(sock, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            raise ControllerUnreachable("CONNECTION", "connection closed by controller")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


class RemoteTransport:
    """Requests over ZeroMQ to a controller on another host, authenticated by a SLURM_JWT token."""

    def __init__(self, endpoint: str, token: str, timeout: float = 60.0) -> None:
        self.endpoint = endpoint
        self.token = token
        self.timeout = timeout

    def call(self, op: str, args: dict | None = None) -> object:
        import msgpack
        import zmq
        ctx = zmq.Context.instance()
        sock = ctx.socket(zmq.REQ)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RCVTIMEO, int(self.timeout * 1000))
        sock.setsockopt(zmq.MAXMSGSIZE, MAX_REPLY_BYTES)
        try:
            sock.connect(self.endpoint)
            sock.send(msgpack.packb({"v": PROTOCOL_VERSION, "op": op, "args": args or {}, "token": self.token},
                                    use_bin_type=True))
            try:
                reply = msgpack.unpackb(sock.recv(), raw=False)
            except zmq.Again:
                raise ControllerUnreachable("CONNECTION") from None
        finally:
            sock.close(0)
        if not isinstance(reply, dict):
            raise SlurmError("PROTOCOL", "malformed reply")
        if reply.get("ok"):
            return reply.get("result")
        raise error_from_reply(str(reply.get("code", "INTERNAL")), str(reply.get("message", "")),
                               str(reply.get("detail", "")))
