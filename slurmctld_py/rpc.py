"""The local RPC server: msgpack frames on a Unix-domain socket, caller identified by SO_PEERCRED.

One request per connection (the commands connect, ask, and leave). Malformed or oversize frames
get an error reply when possible and the connection is closed; nothing is changed by them.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import struct

import msgpack

from sdk.transport import MAX_REQUEST_BYTES, PROTOCOL_VERSION
from slurmctld_py.controller import identity
from slurmctld_py.errors import RequestError

log = logging.getLogger("slurmctld_py.rpc")
_PEERCRED = struct.Struct("3i")   # pid, uid, gid


class AlreadyRunning(RuntimeError):
    """The local socket is held by a live controller."""


def socket_answers(path: str) -> bool:
    """Whether a process accepts connections on the Unix socket `path` (a stale file does not)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(path)
        return True
    except OSError:
        return False
    finally:
        probe.close()


class LocalRpcServer:
    def __init__(self, path: str, dispatch) -> None:
        self.path = path
        self.dispatch = dispatch      # (caller, op, args) -> result; raises RequestError
        self.server: asyncio.AbstractServer | None = None
        self.requests = 0
        self.errors = 0

    async def start(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self.server = await asyncio.start_unix_server(self._serve, path=self.path, limit=1 << 20, backlog=512)
        os.chmod(self.path, 0o777)   # any local user may ask; identity comes from the kernel

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            sock = writer.get_extra_info("socket")
            _, uid, gid = _PEERCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size))
            caller = identity(uid, gid)
            try:
                header = await asyncio.wait_for(reader.readexactly(4), 30)
                size = int.from_bytes(header, "big")
                if size > MAX_REQUEST_BYTES:
                    raise RequestError("BAD_REQUEST", message="request too large")
                body = msgpack.unpackb(await asyncio.wait_for(reader.readexactly(size), 60), raw=False)
                if not isinstance(body, dict) or body.get("v") != PROTOCOL_VERSION:
                    raise RequestError("PROTOCOL")
                op, args = body.get("op"), body.get("args") or {}
                if not isinstance(op, str) or not isinstance(args, dict):
                    raise RequestError("BAD_REQUEST")
                self.requests += 1
                result = self.dispatch(caller, op, args)
                if asyncio.iscoroutine(result):
                    result = await result
                reply = {"ok": True, "result": result}
            except RequestError as exc:
                self.errors += 1
                reply = {"ok": False, "code": exc.code, "message": exc.message, "detail": exc.detail}
            except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
                return
            except (msgpack.exceptions.ExtraData, msgpack.exceptions.FormatError, ValueError, TypeError) as exc:
                self.errors += 1
                reply = {"ok": False, "code": "BAD_REQUEST", "message": f"malformed request: {exc.__class__.__name__}"}
            payload = msgpack.packb(reply, use_bin_type=True)
            writer.write(len(payload).to_bytes(4, "big") + payload)
            await writer.drain()
        except Exception:   # one bad client must never take the server down
            log.exception("local RPC failed")
        finally:
            writer.close()
