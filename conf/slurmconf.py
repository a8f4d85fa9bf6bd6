"""slurm.conf -> a validated, frozen `Config`, reporting every problem at once.

    load_config(path) / parse_config_text(text, path)
      lex (conf.lexer: comments, continuations, Include)
      -> sort lines into globals, NodeName, PartitionName, NodeSet, DownNodes, SlurmctldHost
      -> convert each value with the declarative tables below, DEFAULT lines applying forward
      -> cross-check (nodes named by partitions exist, one default partition, GresTypes, ...)
      -> Config, or ConfigError listing `path:line: message` for each problem

Keys slurm.conf(5) documents but this scheduler does not use are accepted with a warning
(`Config.warnings`); unknown keys are errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from conf import values as v
from conf.errors import ConfError, ConfigError
from conf.keys import (
    DOWN_NODES_KEYS,
    FRONTEND_KEYS,
    GLOBAL_KEYS,
    NODE_KEYS,
    NODESET_KEYS,
    OWN_GLOBAL_KEYS,
    PARTITION_KEYS,
    canonical_map,
)
from conf.lexer import ConfLine, iter_file_lines, iter_text_lines
from conf.model import Config, PartitionConfig, PartitionState
from conf.nodes import NodeBuilder

__all__ = ["Config", "ConfigError", "load_config", "parse_config_text"]

# canonical key -> (Config field, converter); defaults are the Config dataclass defaults
GLOBAL_SCHEMA: dict[str, tuple[str, v.Converter]] = {
    "ClusterName": ("cluster_name", v.nonempty),
    "SlurmctldPort": ("slurmctld_port", v.port),
    "SlurmdPort": ("slurmd_port", v.int_range(1, 65535)),
    "SlurmUser": ("slurm_user", v.nonempty),
    "StateSaveLocation": ("state_save_location", v.nonempty),
    "SlurmdSpoolDir": ("slurmd_spool_dir", v.nonempty),
    "TmpFS": ("tmp_fs", v.nonempty),
    "KillWait": ("kill_wait", v.int_range(0, 65533)),
    "MinJobAge": ("min_job_age", v.integer),
    "FirstJobId": ("first_job_id", v.int_range(1)),
    "MaxJobId": ("max_job_id", v.int_range(1, 0x7FFFFFFF)),
    "MaxArraySize": ("max_array_size", v.int_range(0, 4000001)),
    "MaxJobCount": ("max_job_count", v.int_range(1)),
    "SlurmdTimeout": ("slurmd_timeout", v.integer),
    "SlurmctldTimeout": ("slurmctld_timeout", v.integer),
    "InactiveLimit": ("inactive_limit", v.integer),
    "JobRequeue": ("job_requeue", v.boolean),
    "JobFileAppend": ("job_file_append", v.boolean),
    "ReturnToService": ("return_to_service", v.int_range(0, 2)),
    "OverTimeLimit": ("over_time_limit", v.minutes_or_unlimited),
    "DefMemPerCPU": ("def_mem_per_cpu", v.memory_or_unset),
    "MaxMemPerCPU": ("max_mem_per_cpu", v.memory_or_unset),
    "DefMemPerNode": ("def_mem_per_node", v.memory_or_unset),
    "MaxMemPerNode": ("max_mem_per_node", v.memory_or_unset),
    "EnforcePartLimits": ("enforce_part_limits", v.choice("NO", "ALL", "ANY", "YES")),
    "SchedulerType": ("scheduler_type", v.choice("sched/backfill", "sched/builtin")),
    "SchedulerParameters": ("scheduler_parameters", v.parameter_map),
    "SelectType": ("select_type", v.choice("select/cons_tres", "select/cons_res", "select/linear")),
    "SelectTypeParameters": ("select_type_parameters", v.text_value),
    "PriorityType": ("priority_type", v.choice("priority/multifactor", "priority/basic")),
    "PriorityWeightAge": ("priority_weight_age", v.integer),
    "PriorityWeightAssoc": ("priority_weight_assoc", v.integer),
    "PriorityWeightFairshare": ("priority_weight_fairshare", v.integer),
    "PriorityWeightJobSize": ("priority_weight_job_size", v.integer),
    "PriorityWeightPartition": ("priority_weight_partition", v.integer),
    "PriorityWeightQOS": ("priority_weight_qos", v.integer),
    "PriorityWeightTRES": ("priority_weight_tres", v.parameter_map),
    "PriorityMaxAge": ("priority_max_age", v.bounded_duration),
    "PriorityDecayHalfLife": ("priority_decay_half_life", v.bounded_duration),
    "PriorityCalcPeriod": ("priority_calc_period", v.bounded_duration),
    "PriorityFavorSmall": ("priority_favor_small", v.boolean),
    "PriorityFlags": ("priority_flags", v.upper_word_list),
    "PriorityUsageResetPeriod": (
        "priority_usage_reset_period",
        v.choice("NONE", "NOW", "DAILY", "WEEKLY", "MONTHLY", "QUARTERLY", "YEARLY"),
    ),
    "FairShareDampeningFactor": ("fair_share_dampening_factor", v.int_range(1)),
    "PreemptType": ("preempt_type", v.choice("preempt/none", "preempt/partition_prio", "preempt/qos")),
    "PreemptMode": ("preempt_mode", lambda text: text.upper()),
    "AccountingStorageType": ("accounting_storage_type", v.text_value),
    "AccountingStorageEnforce": ("accounting_storage_enforce", lambda text: tuple(w.lower() for w in v.word_list(text))),
    "GresTypes": ("gres_types", v.word_list),
    "DatabaseURL": ("database_url", v.text_value),
    "SlurmctldSocket": ("slurmctld_socket", v.text_value),
}

# canonical key -> (PartitionConfig field, converter)
PARTITION_SCHEMA: dict[str, tuple[str, v.Converter]] = {
    "Default": ("is_default", v.boolean),
    "MaxTime": ("max_time", v.duration),
    "DefaultTime": ("default_time", v.optional_duration),
    "State": ("state", lambda text: PartitionState(v.choice(*PartitionState)(text))),
    "MaxNodes": ("max_nodes", v.integer_or_unlimited),
    "MinNodes": ("min_nodes", v.integer),
    "MaxCPUsPerNode": ("max_cpus_per_node", v.integer_or_unlimited),
    "PriorityTier": ("priority_tier", v.int_range(0, 65533)),
    "PriorityJobFactor": ("priority_job_factor", v.int_range(0, 65533)),
    "Hidden": ("hidden", v.boolean),
    "RootOnly": ("root_only", v.boolean),
    "OverSubscribe": ("oversubscribe", v.choice("NO", "YES", "FORCE", "EXCLUSIVE", with_count=True)),
    "Shared": ("oversubscribe", v.choice("NO", "YES", "FORCE", "EXCLUSIVE", with_count=True)),
    "AllowAccounts": ("allow_accounts", v.nonempty),
    "AllowGroups": ("allow_groups", v.nonempty),
    "AllowQos": ("allow_qos", v.nonempty),
    "DenyAccounts": ("deny_accounts", v.text_value),
    "DenyQos": ("deny_qos", v.text_value),
    "QOS": ("qos", v.text_value),
    "DefMemPerCPU": ("def_mem_per_cpu", v.memory_or_unset),
    "MaxMemPerCPU": ("max_mem_per_cpu", v.memory_or_unset),
    "DefMemPerNode": ("def_mem_per_node", v.memory_or_unset),
    "MaxMemPerNode": ("max_mem_per_node", v.memory_or_unset),
    "OverTimeLimit": ("over_time_limit", v.minutes_or_unlimited),
    "TRESBillingWeights": ("tres_billing_weights", v.text_value),
}

_GLOBAL_CANON = canonical_map(GLOBAL_KEYS, OWN_GLOBAL_KEYS)
_PARTITION_CANON = canonical_map(PARTITION_KEYS)
_NODESET_CANON = canonical_map(NODESET_KEYS)
_NODE_CANON = canonical_map(NODE_KEYS)
_DOWN_CANON = canonical_map(DOWN_NODES_KEYS)
_FRONTEND_CANON = canonical_map(FRONTEND_KEYS)
_CONTROL_HOST = re.compile(r"([^()\s]+)(?:\(([^()\s]*)\))?")
#: legacy spellings of SlurmctldHost
_LEGACY_CONTROL = {"ControlMachine", "BackupController"}


def load_config(path: str) -> Config:
    """Read and validate the slurm.conf at `path` (and what it includes)."""
    parser = _Parser(path)
    return parser.finish(iter_file_lines(path, parser.problems, parser.cluster_name))


def parse_config_text(text: str, path: str = "<string>") -> Config:
    """Validate slurm.conf text; `path` names it in messages and anchors relative Includes."""
    parser = _Parser(path)
    return parser.finish(iter_text_lines(text, path, parser.problems, parser.cluster_name))


def _in_file_order(problems: list[str]) -> list[str]:
    """Problems sorted by line within each file, files in the order they were first reported."""
    file_rank: dict[str, int] = {}

    def key(problem: str) -> tuple[int, int]:
        path, _, rest = problem.partition(":")
        line_text = rest.partition(":")[0]
        rank = file_rank.setdefault(path, len(file_rank))
        return rank, int(line_text) if line_text.isdigit() else 0

    return sorted(problems, key=key)


@dataclass
class _Setting:
    value: str
    where: str


@dataclass
class _Parser:
    path: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    settings: dict[str, _Setting] = field(default_factory=dict)
    control_hosts: list[tuple[str, str]] = field(default_factory=list)  # (host, addr)
    partition_lines: list[ConfLine] = field(default_factory=list)
    nodeset_lines: list[ConfLine] = field(default_factory=list)
    down_lines: list[ConfLine] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.nodes = NodeBuilder(self.problems, self.warnings)

    def cluster_name(self) -> str:
        setting = self.settings.get("ClusterName")
        return setting.value if setting else "cluster"

    # --- pass 1: sort lines --------------------------------------------------------------

    def finish(self, lines: Any) -> Config:
        for line in lines:
            self.take(line)
        config = self.build()
        if self.problems:
            raise ConfigError(_in_file_order(self.problems))
        return config

    def take(self, line: ConfLine) -> None:
        first = line.pairs[0].key.lower()
        if first == "nodename":
            self.nodes.take(line)
        elif first == "partitionname":
            self.partition_lines.append(line)
        elif first == "nodeset":
            self.nodeset_lines.append(line)
        elif first == "downnodes":
            self.down_lines.append(line)
        elif first == "frontendname":
            self.warnings.append(f"{line.where}: warning: FrontendName lines are not used; ignored")
            for pair in line.pairs[1:]:
                if pair.key.lower() not in _FRONTEND_CANON:
                    self.problems.append(f"{line.where}: unknown FrontendName key {pair.key!r}")
        else:
            for pair in line.pairs:
                self.take_global(pair.key, pair.value, line.where)

    def take_global(self, key: str, value: str, where: str) -> None:
        canonical = _GLOBAL_CANON.get(key.lower())
        if canonical is None:
            hint = ""
            if key.lower() in _PARTITION_CANON:
                hint = " (a partition key: put it on a PartitionName line)"
            elif key.lower() in _NODE_CANON:
                hint = " (a node key: put it on a NodeName line)"
            self.problems.append(f"{where}: unknown key {key!r}{hint}")
            return
        if canonical in ("SlurmctldHost", *_LEGACY_CONTROL):
            match = _CONTROL_HOST.fullmatch(value)
            if match is None:
                self.problems.append(f"{where}: {key}={value}: expected host or host(address)")
            else:
                self.control_hosts.append((match.group(1), match.group(2) or ""))
            self.settings.setdefault("SlurmctldHost", _Setting(value, where))
            return
        if canonical not in GLOBAL_SCHEMA and canonical not in OWN_GLOBAL_KEYS and canonical != "ControlAddr":
            self.warnings.append(f"{where}: warning: {canonical} is accepted but not used")
        elif canonical in self.settings:
            earlier = self.settings[canonical].where
            self.warnings.append(f"{where}: warning: {canonical} was already set at {earlier}; the last value wins")
        self.settings[canonical] = _Setting(value, where)

    # --- pass 2: build ------------------------------------------------------------------

    def build(self) -> Config:
        fields: dict[str, Any] = {}
        for canonical, setting in self.settings.items():
            if canonical not in GLOBAL_SCHEMA:
                continue
            name, convert = GLOBAL_SCHEMA[canonical]
            try:
                fields[name] = convert(setting.value)
            except (ValueError, ConfError) as error:
                self.problems.append(f"{setting.where}: {canonical}={setting.value}: {error}")
        control_addr = self.settings["ControlAddr"].value if "ControlAddr" in self.settings else ""
        if self.control_hosts and self.control_hosts[0][1]:
            control_addr = self.control_hosts[0][1]
        nodes = self.nodes.build(
            gres_types=fields.get("gres_types", ()),
            down_lines=self.down_lines,
            down_canon=_DOWN_CANON,
        )
        node_names = [node.name for node in nodes]
        nodesets = self.build_nodesets(node_names, nodes)
        partitions = self.build_partitions(node_names, nodesets)
        return Config(
            path=self.path,
            control_hosts=tuple(host for host, _ in self.control_hosts),
            control_addr=control_addr,
            nodes=tuple(nodes),
            partitions=tuple(partitions),
            raw={key: setting.value for key, setting in self.settings.items()},
            warnings=tuple(self.warnings),
            **fields,
        )

    def build_nodesets(self, node_names: list[str], nodes: list[Any]) -> dict[str, set[str]]:
        nodesets: dict[str, set[str]] = {}
        for line in self.nodeset_lines:
            name = line.pairs[0].value
            members: set[str] = set()
            for pair in line.pairs[1:]:
                canonical = _NODESET_CANON.get(pair.key.lower())
                if canonical == "Nodes":
                    members |= set(self.node_list(pair.value, node_names, {}, line.where, f"NodeSet {name}"))
                elif canonical == "Feature":
                    members |= {node.name for node in nodes if pair.value in node.features}
                else:
                    self.problems.append(f"{line.where}: unknown NodeSet key {pair.key!r}")
            nodesets[name] = members
        return nodesets

    def node_list(
        self, text: str, node_names: list[str], nodesets: dict[str, set[str]], where: str, owner: str
    ) -> list[str]:
        """Names in `text` (hostlist, nodeset names or ALL) in node declaration order."""
        from conf.hostlist import expand_hostlist

        if text.upper() == "ALL":
            return list(node_names)
        wanted: set[str] = set()
        try:
            names = expand_hostlist(text)
        except ConfError as error:
            self.problems.append(f"{where}: {owner}: Nodes={text}: {error}")
            return []
        declared = set(node_names)
        for name in names:
            if name in nodesets:
                wanted |= nodesets[name]
            elif name in declared:
                wanted.add(name)
            else:
                self.problems.append(f"{where}: {owner}: node {name} is not declared by any NodeName line")
        return [name for name in node_names if name in wanted]

    def build_partitions(self, node_names: list[str], nodesets: dict[str, set[str]]) -> list[PartitionConfig]:
        defaults: dict[str, tuple[str, str]] = {}  # canonical -> (value, where)
        partitions: list[PartitionConfig] = []
        seen: dict[str, str] = {}
        default_at: str | None = None
        for line in self.partition_lines:
            name = line.pairs[0].value
            settings: dict[str, tuple[str, str]] = {}
            for pair in line.pairs[1:]:
                canonical = _PARTITION_CANON.get(pair.key.lower())
                if canonical is None or canonical == "PartitionName":
                    self.problems.append(f"{line.where}: unknown partition key {pair.key!r}")
                elif canonical not in PARTITION_SCHEMA and canonical != "Nodes":
                    self.warnings.append(f"{line.where}: warning: partition key {canonical} is accepted but not used")
                else:
                    settings[canonical] = (pair.value, line.where)
            if name.upper() == "DEFAULT":
                defaults.update(settings)
                continue
            if not name:
                self.problems.append(f"{line.where}: PartitionName must not be empty")
                continue
            if name in seen:
                self.problems.append(f"{line.where}: partition {name} was already defined at {seen[name]}")
                continue
            seen[name] = line.where
            partition = self.build_partition(name, {**defaults, **settings}, line.where, node_names, nodesets)
            if partition.is_default:
                if default_at is not None:
                    self.problems.append(
                        f"{line.where}: partition {name} is Default=YES but so is the one at {default_at}"
                    )
                default_at = line.where
            partitions.append(partition)
        return partitions

    def build_partition(
        self,
        name: str,
        settings: dict[str, tuple[str, str]],
        where: str,
        node_names: list[str],
        nodesets: dict[str, set[str]],
    ) -> PartitionConfig:
        fields: dict[str, Any] = {}
        for canonical, (value, value_where) in settings.items():
            if canonical == "Nodes":
                fields["nodes"] = tuple(self.node_list(value, node_names, nodesets, value_where, f"partition {name}"))
                continue
            field_name, convert = PARTITION_SCHEMA[canonical]
            try:
                fields[field_name] = convert(value)
            except (ValueError, ConfError) as error:
                self.problems.append(f"{value_where}: partition {name}: {canonical}={value}: {error}")
        partition = PartitionConfig(name=name, **fields)
        if (
            partition.default_time is not None
            and partition.max_time is not None
            and partition.default_time > partition.max_time
        ):
            self.problems.append(f"{where}: partition {name}: DefaultTime exceeds MaxTime")
        if partition.max_nodes is not None and partition.min_nodes > partition.max_nodes:
            self.problems.append(f"{where}: partition {name}: MinNodes exceeds MaxNodes")
        return partition

