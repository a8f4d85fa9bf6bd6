"""Python client of the scheduler: submit and follow jobs from code.

Exports are loaded lazily: the Slurm-named commands import `sdk.transport` on every call and must
not pay for the records and client modules they do not use.
"""
_EXPORTS = {
    "Client": "sdk.client", "CancelResult": "sdk.client",
    "SlurmError": "sdk.errors", "ConfigNotFound": "sdk.errors", "ControllerUnreachable": "sdk.errors",
    "AcctRecord": "sdk.records", "JobInfo": "sdk.records", "JobSpec": "sdk.records",
    "NodeInfo": "sdk.records", "PartitionInfo": "sdk.records", "StepRecord": "sdk.records",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sdk' has no attribute {name!r}")
    import importlib
    return getattr(importlib.import_module(module), name)
