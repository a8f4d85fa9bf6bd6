"""Find the cluster a command talks to, cheaply (the Slurm-named commands run in shell loops).

Order: $SLURM_CONF; the most recent cluster `slurm-local up` started (a pointer file under the
user's state directory); /etc/slurm/slurm.conf. The controller's local socket is the
`SlurmctldSocket` key of that file, else `<StateSaveLocation>/slurmctld.sock`. This reads lines,
not the full grammar (conf does that in the daemons): only plain `Key=Value` lines count.
"""
from __future__ import annotations

import os

DEFAULT_CONF = "/etc/slurm/slurm.conf"
SOCKET_NAME = "slurmctld.sock"


def state_home() -> str:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "slurm-py")


def last_cluster_pointer() -> str:
    return os.path.join(state_home(), "last-cluster")


def find_conf() -> str | None:
    env = os.environ.get("SLURM_CONF")
    if env:
        return env
    try:
        with open(last_cluster_pointer()) as f:
            path = f.read().strip()
        if path and os.path.exists(path):
            return path
    except OSError:
        pass
    return DEFAULT_CONF if os.path.exists(DEFAULT_CONF) else None


def read_keys(path: str, wanted: tuple[str, ...]) -> dict[str, str]:
    """Values of the `wanted` keys (case-insensitive, last one wins) from a slurm.conf."""
    want = {w.lower(): w for w in wanted}
    found: dict[str, str] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            key, sep, value = line.partition("=")
            if sep and " " not in key:
                name = want.get(key.strip().lower())
                if name:
                    found[name] = value.strip().split()[0] if value.strip() else ""
    return found


def controller_socket(conf_path: str) -> str:
    keys = read_keys(conf_path, ("SlurmctldSocket", "StateSaveLocation"))
    if keys.get("SlurmctldSocket"):
        return keys["SlurmctldSocket"]
    state = keys.get("StateSaveLocation") or "/var/spool/slurmctld"
    return os.path.join(state, SOCKET_NAME)
