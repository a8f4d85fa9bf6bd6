#!/usr/bin/env bash
# Run the real-Slurm baseline script (../shared/real-slurm/baseline.sh) against a local cluster of
# ours with the same shape as the anchor (2 nodes x 8 CPUs x 16000 MB in partition cpu).
#   bench/baseline.sh [--db URL]      raw numbers in /tmp/bench-baseline-*/, summary printed
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DB_ARGS=("$@")
export PATH="$ROOT/.venv/bin:$PATH"
export BENCH_DIR=${BENCH_DIR:-/tmp/bench-cluster}
export SLURM_CONF=$BENCH_DIR/slurm.conf
cat > /tmp/bench-restart.sh <<EOS
#!/usr/bin/env bash
"$ROOT/.venv/bin/slurm-local" down --dir "$BENCH_DIR" >/dev/null 2>&1 || true
rm -rf "$BENCH_DIR"
"$ROOT/.venv/bin/slurm-local" up --nodes 2 --cpus 8 --mem 16000 --dir "$BENCH_DIR" ${DB_ARGS[*]:-} >/dev/null
EOS
chmod +x /tmp/bench-restart.sh
SHARED=$(cd "$ROOT/../shared" 2>/dev/null && pwd || echo /work/shared)
RESTART_CMD=/tmp/bench-restart.sh BASELINE_OUT=/tmp/bench-baseline-$(date +%Y%m%dT%H%M%S) \
  bash "$SHARED/real-slurm/baseline.sh"
"$ROOT/.venv/bin/slurm-local" down --dir "$BENCH_DIR" >/dev/null
