#!/usr/bin/env bash
# The bench/views.py queries on the real Slurm 22.05 here (SLURM_CONF=/etc/slurm/slurm.conf), as
# the user `nobody` so that other people's jobs on that cluster are left alone.
#   bench/views_real.sh [PENDING] [FINISHED]     defaults 9000 and 2000 (0 skips that part)
# 1. PENDING held jobs (`sbatch --hold --wrap true`, 4 loops in parallel; MaxJobCount there is
#    10,000, so 10,000 cannot be queued) -> hyperfine the squeue queries -> scancel them.
# 2. FINISHED `true` jobs as arrays of 1,000 on both partitions (at the cluster's ~13 jobs/s a
#    100,000-job history would take about two hours) -> wait until sacct has them all ->
#    hyperfine the sacct window query over the whole history of the cluster and `sacct -j`.
# Results: hyperfine JSON in /tmp/bench-views-real/.
set -euo pipefail
PENDING=${1:-9000}
FINISHED=${2:-2000}
export SLURM_CONF=/etc/slurm/slurm.conf
OUT=/tmp/bench-views-real
WORK=/tmp/bench-views-real/work
mkdir -p "$WORK"
chmod 1777 "$WORK"
cd "$WORK"
as_nobody() { runuser -u nobody -- "$@"; }

if [ "$PENDING" != 0 ]; then
t0=$(date +%s.%N)
for loop in 1 2 3 4; do
  ( for _ in $(seq $((PENDING / 4))); do as_nobody /usr/bin/sbatch -Q --hold -J bench --mem=10 --wrap true; done ) &
done
wait
echo "# $PENDING held jobs submitted in $(echo "$(date +%s.%N) - $t0" | bc) s" >&2
/usr/bin/squeue -h -u nobody -t PD | wc -l >&2
hyperfine -N -w 2 -r 20 --export-json "$OUT/squeue.json" --output=null \
  "/usr/bin/squeue" "/usr/bin/squeue -h -o %i" \
  "/usr/bin/squeue -u nobody -t PD -o '%.18i %.9P %.8j %.8u %.2t %.10M %R'"
as_nobody /usr/bin/scancel -u nobody -n bench
# the cancelled jobs count against MaxJobCount until MinJobAge (300 s) has passed
sleep 310
fi
[ "$FINISHED" = 0 ] && exit 0

start=$(date +%Y-%m-%dT%H:%M:%S)
arrays=$((FINISHED / 1000))
ids=()
for i in $(seq "$arrays"); do
  part=$([ $((i % 2)) = 1 ] && echo cpu || echo gpu)
  ids+=("$(as_nobody /usr/bin/sbatch --parsable -J benchdone -p "$part" --array=0-999 --mem=10 -t 1 \
           --nice=1000 -o /dev/null --wrap true)")
done
echo "# arrays ${ids[*]} submitted at $start" >&2
while [ "$(/usr/bin/squeue -h -u nobody -n benchdone | wc -l)" != 0 ]; do sleep 5; done
# slurmdbd receives job records asynchronously: wait until it has every task
want=$((arrays * 1000))
while [ "$(/usr/bin/sacct -X -n -P -u nobody --name benchdone -S "$start" -E now -o JobID | wc -l)" -lt "$want" ]; do
  sleep 2
done
echo "# $want tasks finished; history rows in the window query:" \
  "$(/usr/bin/sacct -a -X -n -P -S 2020-01-01T00:00:00 -E now -o JobID,State,NodeList | wc -l)" >&2
hyperfine -N -w 1 -r 10 --export-json "$OUT/sacct.json" --output=null \
  "/usr/bin/sacct -a -X -n -P -S 2020-01-01T00:00:00 -E now -o JobID,State,NodeList" \
  "/usr/bin/sacct -a -n -P -S 2020-01-01T00:00:00 -E now -o JobID,State,ExitCode" \
  "/usr/bin/sacct -a -X" \
  "/usr/bin/sacct -j ${ids[0]}_500"
