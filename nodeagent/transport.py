"""The agent's end of the controller link: one zmq DEALER socket whose identity is the node name,
connected to the controller's ROUTER. Frames are single-part wire.encode() payloads.

Sending never blocks the event loop: when the controller is away the socket queues up to its high
water mark and beyond that messages are dropped and counted. Nothing is lost by that: heartbeats
repeat, RunEnded is re-sent until acknowledged, the controller re-sends Launch/Terminate/Signal
until acknowledged, and Register repeats until a RegisterAck arrives.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import zmq
import zmq.asyncio
import zmq.auth

from nodeagent import wire

log = logging.getLogger("nodeagent.transport")

SEND_QUEUE_LIMIT = 10_000


@dataclass(slots=True)
class LinkCounters:
    sent: int = 0
    received: int = 0
    send_dropped: int = 0
    garbage: int = 0


class ControllerLink:
    def __init__(self, node: str, endpoint: str, context: zmq.asyncio.Context | None = None,
                 keys_dir: str | None = None) -> None:
        self.node = node
        self.endpoint = endpoint
        self.counters = LinkCounters()
        self._context = context or zmq.asyncio.Context.instance()
        sock = self._context.socket(zmq.DEALER)
        sock.setsockopt(zmq.IDENTITY, node.encode())
        sock.setsockopt(zmq.MAXMSGSIZE, wire.MAX_FRAME_BYTES)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RECONNECT_IVL, 100)          # ms; doubles up to the max
        sock.setsockopt(zmq.RECONNECT_IVL_MAX, 5000)
        sock.setsockopt(zmq.SNDHWM, SEND_QUEUE_LIMIT)
        sock.setsockopt(zmq.RCVHWM, SEND_QUEUE_LIMIT)
        # Notice a dead controller host (no FIN) and reconnect instead of waiting forever.
        sock.setsockopt(zmq.TCP_KEEPALIVE, 1)
        sock.setsockopt(zmq.TCP_KEEPALIVE_IDLE, 30)
        sock.setsockopt(zmq.TCP_KEEPALIVE_INTVL, 10)
        sock.setsockopt(zmq.HEARTBEAT_IVL, 5000)
        sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, 15000)
        if keys_dir:   # CURVE: prove this is `node` and check that the controller is ours
            public, secret = zmq.auth.load_certificate(os.path.join(keys_dir, node + ".key_secret"))
            server_public, _ = zmq.auth.load_certificate(os.path.join(keys_dir, "controller.key"))
            sock.curve_secretkey, sock.curve_publickey, sock.curve_serverkey = secret, public, server_public
        sock.connect(endpoint)
        self._sock = sock

    def send(self, msg: wire.Message) -> bool:
        """Queue msg for the controller without waiting; False when it had to be dropped."""
        # zmq.asyncio resolves a DONTWAIT send at once: the future is already done here.
        done = self._sock.send(wire.encode(msg), zmq.DONTWAIT)
        error = done.exception()  # type: ignore[union-attr]
        if error is None:
            self.counters.sent += 1
            return True
        self.counters.send_dropped += 1
        if not isinstance(error, zmq.Again):
            log.error("sending %s failed: %s", type(msg).__name__, error)
        return False

    async def receive(self) -> wire.Message:
        """The next valid message; garbage frames are logged, counted and skipped."""
        while True:
            frames = await self._sock.recv_multipart(copy=True)
            if len(frames) != 1:
                self.counters.garbage += 1
                log.warning("dropped a %d-part message from the controller (expected 1)", len(frames))
                continue
            try:
                msg = wire.decode(frames[0])
            except wire.WireError as exc:
                self.counters.garbage += 1
                log.warning("dropped an undecodable frame from the controller: %s", exc)
                continue
            except Exception as exc:  # a decoder bug must not take the node down with it
                self.counters.garbage += 1
                log.error("dropped a frame the decoder choked on: %r", exc)
                continue
            self.counters.received += 1
            return msg

    def close(self) -> None:
        self._sock.close(linger=0)
