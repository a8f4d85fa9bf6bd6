"""`scontrol show config`: the cluster's settings in Slurm 22.05's layout.

Slurm prints a fixed list of keys in its own order (not quite alphabetical), each padded to 23
characters, `key = value`, times with their unit (`300 sec`), unset strings as `(null)`, then a
blank line and the controller's ping line. We print the keys of that list that our controller
reports (what slurm.conf set, and the values it resolved), in that order and layout; keys Slurm
does not know (DatabaseURL, SlurmctldSocket, ...) are not shown. Pure: `config_text(config,
conf_keys, now)`.
"""
from __future__ import annotations

from commands.formats import short_hostname_for, timestamp

# Slurm 22.05's order (observed: `scontrol show config`, tests/golden/views/scontrol.json)
SLURM_ORDER = (
    "AccountingStorageBackupHost", "AccountingStorageEnforce", "AccountingStorageHost",
    "AccountingStorageExternalHost", "AccountingStorageParameters", "AccountingStoragePort",
    "AccountingStorageTRES", "AccountingStorageType", "AccountingStorageUser",
    "AccountingStoreFlags", "AcctGatherEnergyType", "AcctGatherFilesystemType",
    "AcctGatherInterconnectType", "AcctGatherNodeFreq", "AcctGatherProfileType",
    "AllowSpecResourcesUsage", "AuthAltTypes", "AuthAltParameters", "AuthInfo", "AuthType",
    "BatchStartTimeout", "BcastExclude", "BcastParameters", "BOOT_TIME", "BurstBufferType",
    "CliFilterPlugins", "ClusterName", "CommunicationParameters", "CompleteWait", "CoreSpecPlugin",
    "CpuFreqDef", "CpuFreqGovernors", "CredType", "DebugFlags", "DefMemPerNode",
    "DependencyParameters", "DisableRootJobs", "EioTimeout", "EnforcePartLimits", "Epilog",
    "EpilogMsgTime", "EpilogSlurmctld", "ExtSensorsType", "ExtSensorsFreq",
    "FairShareDampeningFactor", "FederationParameters", "FirstJobId", "GetEnvTimeout", "GresTypes",
    "GpuFreqDef", "GroupUpdateForce", "GroupUpdateTime", "HASH_VAL", "HealthCheckInterval",
    "HealthCheckNodeState", "HealthCheckProgram", "InactiveLimit", "InteractiveStepOptions",
    "JobAcctGatherFrequency", "JobAcctGatherType", "JobAcctGatherParams", "JobCompHost",
    "JobCompLoc", "JobCompPort", "JobCompType", "JobCompUser", "JobContainerType",
    "JobCredentialPrivateKey", "JobCredentialPublicCertificate", "JobDefaults", "JobFileAppend",
    "JobRequeue", "JobSubmitPlugins", "KillOnBadExit", "KillWait", "LaunchParameters",
    "LaunchType", "Licenses", "LogTimeFormat", "MailDomain", "MailProg", "MaxArraySize",
    "MaxDBDMsgs", "MaxJobCount", "MaxJobId", "MaxMemPerNode", "MaxNodeCount", "MaxStepCount",
    "MaxTasksPerNode", "MCSPlugin", "MCSParameters", "MessageTimeout", "MinJobAge", "MpiDefault",
    "MpiParams", "MULTIPLE_SLURMD", "NEXT_JOB_ID", "NodeFeaturesPlugins", "OverTimeLimit",
    "PluginDir", "PlugStackConfig", "PowerParameters", "PowerPlugin", "PreemptMode", "PreemptType",
    "PreemptExemptTime", "PrEpParameters", "PrEpPlugins", "PriorityParameters",
    "PrioritySiteFactorParameters", "PrioritySiteFactorPlugin", "PriorityDecayHalfLife",
    "PriorityCalcPeriod", "PriorityFavorSmall", "PriorityFlags", "PriorityMaxAge",
    "PriorityUsageResetPeriod", "PriorityType", "PriorityWeightAge", "PriorityWeightAssoc",
    "PriorityWeightFairShare", "PriorityWeightJobSize", "PriorityWeightPartition",
    "PriorityWeightQOS", "PriorityWeightTRES", "PrivateData", "ProctrackType", "Prolog",
    "PrologEpilogTimeout", "PrologSlurmctld", "PrologFlags", "PropagatePrioProcess",
    "PropagateResourceLimits", "PropagateResourceLimitsExcept", "RebootProgram", "ReconfigFlags",
    "RequeueExit", "RequeueExitHold", "ResumeFailProgram", "ResumeProgram", "ResumeRate",
    "ResumeTimeout", "ResvEpilog", "ResvOverRun", "ResvProlog", "ReturnToService", "RoutePlugin",
    "SchedulerParameters", "SchedulerTimeSlice", "SchedulerType", "ScronParameters", "SelectType",
    "SelectTypeParameters", "SlurmUser", "SlurmctldAddr", "SlurmctldDebug", "SlurmctldHost[0]",
    "SlurmctldLogFile", "SlurmctldPort", "SlurmctldSyslogDebug", "SlurmctldPrimaryOffProg",
    "SlurmctldPrimaryOnProg", "SlurmctldTimeout", "SlurmctldParameters", "SlurmdDebug",
    "SlurmdLogFile", "SlurmdParameters", "SlurmdPidFile", "SlurmdPort", "SlurmdSpoolDir",
    "SlurmdSyslogDebug", "SlurmdTimeout", "SlurmdUser", "SlurmSchedLogFile", "SlurmSchedLogLevel",
    "SlurmctldPidFile", "SlurmctldPlugstack", "SLURM_CONF", "SLURM_VERSION", "SrunEpilog",
    "SrunPortRange", "SrunProlog", "StateSaveLocation", "SuspendExcNodes", "SuspendExcParts",
    "SuspendProgram", "SuspendRate", "SuspendTime", "SuspendTimeout", "SwitchParameters",
    "SwitchType", "TaskEpilog", "TaskPlugin", "TaskPluginParam", "TaskProlog", "TCPTimeout",
    "TmpFS", "TopologyParam", "TopologyPlugin", "TrackWCKey", "TreeWidth", "UsePam",
    "UnkillableStepProgram", "UnkillableStepTimeout", "VSizeFactor", "WaitTime", "X11Parameters",
)
UNITS = {
    "AcctGatherNodeFreq": "sec", "BatchStartTimeout": "sec", "CompleteWait": "sec",
    "EpilogMsgTime": "usec", "ExtSensorsFreq": "sec", "GetEnvTimeout": "sec", "GroupUpdateTime": "sec",
    "HealthCheckInterval": "sec", "InactiveLimit": "sec", "KillWait": "sec", "MessageTimeout": "sec",
    "MinJobAge": "sec", "OverTimeLimit": "min", "ResumeRate": "nodes/min", "ResumeTimeout": "sec",
    "ResvOverRun": "min", "SchedulerTimeSlice": "sec", "SlurmctldTimeout": "sec", "SlurmdTimeout": "sec",
    "SuspendRate": "nodes/min", "SuspendTimeout": "sec", "TCPTimeout": "sec",
    "UnkillableStepTimeout": "sec", "VSizeFactor": "percent", "WaitTime": "sec",
}
# what our scheduler does when slurm.conf is silent (the same as Slurm's defaults)
DEFAULTS = {"SchedulerType": "sched/backfill", "SelectType": "select/cons_tres", "JobRequeue": 1,
            "InactiveLimit": 0}
# one slot, two spellings: Slurm prints the per-CPU form when it is set
_MEMORY_SLOTS = {"DefMemPerNode": "DefMemPerCPU", "MaxMemPerNode": "MaxMemPerCPU"}


def _user(value: str) -> str:
    import pwd
    try:
        entry = pwd.getpwnam(value) if not value.isdigit() else pwd.getpwuid(int(value))
        return f"{entry.pw_name}({entry.pw_uid})"
    except KeyError:
        return value


def _controller_host(value: str) -> str:
    name, _, addr = value.partition("(")
    addr = addr.rstrip(")")
    host = short_hostname_for(name.strip() or "localhost")
    if addr:
        return f"{host}({addr})"
    return f"{host}({name.strip()})" if host != name.strip() else host


def _value(key: str, value) -> str:
    if value is None or value == "":
        return "(null)"
    if isinstance(value, bool):
        value = 1 if value else 0
    if key == "SelectTypeParameters":
        return str(value).upper()
    if key in ("SlurmUser", "SlurmdUser"):
        return _user(str(value))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    unit = UNITS.get(key)
    return f"{value} {unit}" if unit else str(value)


def config_lines(config: dict, conf_keys: dict) -> list[str]:
    """`key = value` lines for the keys of SLURM_ORDER we know a value of."""
    known = {k.lower(): v for k, v in DEFAULTS.items()}
    known.update({k.lower(): v for k, v in config.items()})
    if conf_keys.get("SLURM_CONF"):
        known["slurm_conf"] = conf_keys["SLURM_CONF"]
    lines = []
    for key in SLURM_ORDER:
        name, value = key, known.get(key.lower())
        if key in _MEMORY_SLOTS:
            per_cpu = _MEMORY_SLOTS[key]
            if known.get(per_cpu.lower()):
                name, value = per_cpu, known[per_cpu.lower()]
            elif value is None:
                value = "UNLIMITED"
        elif key == "SlurmctldHost[0]":
            value = known.get("slurmctldhost")
            if value is not None:
                value = _controller_host(str(value))
        elif key.lower() not in known:
            continue
        lines.append(f"{name:<23} = {_value(name, value)}")
    return lines


def config_text(config: dict, conf_keys: dict, now: int) -> str:
    host = _controller_host(str(config.get("SlurmctldHost") or "localhost")).split("(")[0]
    lines = [f"Configuration data as of {timestamp(now)}", *config_lines(config, conf_keys), "",
             f"Slurmctld(primary) at {host} is UP"]
    return "\n".join(lines) + "\n"
