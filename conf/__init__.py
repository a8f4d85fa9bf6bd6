"""Slurm configuration: slurm.conf/gres.conf parsing, hostlists, time, memory and GRES strings.

Imports nothing of ours and stays light: the Slurm-named commands import `conf.timefmt` or
`conf.hostlist` on every call, so the names below are loaded only when first touched
(`conf.load_config` imports `conf.slurmconf` then). Import submodules directly in hot paths.
"""

from __future__ import annotations

import importlib

# public name -> the submodule that defines it
_EXPORTS = {
    "Config": "conf.model",
    "ConfError": "conf.errors",
    "ConfigError": "conf.errors",
    "GresLine": "conf.gresconf",
    "GresRequest": "conf.units",
    "HostlistError": "conf.errors",
    "NodeConfig": "conf.model",
    "NodeConfigState": "conf.model",
    "PartitionConfig": "conf.model",
    "PartitionState": "conf.model",
    "TimeFormatError": "conf.errors",
    "UnitError": "conf.errors",
    "compress_hostlist": "conf.hostlist",
    "expand_hostlist": "conf.hostlist",
    "format_duration": "conf.timefmt",
    "format_duration_compact": "conf.timefmt",
    "format_gres": "conf.units",
    "format_memory_mb": "conf.units",
    "format_timestamp": "conf.timefmt",
    "load_config": "conf.slurmconf",
    "load_gres_conf": "conf.gresconf",
    "parse_config_text": "conf.slurmconf",
    "parse_duration": "conf.timefmt",
    "parse_gres": "conf.units",
    "parse_gres_conf_text": "conf.gresconf",
    "parse_memory_mb": "conf.units",
    "parse_minutes": "conf.timefmt",
    "parse_timestamp": "conf.timefmt",
    "sort_hostnames": "conf.hostlist",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:  # not typing.Any: importing typing costs ~15 ms
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'conf' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
