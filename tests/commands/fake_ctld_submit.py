"""A tiny stand-in controller for the sbatch/scancel tests: a Unix socket speaking the frame
format of sdk/transport.py (4-byte big-endian length + msgpack map), answering from a Python
function, and remembering every request it saw.

    with FakeController(tmp_path, answer) as ctld:      # answer(op, args) -> result, or raises Refuse
        env = ctld.env()                                  # SLURM_CONF pointing at its socket
"""
from __future__ import annotations

import os
import socket
import threading

import msgpack


class Refuse(Exception):
    """Raise from an answer function to reply {"ok": false, "code": ..., "message": ...}."""

    def __init__(self, code: str, message: str = "", detail: str = "") -> None:
        super().__init__(code)
        self.code, self.message, self.detail = code, message, detail


class FakeController:
    def __init__(self, directory, answer) -> None:
        self.directory = str(directory)
        self.socket_path = os.path.join(self.directory, "ctld.sock")
        self.conf_path = os.path.join(self.directory, "slurm.conf")
        self.answer = answer
        self.requests: list[dict] = []
        self.drop_first = 0  # close this many connections without answering (as a crashing ctld)
        self._server: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "FakeController":
        with open(self.conf_path, "w") as handle:
            handle.write(f"ClusterName=test\nSlurmctldSocket={self.socket_path}\n")
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(self.socket_path)
        self._server.listen(16)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        assert self._server is not None
        self._server.close()
        try:
            os.unlink(self.socket_path)
        except FileNotFoundError:
            pass

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SBATCH_", "SCANCEL_"))}
        env["SLURM_CONF"] = self.conf_path
        env.update(extra)
        return env

    def _serve(self) -> None:
        assert self._server is not None
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            with conn:
                try:
                    self._handle(conn)
                except OSError:
                    pass

    def _handle(self, conn: socket.socket) -> None:
        size = int.from_bytes(_recv(conn, 4), "big")
        request = msgpack.unpackb(_recv(conn, size), raw=False)
        self.requests.append(request)
        if self.drop_first > 0:
            self.drop_first -= 1
            return
        try:
            reply = {"ok": True, "result": self.answer(request["op"], request["args"])}
        except Refuse as refusal:
            reply = {"ok": False, "code": refusal.code, "message": refusal.message}
            if refusal.detail:
                reply["detail"] = refusal.detail
        payload = msgpack.packb(reply, use_bin_type=True)
        conn.sendall(len(payload).to_bytes(4, "big") + payload)


def _recv(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data
