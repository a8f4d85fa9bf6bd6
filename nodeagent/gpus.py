"""The node's GPUs: the declared ones (slurm.conf Gres / --gpus) checked against what NVML sees.

NVML is reached through ctypes so the agent needs no CUDA Python package; on a machine without the
NVIDIA driver the library is absent and detection simply finds nothing.
"""
from __future__ import annotations

import ctypes
import logging
from dataclasses import dataclass
from typing import Callable, Protocol

from nodeagent.wire import GpuSpec

log = logging.getLogger("nodeagent.gpus")

NVML_LIBRARY = "libnvidia-ml.so.1"
_NVML_SUCCESS = 0
_NAME_BUFFER = 96       # NVML_DEVICE_NAME_V2_BUFFER_SIZE
_UUID_BUFFER = 96       # NVML_DEVICE_UUID_V2_BUFFER_SIZE


@dataclass(frozen=True, slots=True)
class DetectedGpu:
    index: int
    name: str          # as NVML reports it, e.g. "NVIDIA H200"
    uuid: str          # e.g. "GPU-5e0c..."


class NvmlLibrary(Protocol):
    """The few NVML entry points used, so tests can hand in a fake."""

    def nvmlInit_v2(self) -> int: ...
    def nvmlDeviceGetCount_v2(self, count) -> int: ...
    def nvmlDeviceGetHandleByIndex_v2(self, index, handle) -> int: ...
    def nvmlDeviceGetName(self, handle, buffer, length) -> int: ...
    def nvmlDeviceGetUUID(self, handle, buffer, length) -> int: ...
    def nvmlShutdown(self) -> int: ...


def load_nvml() -> NvmlLibrary | None:
    try:
        return ctypes.CDLL(NVML_LIBRARY)  # type: ignore[return-value]
    except OSError:
        return None


def detect_gpus(loader: Callable[[], NvmlLibrary | None] = load_nvml) -> list[DetectedGpu]:
    """The GPUs NVML sees, in NVML index order; [] when there is no driver or NVML fails."""
    nvml = loader()
    if nvml is None:
        return []
    if nvml.nvmlInit_v2() != _NVML_SUCCESS:
        log.warning("NVML is present but nvmlInit failed; no GPUs detected")
        return []
    try:
        count = ctypes.c_uint(0)
        if nvml.nvmlDeviceGetCount_v2(ctypes.byref(count)) != _NVML_SUCCESS:
            log.warning("nvmlDeviceGetCount failed; no GPUs detected")
            return []
        found = []
        for index in range(count.value):
            handle = ctypes.c_void_p()
            if nvml.nvmlDeviceGetHandleByIndex_v2(ctypes.c_uint(index), ctypes.byref(handle)) != _NVML_SUCCESS:
                log.warning("nvmlDeviceGetHandleByIndex(%d) failed; skipping it", index)
                continue
            name = ctypes.create_string_buffer(_NAME_BUFFER)
            uuid = ctypes.create_string_buffer(_UUID_BUFFER)
            name_ok = nvml.nvmlDeviceGetName(handle, name, ctypes.c_uint(_NAME_BUFFER)) == _NVML_SUCCESS
            uuid_ok = nvml.nvmlDeviceGetUUID(handle, uuid, ctypes.c_uint(_UUID_BUFFER)) == _NVML_SUCCESS
            found.append(DetectedGpu(
                index=index,
                name=name.value.decode(errors="replace") if name_ok else "",
                uuid=uuid.value.decode(errors="replace") if uuid_ok else "",
            ))
        return found
    finally:
        nvml.nvmlShutdown()


def gpu_type_from_name(name: str) -> str:
    """A gres type from NVML's marketing name: "NVIDIA A100-SXM4-80GB" -> "a100-sxm4-80gb".
    Lower case without the vendor word, spaces as underscores, so it can be used in --gres."""
    words = name.strip().split()
    if words and words[0].lower() == "nvidia":
        words = words[1:]
    return "_".join(words).lower()


def node_gpus(declared: list[str] | None, detected: list[DetectedGpu]) -> list[GpuSpec]:
    """The GPUs the node offers. declared holds one type per GPU index ('' when untyped); None
    means nothing was declared at all, and then the detected GPUs are offered. The declaration wins
    on count (slurmd also trusts slurm.conf and complains); detection fills in the type where none
    was declared and the uuid of every index it saw."""
    if declared is None:
        declared = [""] * len(detected)
    elif detected and len(detected) != len(declared):
        log.warning("declared %d GPUs but NVML detected %d; using the declared count",
                    len(declared), len(detected))
    by_index = {gpu.index: gpu for gpu in detected}
    specs = []
    for index, declared_type in enumerate(declared):
        seen = by_index.get(index)
        gpu_type = declared_type or (gpu_type_from_name(seen.name) if seen else "")
        specs.append(GpuSpec(index=index, type=gpu_type, uuid=seen.uuid if seen else ""))
    return specs
