"""A tiny stand-in controller for the view-command tests (squeue, sinfo, scontrol, sacct).

It speaks sdk/transport.py's frames (4-byte big-endian length + msgpack map) on a Unix socket,
answers each op from a dict of canned results (or a callable taking args), and records requests.
`conf_for(server, tmp_path)` writes a slurm.conf pointing at it via SlurmctldSocket.
"""
from __future__ import annotations

import os
import socket
import threading

import msgpack


class FakeController:
    def __init__(self, path: str, answers: dict) -> None:
        self.path = path
        self.answers = answers
        self.requests: list[tuple[str, dict]] = []
        self._packed: dict[str, bytes] = {}
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(path)
        self._sock.listen(64)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                try:
                    size = int.from_bytes(_recv(conn, 4), "big")
                    req = msgpack.unpackb(_recv(conn, size), raw=False)
                except (OSError, ValueError):
                    continue
                op, args = req.get("op"), req.get("args") or {}
                self.requests.append((op, args))
                answer = self.answers.get(op)
                cached = self._packed.get(op)
                if cached is not None and not callable(answer):
                    conn.sendall(cached)
                    continue
                static = not callable(answer)
                if callable(answer):
                    answer = answer(args)
                if answer is None:
                    reply = {"ok": False, "code": "BAD_REQUEST", "message": f"no op {op}"}
                elif isinstance(answer, dict) and answer.get("__error__"):
                    reply = {"ok": False, "code": answer["__error__"], "message": answer.get("message", "")}
                else:
                    reply = {"ok": True, "result": answer}
                body = msgpack.packb(reply, use_bin_type=True)
                frame = len(body).to_bytes(4, "big") + body
                if static:
                    self._packed[op] = frame   # a fast controller: static answers packed once
                conn.sendall(frame)

    def close(self) -> None:
        self._sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


def _recv(conn, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise OSError("closed")
        buf += chunk
    return buf


def conf_for(socket_path: str, directory) -> str:
    path = os.path.join(str(directory), "slurm.conf")
    with open(path, "w") as f:
        f.write(f"ClusterName=test\nSlurmctldHost=ctl1\nSlurmctldSocket={socket_path}\n")
    return path
