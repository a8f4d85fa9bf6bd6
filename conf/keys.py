"""The keys slurm.conf(5) documents (Slurm 22.05 man page, plus older and newer spellings still
found in site files), in Slurm's canonical case.

A key listed here that `conf.slurmconf` does not use is accepted with a warning, so an existing
slurm.conf loads; a key in no list is an error.
"""

from __future__ import annotations

GLOBAL_KEYS: frozenset[str] = frozenset(
    """
    AccountingStorageBackupHost AccountingStorageEnforce AccountingStorageExternalHost
    AccountingStorageHost AccountingStorageLoc AccountingStorageParameters AccountingStoragePass
    AccountingStoragePort AccountingStorageTRES AccountingStorageType AccountingStorageUser
    AccountingStoreFlags AccountingStoreJobComment AcctGatherEnergyType AcctGatherFilesystemType
    AcctGatherInfinibandType AcctGatherInterconnectType AcctGatherNodeFreq AcctGatherProfileType
    AllowSpecResourcesUsage AuthAltParameters AuthAltTypes AuthInfo AuthType BackupAddr
    BackupController BatchStartTimeout BcastExclude BcastParameters BurstBufferParameters
    BurstBufferType CliFilterPlugins ClusterName CommunicationParameters CompleteWait ControlAddr
    ControlMachine CoreSpecPlugin CpuFreqDef CpuFreqGovernors CredType CryptoType DebugFlags
    DefCpuPerGPU DefMemPerCPU DefMemPerGPU DefMemPerNode DependencyParameters DisableRootJobs
    EioTimeout EnforcePartLimits Epilog EpilogMsgTime EpilogSlurmctld ExtSensorsFreq ExtSensorsType
    FairShareDampeningFactor FastSchedule FederationParameters FirstJobId GetEnvTimeout GpuFreqDef
    GresTypes GroupUpdateForce GroupUpdateTime HealthCheckInterval HealthCheckNodeState
    HealthCheckProgram InactiveLimit InteractiveStepOptions JobAcctGatherFrequency
    JobAcctGatherParams JobAcctGatherType JobCompHost JobCompLoc JobCompParams JobCompPass
    JobCompPort JobCompType JobCompUser JobContainerType JobCredentialPrivateKey
    JobCredentialPublicCertificate JobFileAppend JobRequeue JobSubmitPlugins KeepAliveTime
    KillOnBadExit KillWait LaunchParameters LaunchType Licenses LogTimeFormat MCSParameters
    MCSPlugin MailDomain MailProg MaxArraySize MaxBatchRequeue MaxDBDMsgs MaxJobCount MaxJobId
    MaxMemPerCPU MaxMemPerNode MaxNodeCount MaxStepCount MaxTasksPerNode MemLimitEnforce
    MessageTimeout MinJobAge MpiDefault MpiParams NodeFeaturesPlugins OverTimeLimit PlugStackConfig
    PluginDir PowerParameters PowerPlugin PrEpParameters PrEpPlugins PreemptExemptTime PreemptMode
    PreemptParameters PreemptType PriorityCalcPeriod PriorityDecayHalfLife PriorityFavorSmall
    PriorityFlags PriorityMaxAge PriorityParameters PrioritySiteFactorParameters
    PrioritySiteFactorPlugin PriorityType PriorityUsageResetPeriod PriorityWeightAge
    PriorityWeightAssoc PriorityWeightFairshare PriorityWeightJobSize PriorityWeightPartition
    PriorityWeightQOS PriorityWeightTRES PrivateData ProctrackType Prolog PrologEpilogTimeout
    PrologFlags PrologSlurmctld PropagatePrioProcess PropagateResourceLimits
    PropagateResourceLimitsExcept RebootProgram ReconfigFlags RequeueExit RequeueExitHold
    ResumeFailProgram ResumeProgram ResumeRate ResumeTimeout ResvEpilog ResvOverRun ResvProlog
    ReturnToService RoutePlugin SallocDefaultCommand SbcastParameters SchedulerParameters
    SchedulerTimeSlice SchedulerType ScronParameters SelectType SelectTypeParameters
    SlurmSchedLogFile SlurmSchedLogLevel SlurmUser SlurmctldAddr SlurmctldDebug SlurmctldHost
    SlurmctldLogFile SlurmctldParameters SlurmctldPidFile SlurmctldPlugstack SlurmctldPort
    SlurmctldPrimaryOffProg SlurmctldPrimaryOnProg SlurmctldSyslogDebug SlurmctldTimeout
    SlurmdDebug SlurmdLogFile SlurmdParameters SlurmdPidFile SlurmdPort SlurmdSpoolDir
    SlurmdSyslogDebug SlurmdTimeout SlurmdUser SrunEpilog SrunPortRange SrunProlog
    StateSaveLocation SuspendExcNodes SuspendExcParts SuspendExcStates SuspendProgram SuspendRate
    SuspendTime SuspendTimeout SwitchParameters SwitchType TCPTimeout TaskEpilog TaskPlugin
    TaskPluginParam TaskProlog TmpFS TopologyParam TopologyPlugin TrackWCKey TreeWidth
    UnkillableStepProgram UnkillableStepTimeout UsePAM VSizeFactor WaitTime X11Parameters
    HashPlugin TLSType TLSParameters CertmgrType CertmgrParameters CertgenType CertgenParameters
    DataParserParameters UrlParserType MetricsType
    """.split()
)

#: keys that are ours, not Slurm's
OWN_GLOBAL_KEYS: frozenset[str] = frozenset({"DatabaseURL", "SlurmctldSocket", "SlurmctldClientPort", "AgentKeysDir"})

NODE_KEYS: frozenset[str] = frozenset(
    """
    NodeName BcastAddr Boards CPUs CoreSpecCount CoresPerSocket CpuBind CpuSpecList Feature Features
    Gres MemSpecLimit NodeAddr NodeHostname Port Procs RealMemory Reason Sockets SocketsPerBoard
    State ThreadsPerCore TmpDisk TRESWeights Weight AvailableFeatures RestrictedCoresPerGPU Topology
    Parameters
    """.split()
)

PARTITION_KEYS: frozenset[str] = frozenset(
    """
    PartitionName AllocNodes AllowAccounts AllowGroups AllowQos Alternate CpuBind DefCpuPerGPU
    DefMemPerCPU DefMemPerGPU DefMemPerNode Default DefaultTime DenyAccounts DenyQos DisableRootJobs
    ExclusiveUser GraceTime Hidden LLN MaxCPUsPerNode MaxCPUsPerSocket MaxMemPerCPU MaxMemPerNode
    MaxNodes MaxTime MinNodes Nodes OverSubscribe OverTimeLimit PowerDownOnIdle PreemptMode
    PriorityJobFactor PriorityTier QOS ReqResv ResumeTimeout RootOnly SelectTypeParameters Shared
    State SuspendTime SuspendTimeout TRESBillingWeights Exclusive Topology
    """.split()
)

DOWN_NODES_KEYS: frozenset[str] = frozenset({"DownNodes", "Reason", "State"})
NODESET_KEYS: frozenset[str] = frozenset({"NodeSet", "Feature", "Nodes"})
FRONTEND_KEYS: frozenset[str] = frozenset(
    {"FrontendName", "AllowGroups", "AllowUsers", "DenyGroups", "DenyUsers", "FrontendAddr", "Port", "Reason", "State"}
)


def canonical_map(*key_sets: frozenset[str]) -> dict[str, str]:
    """lower-case key -> canonical spelling."""
    return {key.lower(): key for keys in key_sets for key in keys}
