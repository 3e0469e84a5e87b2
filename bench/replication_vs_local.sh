#!/usr/bin/env bash
# Replicated against unreplicated writes in one run (issue 18): per scenario, arbor_loadgen spawns
# arbord at the same worker count — alone, then as a replicating leader (--nats,
# replication.ack per ACKS, stream R3) on a fresh 3-node NATS JetStream cluster on loopback. Prints
# each pair's medians and the ratio replicated / unreplicated, and the lag of a follower that runs
# beside the replicated run. Data goes under $ARBOR_BENCH_DIR
# (default /tmp).
# Usage: bench/replication_vs_local.sh [DURATION_S=10] [REPETITIONS=3] [SCENARIOS="write1 write1000"]
#        [CONCURRENCY=16]; FOLLOWER=0 leaves the follower out; ACKS="quorum leader" runs a
#        replicated run per replication.ack after the same unreplicated one (default: quorum).
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
start_nats() {  # a fresh 3-node cluster (each replicated run starts from an empty log)
  local dir=$1
  mkdir -p "$dir"
  nats_pids=()
  for n in 1 2 3; do
    cat >"$dir/n$n.conf" <<EOF
server_name: n$n
listen: 127.0.0.1:$((24221 + n))
http: 127.0.0.1:$((28221 + n))
jetstream { store_dir: "$dir/n$n" }
cluster { name: bench, listen: 127.0.0.1:$((26241 + n)), routes: [ $routes ] }
EOF
    "$nats_server" -c "$dir/n$n.conf" >"$dir/n$n.log" 2>&1 &
    nats_pids+=($!)
    pids+=($!)
  done
  for n in 1 2 3; do
    for _ in $(seq 100); do
      curl -sf "http://127.0.0.1:$((28221 + n))/healthz?js-enabled-only=true" >/dev/null && break
      sleep 0.1
    done
  done
}
stop_nats() {
  kill "${nats_pids[@]}" 2>/dev/null || true
  wait "${nats_pids[@]}" 2>/dev/null || true
}

stream_last() {  # the log stream's last sequence, from NATS monitoring (any node)
  curl -sf "http://127.0.0.1:28222/jsz?streams=true" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(max([s["state"]["last_seq"] for a in d.get("account_details", [])
           for s in a.get("stream_detail", []) if s["name"] == "ARBOR_LOG"] or [0]))'
}
follower_position() {
  curl -sf http://127.0.0.1:29464/metrics | awk '/^arbor_replication_log_position /{print $2}'
}
sample_lag() {  # FILE: "tail position" lines while the load runs
  while true; do
    local tail position
    tail=$(stream_last 2>/dev/null || echo "")
    position=$(follower_position 2>/dev/null || echo "")
    [[ -n $tail && -n $position ]] && echo "$tail $position" >>"$1"
    sleep 0.2
  done
}
catch_up_ms() {  # after the load: how long until the follower holds the whole log
  local tail start
  tail=$(stream_last)
  start=$(date +%s%N)
  for _ in $(seq 600); do
    (( $(follower_position) >= tail )) && break
    sleep 0.05
  done
  echo $(( ($(date +%s%N) - start) / 1000000 ))
}

run() {  # NAME SCENARIO [ARBORD ARGS...]
  local name=$1 scenario=$2
  shift 2
  local spawn_args=()
  for arg in "$@"; do spawn_args+=(--spawn-arg "$arg"); done
  build/bin/arbor_loadgen --spawn build/bin/arbord --sync full --scenario "$scenario" \
    --concurrency "$concurrency" --duration-s "$duration" --warmup-s 2 --repetitions "$reps" \
    "${spawn_args[@]+"${spawn_args[@]}"}" --json-out "$work/$name-$scenario.json" >&2
}
echo "| scenario | ack | workers | unreplicated ops/s | replicated ops/s | ratio | p50 ms (u / r) | p99 ms (u / r) | follower lag, entries (median / p99 / max) | caught up after the load, ms |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for scenario in $scenarios; do
  run local "$scenario"
  for ack in ${ACKS:-quorum}; do
    printf '[replication]\nack = "%s"\n' "$ack" >"$work/ack-$ack.toml"
    start_nats "$work/nats-$scenario-$ack"
    # With FOLLOWER=1 (default), a follower runs beside the replicated run: its lag behind the
    # stream's tail is sampled every 0.2 s (entries appended, not yet applied there), and after the
    # load, how long it takes to hold the whole log. It shares the CPU with the leader.
    caught_up_ms=-
    : >"$work/lag-$scenario.txt"
    if [[ ${FOLLOWER:-1} == 1 ]]; then
      build/bin/arbord --data "$work/follower-$scenario-$ack" --listen 127.0.0.1:0 \
        --metrics-listen 127.0.0.1:29464 --nats "$urls" --follow >/dev/null 2>"$work/follower.log" &
      follower=$!
      pids+=($follower)
      sample_lag "$work/lag-$scenario.txt" &
      sampler=$!
      run replicated "$scenario" --nats "$urls" --config "$work/ack-$ack.toml"
      kill "$sampler"; wait "$sampler" 2>/dev/null || true
      caught_up_ms=$(catch_up_ms)
      kill -TERM "$follower"; wait "$follower" 2>/dev/null || true
    else
      run replicated "$scenario" --nats "$urls" --config "$work/ack-$ack.toml"
    fi
    stop_nats
    mv "$work/replicated-$scenario.json" "$work/replicated-$scenario-$ack.json"
    python3 - "$work/local-$scenario.json" "$work/replicated-$scenario-$ack.json" "$scenario" \
      "$concurrency" "$work/lag-$scenario.txt" "$caught_up_ms" "$ack" <<'EOF'
import json, statistics, sys
def summary(path):
    medians = [r for r in json.load(open(path))["results"] if r["run_type"] == "aggregate"]
    assert len(medians) == 1, path
    m = medians[0]
    if m["errors"]:
        print(f"{path}: {m['errors']} errors: {m.get('first_error', '')}", file=sys.stderr)
    return m["ops_per_s"], m["p50_ms"], m["p99_ms"]
local, replicated = summary(sys.argv[1]), summary(sys.argv[2])
lags = sorted(max(0, int(t) - int(p)) for t, p in
              (line.split() for line in open(sys.argv[5]) if len(line.split()) == 2))
lag = (f"{lags[len(lags) // 2]} / {lags[min(len(lags) - 1, len(lags) * 99 // 100)]} / {lags[-1]}"
       if lags else "-")
print(f"| {sys.argv[3]} | {sys.argv[7]} | {sys.argv[4]} | {local[0]:.0f} | {replicated[0]:.0f} | "
      f"{replicated[0] / local[0]:.2f} | {local[1]:.2f} / {replicated[1]:.2f} | "
      f"{local[2]:.2f} / {replicated[2]:.2f} | {lag} | {sys.argv[6]} |")
EOF
  done
done
