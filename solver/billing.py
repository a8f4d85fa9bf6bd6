"""Billable TRES of an allocation (TRESBillingWeights), the currency of fair-share usage.

Weights come from the partition's `TRESBillingWeights=CPU=1.0,Mem=0.25G,GRES/gpu=2.0`: memory
is weighted per MiB, or per GiB with a `G` suffix (`T` per TiB). Without weights a job bills its
CPUs, so usage is CPU-seconds. PriorityFlags MAX_TRES bills the largest weighted TRES instead of
the sum; MAX_TRES_GRES adds the GRES to that maximum (`doc/html/tres.shtml`).
"""
from __future__ import annotations

from dataclasses import dataclass

_MEMORY_SCALE = {"": 1.0, "M": 1.0, "G": 1.0 / 1024, "T": 1.0 / (1024 * 1024)}


@dataclass(frozen=True, slots=True)
class AllocatedTres:
    cpus: int
    memory_mb: int
    gpus: int
    nodes: int


def parse_billing_weights(text: str) -> dict[str, float]:
    """`CPU=1.0,Mem=0.25G,GRES/gpu=2` -> {'cpu': 1.0, 'mem': 0.25/1024, 'gres/gpu': 2.0}
    (weights per MiB for memory). Raises ValueError on a malformed entry."""
    weights: dict[str, float] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ValueError(f"invalid TRESBillingWeights entry {item!r}")
        key = name.strip().lower()
        value = value.strip()
        scale = 1.0
        if key == "mem" and value[-1:].upper() in _MEMORY_SCALE and not value[-1:].isdigit():
            scale = _MEMORY_SCALE[value[-1:].upper()]
            value = value[:-1]
        try:
            weights[key] = float(value) * scale
        except ValueError:
            raise ValueError(f"invalid TRESBillingWeights entry {item!r}") from None
    return weights


def billable_tres(alloc: AllocatedTres, weights: dict[str, float],
                  flags: frozenset[str] = frozenset()) -> float:
    if not weights:
        return float(alloc.cpus)
    counts = {"cpu": alloc.cpus, "mem": alloc.memory_mb, "node": alloc.nodes,
              "gres/gpu": alloc.gpus}
    weighted = {name: weights.get(name, 0.0) * count for name, count in counts.items()}
    gres = sum(v for k, v in weighted.items() if k.startswith("gres/"))
    if "MAX_TRES_GRES" in flags:
        others = max((v for k, v in weighted.items() if not k.startswith("gres/")), default=0.0)
        return others + gres
    if "MAX_TRES" in flags:
        # Slurm takes the largest weighted TRES of a node; for the even allocations we make
        # (the same shape on each node) that is the largest total over the node count, times it.
        return max(weighted.values(), default=0.0)
    return sum(weighted.values())
