#!/usr/bin/env bash
# Install, start a local 4-node cluster (embedded SQLite), run a small demo workload, show
# squeue and sacct. The cluster keeps running: `.venv/bin/slurm-local down --dir /tmp/slurm-demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-venv.sh
export PATH="$PWD/.venv/bin:$PATH"
DIR=${DEMO_DIR:-/tmp/slurm-demo}
slurm-local down --dir "$DIR" >/dev/null 2>&1 || true
slurm-local up --nodes 4 --cpus 8 --mem 16000 --gpus-per-node 4 --dir "$DIR"
export SLURM_CONF=$DIR/slurm.conf
WORK=$(mktemp -d /tmp/slurm-demo-work.XXXXXX)
cd "$WORK"
cat > train.sh <<'JOB'
#!/bin/bash
#SBATCH -J train
#SBATCH -p gpu
#SBATCH --gres=gpu:2
#SBATCH -c 4
#SBATCH -t 5
echo "job $SLURM_JOB_ID on $SLURM_JOB_NODELIST with GPUs $CUDA_VISIBLE_DEVICES"
sleep 3
JOB
sbatch train.sh
sbatch -J prep -c 2 --mem=1000 --wrap 'echo preparing; sleep 2'
sbatch -J fails --wrap 'exit 3'
sbatch -J long -t 1 --wrap 'sleep 600'
sleep 1
echo "--- squeue"; squeue
echo "--- sinfo"; sinfo
sleep 4
echo "--- sacct"; sacct
scancel -n long
echo "--- outputs in $WORK"; head -n 5 "$WORK"/slurm-*.out
echo "cluster still up (export SLURM_CONF=$SLURM_CONF); stop it with: slurm-local down --dir $DIR"
