#!/usr/bin/env bash
# The store against raw RocksDB in one run: build/bin/store_bench and RocksDB's db_bench
# (Debian package rocksdb-tools) on the same shapes — commits of 1, 100 and 10 000 records
# (48-byte RocksDB keys, 67-byte values on average) in each sync mode, and point reads of 200 000
# keys with a warm 512 MiB and a 1 MiB block cache. Prints one Markdown table with medians of
# three runs and the ratio store / db_bench. Data goes under $ARBOR_BENCH_DIR (default /tmp).
# Usage: bench/store_vs_db_bench.sh [REPETITIONS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}
command -v db_bench >/dev/null || { echo "needs db_bench: apt-get install rocksdb-tools" >&2; exit 1; }
[[ -x build/bin/store_bench ]] || { echo "needs a build: scripts/build" >&2; exit 1; }
work=$(mktemp -d "${ARBOR_BENCH_DIR:-/tmp}/store-vs-db-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT

ARBOR_BENCH_DIR="$work" build/bin/store_bench --benchmark_repetitions="$reps" \
  --benchmark_report_aggregates_only=true --benchmark_min_time=1 \
  --benchmark_format=json >"$work/store.json"

# db_bench: one record = one key; a commit of N records = one WriteBatch of N keys.
common=(--key_size=48 --value_size=67 --compression_type=lz4 --bloom_bits=10 --seed=20261121
        --histogram=1 --threads=1)
sync_flags() {
  case $1 in
    none) echo "--disable_wal=1 --sync=0" ;;
    async) echo "--disable_wal=0 --sync=0" ;;
    full) echo "--disable_wal=0 --sync=1" ;;
  esac
}
: >"$work/db_bench.txt"
for records in 1 100 10000; do
  for sync in none async full; do
    num=$((records == 1 ? 200000 : 1000000))
    [[ $sync == full && $records == 1 ]] && num=5000
    [[ $sync == full && $records == 100 ]] && num=200000
    for ((r = 0; r < reps; r++)); do
      rm -rf "$work/db"
      echo "# commit records=$records sync=$sync" >>"$work/db_bench.txt"
      # shellcheck disable=SC2046
      db_bench --benchmarks=fillrandom --num="$num" --batch_size="$records" "${common[@]}" \
        $(sync_flags "$sync") --db="$work/db" >>"$work/db_bench.txt" 2>&1
    done
  done
done
rm -rf "$work/db"
db_bench --benchmarks=fillrandom,compact --num=200000 "${common[@]}" --disable_wal=1 \
  --db="$work/db" >/dev/null 2>&1
for cache in hot cold; do
  size=$([[ $cache == hot ]] && echo $((512 << 20)) || echo $((1 << 20)))
  warm=$([[ $cache == hot ]] && echo "readrandom," || echo "")
  for ((r = 0; r < reps; r++)); do
    echo "# read cache=$cache" >>"$work/db_bench.txt"
    db_bench --benchmarks="${warm}readrandom" --use_existing_db=1 --num=200000 --reads=400000 \
      --cache_size="$size" "${common[@]}" --db="$work/db" >>"$work/db_bench.txt" 2>&1
  done
done

node - "$work/store.json" "$work/db_bench.txt" <<'EOF'
const fs = require("fs");
const store = JSON.parse(fs.readFileSync(process.argv[2]));
const text = fs.readFileSync(process.argv[3], "utf8").split("\n");
const median = xs => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

// db_bench: per section, the last benchmark line (the warm-up read comes first) and its percentiles.
const runs = {};
let section = null, last = null;
for (const line of text) {
  if (line.startsWith("# ")) { section = line.slice(2); last = null; continue; }
  const m = line.match(/^(fillrandom|readrandom)\s+:\s+([\d.]+) micros\/op (\d+) ops\/sec/);
  if (m) { last = { us_per_op: +m[2], ops: +m[3] }; (runs[section] ||= []).push(last); continue; }
  const p = line.match(/^Percentiles: P50: ([\d.]+) .* P99: ([\d.]+)/);
  if (p && last) { last.p50 = +p[1]; last.p99 = +p[2]; }
}
const dbb = key => {
  const all = runs[key] || [];
  // A warm-up read leaves two results per run; keep each run's last.
  const per_run = key.startsWith("read") && all.length % 2 === 0 && all.length > 0 &&
    key.includes("hot") ? all.filter((_, i) => i % 2 === 1) : all;
  return { ops: median(per_run.map(r => r.ops)), p50: median(per_run.map(r => r.p50)),
           p99: median(per_run.map(r => r.p99)), us: median(per_run.map(r => r.us_per_op)) };
};
const ours = name => store.benchmarks.find(b => b.run_name === name && b.aggregate_name === "median");
const fmt = (x, d = 1) => x === undefined ? "?" : x.toFixed(d);
const rows = ["| test | store | db_bench | cost ratio store ÷ db_bench |", "|---|---|---|---|"];
const modes = ["none", "async", "full"];
for (const records of [1, 100, 10000]) {
  for (const [i, sync] of modes.entries()) {
    const s = ours(`BM_StoreCommit/records:${records}/sync:${i}/real_time`);
    const d = dbb(`commit records=${records} sync=${sync}`);
    if (!s) continue;
    rows.push(`| commit ${records} rec, sync ${sync}: records/s | ${fmt(s.items_per_second, 0)} | ${fmt(d.ops, 0)} | ${fmt(d.ops / s.items_per_second, 2)} |`);
    rows.push(`| commit ${records} rec, sync ${sync}: p50 / p99 µs per commit | ${fmt(s.p50_us)} / ${fmt(s.p99_us)} | ${fmt(d.p50)} / ${fmt(d.p99)} | ${fmt(s.p50_us / d.p50, 2)} / ${fmt(s.p99_us / d.p99, 2)} |`);
  }
}
for (const [i, cache] of ["hot", "cold"].entries()) {
  const d = dbb(`read cache=${cache}`);
  for (const batch of [1, 32]) {
    const s = ours(`BM_StorePointRead/cold:${i}/keys:200000/batch:${batch}/real_time`);
    if (!s) continue;
    const how = batch === 1 ? "get" : `get_many of ${batch}, per key`;
    rows.push(`| point read (${how}), ${cache} cache: p50 / p99 µs | ${fmt(s.p50_us, 2)} / ${fmt(s.p99_us, 2)} | ${fmt(d.p50, 2)} / ${fmt(d.p99, 2)} | ${fmt(s.p50_us / d.p50, 2)} / ${fmt(s.p99_us / d.p99, 2)} |`);
  }
}
console.log(rows.join("\n"));
EOF
