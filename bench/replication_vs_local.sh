#!/usr/bin/env bash
# Replicated against unreplicated writes in one run (issue 18): a 3-node NATS JetStream cluster on
# loopback, then arbor_loadgen spawning arbord twice per scenario — alone, and as a replicating
# leader (--nats, replication.ack quorum, stream R3) — at the same worker counts. Prints each
# run's medians and the ratio replicated / unreplicated. Data goes under $ARBOR_BENCH_DIR
# (default /tmp).
# Usage: bench/replication_vs_local.sh [DURATION_S=10] [REPETITIONS=3] [SCENARIOS="write1 write1000"]
#        [CONCURRENCY=16]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
reps=${2:-3}
scenarios=${3:-write1 write1000}
concurrency=${4:-16}
[[ -x build/bin/arbor_loadgen && -x build/bin/arbord ]] || {
  echo "needs a build: cmake --build build --target arbor_loadgen arbord" >&2; exit 1; }
nats_server=$(command -v nats-server || echo /usr/sbin/nats-server)
[[ -x $nats_server ]] || { echo "needs nats-server (scripts/install-deps)" >&2; exit 1; }
work=$(mktemp -d "${ARBOR_BENCH_DIR:-/tmp}/replication-bench-XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

routes="nats-route://127.0.0.1:26242, nats-route://127.0.0.1:26243, nats-route://127.0.0.1:26244"
urls=nats://127.0.0.1:24222,nats://127.0.0.1:24223,nats://127.0.0.1:24224
for n in 1 2 3; do
  cat >"$work/n$n.conf" <<EOF
server_name: n$n
listen: 127.0.0.1:$((24221 + n))
http: 127.0.0.1:$((28221 + n))
jetstream { store_dir: "$work/n$n" }
cluster { name: bench, listen: 127.0.0.1:$((26241 + n)), routes: [ $routes ] }
EOF
  "$nats_server" -c "$work/n$n.conf" >"$work/n$n.log" 2>&1 &
  pids+=($!)
done
for n in 1 2 3; do
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$((28221 + n))/healthz?js-enabled-only=true" >/dev/null && break
    sleep 0.1
  done
done

run() {  # NAME SCENARIO [ARBORD ARGS...]
  local name=$1 scenario=$2
  shift 2
  local spawn_args=()
  for arg in "$@"; do spawn_args+=(--spawn-arg "$arg"); done
  build/bin/arbor_loadgen --spawn build/bin/arbord --sync full --scenario "$scenario" \
    --concurrency "$concurrency" --duration-s "$duration" --warmup-s 2 --repetitions "$reps" \
    "${spawn_args[@]+"${spawn_args[@]}"}" --json-out "$work/$name-$scenario.json" >&2
}
echo "| scenario | workers | unreplicated ops/s | replicated ops/s | ratio | p50 ms (u / r) | p99 ms (u / r) |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for scenario in $scenarios; do
  run local "$scenario"
  # A fresh stream per scenario, so that no run reads another's log.
  printf '[replication]\nstream = "BENCH_%s"\n' "${scenario^^}" >"$work/$scenario.toml"
  run replicated "$scenario" --config "$work/$scenario.toml" --nats "$urls"
  python3 - "$work/local-$scenario.json" "$work/replicated-$scenario.json" "$scenario" \
    "$concurrency" <<'EOF'
import json, statistics, sys
def summary(path):
    medians = [r for r in json.load(open(path))["results"] if r["run_type"] == "aggregate"]
    assert len(medians) == 1, path
    m = medians[0]
    if m["errors"]:
        print(f"{path}: {m['errors']} errors: {m.get('first_error', '')}", file=sys.stderr)
    return m["ops_per_s"], m["p50_ms"], m["p99_ms"]
local, replicated = summary(sys.argv[1]), summary(sys.argv[2])
print(f"| {sys.argv[3]} | {sys.argv[4]} | {local[0]:.0f} | {replicated[0]:.0f} | "
      f"{replicated[0] / local[0]:.2f} | {local[1]:.2f} / {replicated[1]:.2f} | "
      f"{local[2]:.2f} / {replicated[2]:.2f} |")
EOF
done
