"""The node agent: runs on every compute node, registers with the controller, launches and tracks
batch scripts (see wire.py for the protocol, agent.py for the daemon).

Importing the package stays cheap (the controller imports nodeagent.wire): the daemon's classes
load on first use.
"""
from __future__ import annotations

__all__ = ["AgentError", "AgentSettings", "NodeAgent", "main", "parse_args"]


def __getattr__(name: str):
    if name in ("NodeAgent", "main"):
        from nodeagent import agent
        return getattr(agent, name)
    if name in ("AgentSettings", "parse_args"):
        from nodeagent import settings
        return getattr(settings, name)
    if name == "AgentError":
        from nodeagent.errors import AgentError
        return AgentError
    raise AttributeError(f"module 'nodeagent' has no attribute {name!r}")
