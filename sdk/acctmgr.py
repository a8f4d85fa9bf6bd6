"""Client calls for sacctmgr: accounts, users, associations and QOS on the controller.

    from sdk.acctmgr import AcctMgr
    mgr = AcctMgr(transport)          # any object with .call(op, args) (sdk.transport.LocalTransport)
    mgr.add("account", ["physics"], {"parent": "science", "shares": 20}, commit=True)
    everything = mgr.listing()

Changes return the controller's outcome map: {"outcome": "ok" | "nothing" | "error", ...}; with
commit=False the controller only reports what would change. Only root, the SlurmUser and users
with AdminLevel Operator or Administrator may change anything (others get ACCESS_DENIED).
"""
from __future__ import annotations

ENTITIES = ("account", "user", "qos", "assoc")


class AcctMgr:
    def __init__(self, transport) -> None:
        self._transport = transport

    def listing(self) -> dict:
        """Every account, user, live association and QOS, and the cluster name."""
        return self._transport.call("acctmgr_list", {})

    def add(self, entity: str, names: list[str], settings: dict, *, commit: bool) -> dict:
        return self._transport.call("acctmgr_add", {"entity": entity, "names": names, "set": settings,
                                                    "commit": commit})

    def modify(self, entity: str, where: dict, settings: dict, *, commit: bool) -> dict:
        return self._transport.call("acctmgr_modify", {"entity": entity, "where": where, "set": settings,
                                                       "commit": commit})

    def delete(self, entity: str, names: list[str], where: dict, *, commit: bool) -> dict:
        return self._transport.call("acctmgr_delete", {"entity": entity, "names": names, "where": where,
                                                       "commit": commit})
