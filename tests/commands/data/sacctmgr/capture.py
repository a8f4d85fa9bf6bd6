"""Capture golden sacctmgr outputs from the real Slurm 22.05 (/usr/bin/sacctmgr with slurmdbd).

    SLURM_CONF=/etc/slurm/slurm.conf python tests/commands/data/sacctmgr/capture.py

Runs SCRIPT in order (as root unless a step names another user, stdin as given) and writes
golden.json: [{"args", "as", "stdin", "stdout", "stderr", "rc"}]. The reference cluster is
'anchor' with an account 'anchor' holding user root; test_sacctmgr_golden.py builds the same.
Everything the script adds (zz* accounts and QOS, users nobody and daemon) is removed at the end.
"""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SACCTMGR = "/usr/bin/sacctmgr"

# (command line, user, stdin)
SCRIPT: list[tuple[str, str, str | None]] = [
    ('-i add account zzsci Description="sci dept" Organization=org fairshare=50', "root", None),
    ("-i add account zzsci", "root", None),
    ("-i add account zzphys parent=zzsci fairshare=20", "root", None),
    ("-i add account zzchem,zzbio parent=zzsci", "root", None),
    ("-i add account zzx parent=nosuchparent", "root", None),
    ("-i add account zzq3 bogus=1", "root", None),
    ("-i add account zzsci fairshare=bogus", "root", None),
    ("add account", "root", None),
    ("-i add user nobody account=zzphys fairshare=10 DefaultAccount=zzphys", "root", None),
    ("-i add user nobody account=zzchem", "root", None),
    ("-i add user nobody account=zzchem", "root", None),
    ("-i add user daemon account=nosuchacct", "root", None),
    ("-i add user daemon", "root", None),
    ("-i add qos zzhigh", "root", None),
    ("-i add qos zzhigh", "root", None),
    ("-i add qos zzlow Priority=10 MaxTRESPerUser=cpu=8 MaxJobsPerUser=10 MaxWall=2-00:00:00 Flags=DenyOnLimit "
     'UsageFactor=0.5 GrpTRES=cpu=100 GraceTime=60 Preempt=zzhigh PreemptMode=requeue Description="low prio"',
     "root", None),
    ("-i modify user nobody set qos+=zzhigh", "root", None),
    ("-i modify user nobody set qos+=nosuch", "root", None),
    ("-i modify account zzphys set fairshare=30", "root", None),
    ("-i modify account where name=zzphys set fairshare=parent", "root", None),
    ("-i modify account zzphys set Description=physics", "root", None),
    ("-i modify qos zzhigh set priority=200", "root", None),
    ("-i modify user nobody set defaultaccount=zzchem", "root", None),
    ("-i modify user nobody set defaultaccount=zzsci", "root", None),
    ("-i modify user nobody set adminlevel=operator", "root", None),
    ("-i modify user where name=nosuch set fairshare=3", "root", None),
    ("-i modify account zzphys set", "root", None),
    ("-i modify user nobody set defaultqos=nosuch", "root", None),
    ("-i modify account zzphys set priority=5", "root", None),
    ("-i modify user nobody where account=zzphys set fairshare=7", "root", None),
    ("-i modify user nobody set qos+=zzlow defaultqos=zzlow", "root", None),
    ("show qos", "root", None),
    ("show qos format=name,priority,usagefactor,flags -P", "root", None),
    ("show assoc", "root", None),
    ("show assoc tree", "root", None),
    ("show assoc format=Cluster,Account,User,Partition,Share,Priority,QOS,DefaultQOS tree -P", "root", None),
    ("show assoc format=account,user,share,qos,defaultqos -p", "root", None),
    ("-n show account", "root", None),
    ("show account withassoc", "root", None),
    ("show user withassoc", "root", None),
    ("show user", "root", None),
    ("show user nobody", "root", None),
    ("show account zzsci", "root", None),
    ("show assoc where account=zzsci", "root", None),
    ("show assoc where user=nobody", "root", None),
    ("list associations format=account%20,user%-12,fairshare", "root", None),
    ("show assoc format=bogus", "root", None),
    ("show bogus", "root", None),
    ("bogus", "root", None),
    ("show cluster -P", "root", None),
    ("show cluster format=cluster,controlhost", "root", None),
    ("show user -n -P", "root", None),
    ("show account -p", "root", None),
    ("show qos -n format=name,priority", "root", None),
    ("list user root withassoc -P", "root", None),
    ("list qos format=name,maxwall,gracetime,preemptmode,usagethres -P", "root", None),
    ("-i add account zzq4", "daemon", None),
    ("-i add qos zzq4", "daemon", None),
    ("-i modify account zzsci set fairshare=3", "daemon", None),
    ("-i delete account zzbio", "daemon", None),
    ("show assoc format=account,user -P where account=zzsci", "daemon", None),
    ("-i add account zzop", "nobody", None),
    ("add account zzq", "root", "n\n"),
    ("add account zzq", "root", "y\n"),
    ("delete account zzq", "root", "n\n"),
    ("modify account zzq set fairshare=4", "root", "n\n"),
    ("-i delete qos zzlow", "root", None),
    ("-i add user daemon account=zzphys partition=cpu", "root", None),
    ("show assoc format=account,user,partition,share -P where account=zzphys", "root", None),
    ("-i delete user nobody where account=zzchem", "root", None),
    ("-i modify user nobody set qos-=zzlow", "root", None),
    ("-i delete account zzphys", "root", None),
    ("-i delete qos nosuch", "root", None),
    ("-i delete account nosuch", "root", None),
    ("-i delete user nosuch", "root", None),
    ("show assoc -P", "root", None),
    ("show user -P", "root", None),
]

CLEANUP = [
    "-i delete user nobody,daemon",
    "-i delete qos zzhigh,zzlow,zzq4",
    "-i delete account zzsci,zzbio,zzchem,zzq,zzop,zzq4,zzphys,zzx,zzq3",
]


def run(line: str, user: str, stdin: str | None) -> dict:
    argv = [SACCTMGR, *shlex.split(line)]
    if user != "root":
        argv = ["su", "-s", "/bin/sh", user, "-c", f"SLURM_CONF={os.environ['SLURM_CONF']} {shlex.join(argv)}"]
    done = subprocess.run(argv, input=stdin if stdin is not None else "", capture_output=True, text=True,
                          timeout=60)
    return {"args": line, "as": user, "stdin": stdin, "stdout": done.stdout, "stderr": done.stderr,
            "rc": done.returncode}


def main() -> int:
    os.environ.setdefault("SLURM_CONF", "/etc/slurm/slurm.conf")
    results = []
    try:
        for line, user, stdin in SCRIPT:
            results.append(run(line, user, stdin))
    finally:
        for line in CLEANUP:
            run(line, "root", None)
    (HERE / "golden.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {len(results)} cases to {HERE / 'golden.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
