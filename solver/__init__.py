"""Pure scheduling decisions over frozen snapshots (no I/O, no clock)."""
from solver.plan import PendingDecision, Plan, Reason, Start
from solver.snapshot import (
    ClusterSnapshot, GpuDevice, JobRequest, NodeAllocation, NodeState, NodeView,
    PartitionState, PartitionView, PriorityInputs, RunningJob, SchedulingPolicy,
)
from solver.priority import PriorityContext, PriorityFactors, priority_factors
from solver.solve import solve

__all__ = [
    "ClusterSnapshot", "GpuDevice", "JobRequest", "NodeAllocation", "NodeState", "NodeView",
    "PartitionState", "PartitionView", "PendingDecision", "Plan", "Reason", "RunningJob",
    "SchedulingPolicy", "Start", "solve", "PriorityInputs", "PriorityContext", "PriorityFactors",
    "priority_factors",
]
