#!/usr/bin/env bash
# Peer comparison in one run: Arbor's single-thread Poseidon and circomlibjs (wasm) on the same
# input sets. Arbor twice: one hash at a time (BM_PoseidonSingleFromFile) and the sets as one bulk
# job on a one-thread CPU backend (BM_PoseidonBatchFromFile, what `arbor hash poseidon --batch`
# runs; eight at once on AVX-512 IFMA). Pin it to one core (taskset -c N).
# Usage: bench/poseidon_vs_circomlibjs.sh [INPUTS_PER_SET=2] [SETS=20000]
# Needs a build (scripts/build) and the oracles (npm ci in tests/oracles).
set -euo pipefail
cd "$(dirname "$0")/.."
arity=${1:-2}
sets=${2:-20000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Deterministic pseudo-random inputs below 2^253 (< p), one JSON line per set.
node -e '
  const [arity, sets] = process.argv.slice(1).map(Number);
  let s = 0x2026112107n;
  const next = () => { s = (s * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n); return s; };
  const out = [];
  for (let i = 0; i < sets; i++) {
    const inputs = [];
    for (let k = 0; k < arity; k++) inputs.push(((next() << 192n | next() << 128n | next() << 64n | next()) >> 3n).toString());
    out.push(JSON.stringify({inputs}));
  }
  process.stdout.write(out.join("\n") + "\n");
' "$arity" "$sets" >"$work/inputs.jsonl"

ARBOR_POSEIDON_INPUTS="$work/inputs.jsonl" build/bin/poseidon_bench \
  --benchmark_filter='BM_Poseidon(Single|Batch)FromFile' --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true --benchmark_format=json >"$work/arbor.json"
node tests/oracles/poseidon.mjs bench "$work/inputs.jsonl" --repeat 5 >"$work/circomlibjs.json"

node -e '
  const fs = require("fs");
  const arbor = JSON.parse(fs.readFileSync(process.argv[1]));
  const peer = JSON.parse(fs.readFileSync(process.argv[2]));
  const median = name => arbor.benchmarks.find(
      b => b.run_name === name && b.aggregate_name === "median");
  const single = median("BM_PoseidonSingleFromFile"), batch = median("BM_PoseidonBatchFromFile");
  console.log(JSON.stringify({
    inputs_per_set: Number(process.argv[3]), sets: Number(process.argv[4]),
    arbor_median_ns_per_hash: Math.round(single.ns_per_hash),
    arbor_batch_median_ns_per_hash: Math.round(batch.ns_per_hash), arbor_batch: batch.label,
    circomlibjs: peer.impl,
    circomlibjs_median_ns_per_hash: Math.round(peer.median_ns_per_hash),
    speedup: +(peer.median_ns_per_hash / single.ns_per_hash).toFixed(2),
    batch_speedup: +(peer.median_ns_per_hash / batch.ns_per_hash).toFixed(2),
    host: arbor.context.host_name, cpus: arbor.context.num_cpus, date: arbor.context.date,
  }, null, 1));
' "$work/arbor.json" "$work/circomlibjs.json" "$arity" "$sets"
