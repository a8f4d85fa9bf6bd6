"""CURVE keys of the node-agent link (DESIGN.md §5): agents prove which node they are.

AgentKeysDir (our slurm.conf key) holds ZeroMQ certificates: `controller.key` /
`controller.key_secret` for the controller and `<node>.key` (public) for every node; each agent
host also holds its own `<node>.key_secret`. The controller accepts only clients whose public key
is one of the nodes', and a message counts only when its sender identity is the node that key
belongs to. Without AgentKeysDir the link is plain (a warning is logged): fine on one machine,
not across a network.
"""
from __future__ import annotations

import logging
import os

import zmq
import zmq.auth
import zmq.auth.asyncio
import zmq.utils.z85

log = logging.getLogger("slurmctld_py.agentkeys")
CONTROLLER = "controller"


def create_keys(directory: str, nodes: list[str]) -> None:
    """Write the controller's and every node's certificate pair (existing ones are kept)."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    for name in [CONTROLLER, *nodes]:
        if not os.path.exists(os.path.join(directory, name + ".key_secret")):
            zmq.auth.create_certificates(directory, name)


def node_public_keys(directory: str) -> dict[bytes, str]:
    """Public key -> node name for every `<node>.key` in the directory."""
    keys = {}
    for entry in sorted(os.listdir(directory)):
        if entry.endswith(".key") and entry != CONTROLLER + ".key":
            public, _ = zmq.auth.load_certificate(os.path.join(directory, entry))
            keys[public] = entry[:-4]
    return keys


class NodeKeyAuthenticator(zmq.auth.asyncio.AsyncioAuthenticator):
    """ZAP handler: a CURVE client is allowed when its key is a node's; its User-Id is that node."""

    def __init__(self, context, directory: str) -> None:
        super().__init__(context)
        self.nodes_by_key = node_public_keys(directory)

    def curve_user_id(self, client_public_key: bytes) -> str:
        # ZAP hands over the raw 32-byte key; certificates store it z85-encoded
        return self.nodes_by_key.get(zmq.utils.z85.encode(client_public_key), "")


def secure_router(sock, directory: str | None) -> NodeKeyAuthenticator | None:
    """Make `sock` a CURVE server that only node keys may reach; None (plain) without a directory."""
    if not directory:
        log.warning("AgentKeysDir is not set: the node-agent link is not authenticated")
        return None
    auth = NodeKeyAuthenticator(sock.context, directory)
    auth.start()
    allowed = auth.nodes_by_key

    class _Provider:
        def callback(self, domain: str, key: bytes) -> bool:   # key: z85-encoded
            return key in allowed

    auth.configure_curve_callback(domain="*", credentials_provider=_Provider())
    public, secret = zmq.auth.load_certificate(os.path.join(directory, CONTROLLER + ".key_secret"))
    sock.curve_secretkey = secret
    sock.curve_publickey = public
    sock.curve_server = True
    return auth


def main(argv: list[str] | None = None) -> int:
    """python -m slurmctld_py.agentkeys DIR NODE...: create the certificates (slurm-local uses it)."""
    import sys
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m slurmctld_py.agentkeys DIR [NODE...]", file=sys.stderr)
        return 2
    create_keys(args[0], args[1:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
