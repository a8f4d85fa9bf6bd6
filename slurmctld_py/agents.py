"""The node-agent link: a ZeroMQ ROUTER socket; each agent's DEALER identity is its node name."""
from __future__ import annotations

import logging

import zmq
import zmq.asyncio

from nodeagent import wire

log = logging.getLogger("slurmctld_py.agents")


class AgentLink:
    def __init__(self, endpoint: str, on_message, keys_dir: str | None = None) -> None:
        self.endpoint = endpoint
        self.keys_dir = keys_dir
        self.auth = None
        self.on_message = on_message          # (node_name, message) -> None
        self.ctx = zmq.asyncio.Context.instance()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.MAXMSGSIZE, wire.MAX_FRAME_BYTES)
        self.sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
        # an agent that reconnects while its old connection lingers takes over its identity
        self.sock.setsockopt(zmq.ROUTER_HANDOVER, 1)
        self.sock.setsockopt(zmq.SNDHWM, 100_000)
        self.sock.setsockopt(zmq.RCVHWM, 100_000)
        self.received = 0
        self.sent = 0
        self.dropped = 0

    def bind(self) -> None:
        """Bind (inside the running loop: the CURVE authenticator is an asyncio task)."""
        from slurmctld_py.agentkeys import secure_router
        self.auth = secure_router(self.sock, self.keys_dir)
        self.sock.bind(self.endpoint)

    def send(self, node: str, frame: bytes) -> bool:
        """Queue a frame for `node`; False when that agent is not connected (the outbox retries)."""
        try:
            self.sock.send_multipart([node.encode(), frame], flags=zmq.NOBLOCK)
            self.sent += 1
            return True
        except zmq.ZMQError:
            return False

    async def serve(self) -> None:
        while True:
            parts = await self.sock.recv_multipart(copy=False)
            self.received += 1
            if len(parts) != 2:
                self.dropped += 1
                continue
            ident, frame = parts[0].bytes, parts[1]
            try:
                node = ident.decode("utf-8", "strict")
                if self.auth is not None and frame.get("User-Id") != node:
                    # the key says which node this is; a node may not speak for another
                    self.dropped += 1
                    log.warning("dropped a frame claiming to be %r from key of %r", node, frame.get("User-Id"))
                    continue
                msg = wire.decode(frame.bytes)
            except (UnicodeDecodeError, wire.WireError) as exc:
                self.dropped += 1
                log.warning("dropped bad frame from agent link: %s", exc)
                continue
            try:
                self.on_message(node, msg)
            except Exception:
                log.exception("handling %s from %s failed", type(msg).__name__, node)

    def close(self) -> None:
        if self.auth is not None:
            self.auth.stop()
        self.sock.close(0)
