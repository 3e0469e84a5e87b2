#!/usr/bin/env bash
# Peer comparison in one run: Arbor's Verkle batch updates (CPU backend unless ARBOR_BENCH_BACKEND
# says otherwise) and @ethereumjs/verkle 10.0.0 (on verkle-cryptography-wasm) on the same
# workload: PRELOAD random keys, then BATCHES batches of BATCH keys, half updates of preloaded keys
# and half new keys, each batch one version. verkle.mjs's own "ref" tree (same wasm crypto,
# go-verkle's shape) runs it too: Arbor's root must equal ref's. ethereumjs' root is not compared:
# it goes wrong at the first split of two stems sharing two or more bytes, which random workloads
# of this size always contain (tests/oracles/verkle.mjs explains); its work per put is the same.
# Usage: bench/verkle_vs_js.sh [PRELOAD=10000] [BATCHES=5] [BATCH=1000]
# Needs a build (scripts/build) and the oracles (npm ci in tests/oracles).
set -euo pipefail
cd "$(dirname "$0")/.."
preload=${1:-10000}
batches=${2:-5}
batch=${3:-1000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

node -e '
  const [preload, batches, batch] = process.argv.slice(1).map(Number);
  let s = 0x2026112106n;
  const next = () => { s = (s * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n); return s; };
  const b32 = () => [next(), next(), next(), next()].map(x => x.toString(16).padStart(16, "0")).join("");
  const keys = [];
  const pre = [];
  for (let i = 0; i < preload; i++) { const k = b32(); keys.push(k); pre.push([k, b32()]); }
  const out = { preload: pre, batches: [] };
  for (let b = 0; b < batches; b++) {
    const seen = new Set();
    const ops = [];
    for (let i = 0; i < batch; i++) {
      const k = i % 2 ? keys[Number(next() % BigInt(keys.length))] : b32();
      if (!seen.has(k)) { seen.add(k); ops.push([k, b32()]); }
    }
    out.batches.push(ops);
  }
  process.stdout.write(JSON.stringify(out));
' "$preload" "$batches" "$batch" >"$work/workload.json"

ARBOR_BENCH_BACKEND=${ARBOR_BENCH_BACKEND:-cpu} ARBOR_VERKLE_WORKLOAD="$work/workload.json" \
  ARBOR_BENCH_DIR=${ARBOR_BENCH_DIR:-/tmp} build/bin/verkle_tree_bench \
  --benchmark_filter='BM_VerkleWorkloadFromFile' --benchmark_repetitions=3 \
  --benchmark_format=json >"$work/arbor.json" 2>"$work/arbor.log"
node tests/oracles/verkle.mjs bench "$work/workload.json" --lib ethereumjs >"$work/ethereumjs.json"
node tests/oracles/verkle.mjs bench "$work/workload.json" --lib ref >"$work/ref.json"

node -e '
  const fs = require("fs");
  const [arborFile, ejsFile, refFile, preload, batches, batch] = process.argv.slice(1);
  const arbor = JSON.parse(fs.readFileSync(arborFile));
  const runs = arbor.benchmarks.filter(b => b.run_type === "iteration");
  const rates = runs.map(b => b.keys_per_s).sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)];
  const roots = new Set(runs.map(b => b.label));
  const ejs = JSON.parse(fs.readFileSync(ejsFile));
  const ref = JSON.parse(fs.readFileSync(refFile));
  if (roots.size !== 1 || !roots.has(ref.root)) {
    console.error("roots differ:", [...roots], "ref", ref.root); process.exit(1);
  }
  console.log(JSON.stringify({
    preload: +preload, batches: +batches, batch: +batch, keys_timed: ejs.keys,
    arbor_median_keys_per_s: Math.round(median), arbor_all: rates.map(Math.round),
    ethereumjs_keys_per_s: Math.round(ejs.keys_per_s), ref_keys_per_s: Math.round(ref.keys_per_s),
    speedup_vs_ethereumjs: +(median / ejs.keys_per_s).toFixed(1),
    speedup_vs_ref: +(median / ref.keys_per_s).toFixed(1),
    root: ref.root, ethereumjs_root_equal: ejs.root === ref.root,
    host: arbor.context.host_name, cpus: arbor.context.num_cpus, date: arbor.context.date,
  }, null, 1));
' "$work/arbor.json" "$work/ethereumjs.json" "$work/ref.json" "$preload" "$batches" "$batch"
