"""Remote clients over ZeroMQ: the same requests as the local socket, identified by a token.

A ROUTER socket on SlurmctldPort+1 (or our key SlurmctldClientPort). Each request is one msgpack
frame {"v": 1, "op": ..., "args": ..., "token": SLURM_JWT}; the reply is the local protocol's
reply map. The caller is the token's user, never a field the client fills in.
"""
from __future__ import annotations

import logging
import time

import msgpack
import zmq
import zmq.asyncio

from sdk.transport import MAX_REQUEST_BYTES, PROTOCOL_VERSION
from slurmctld_py import tokens
from slurmctld_py.errors import RequestError

log = logging.getLogger("slurmctld_py.remote")


class RemoteRpcServer:
    def __init__(self, endpoint: str, key: bytes, dispatch, identify) -> None:
        self.endpoint = endpoint
        self.key = key
        self.dispatch = dispatch          # (caller, op, args) -> result
        self.identify = identify          # user name -> Caller
        self.sock = zmq.asyncio.Context.instance().socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.MAXMSGSIZE, MAX_REQUEST_BYTES)
        self.requests = 0

    def bind(self) -> None:
        self.sock.bind(self.endpoint)

    async def serve(self) -> None:
        while True:
            parts = await self.sock.recv_multipart()
            if len(parts) < 2:
                continue
            envelope, frame = parts[:-1], parts[-1]
            reply = self._handle(frame)
            try:
                await self.sock.send_multipart([*envelope, msgpack.packb(reply, use_bin_type=True)])
            except zmq.ZMQError:
                log.warning("could not answer a remote client")

    def _handle(self, frame: bytes) -> dict:
        try:
            try:
                body = msgpack.unpackb(frame, raw=False)
            except Exception:
                raise RequestError("BAD_REQUEST", message="malformed request") from None
            if not isinstance(body, dict) or body.get("v") != PROTOCOL_VERSION:
                raise RequestError("PROTOCOL")
            token, op, args = body.get("token"), body.get("op"), body.get("args") or {}
            if not isinstance(token, str) or not isinstance(op, str) or not isinstance(args, dict):
                raise RequestError("BAD_REQUEST")
            caller = self.identify(tokens.verify(self.key, token, time.time()))
            self.requests += 1
            return {"ok": True, "result": self.dispatch(caller, op, args)}
        except RequestError as exc:
            return {"ok": False, "code": exc.code, "message": exc.message, "detail": exc.detail}
        except Exception:
            log.exception("remote request failed")
            return {"ok": False, "code": "INTERNAL", "message": "internal error"}

    def close(self) -> None:
        self.sock.close(0)
