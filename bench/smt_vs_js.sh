#!/usr/bin/env bash
# Peer comparison in one run: Arbor's SMT batch updates (CPU backend unless ARBOR_BENCH_BACKEND
# says otherwise) and @iden3/js-merkletree / circomlibjs on the same workload: PRELOAD random keys,
# then BATCHES batches of BATCH keys, half updates of preloaded keys and half new keys.
# Usage: bench/smt_vs_js.sh [PRELOAD=10000] [BATCHES=5] [BATCH=1000]
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
  let s = 0x2026112108n;
  const next = () => { s = (s * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n); return s; };
  const fr = () => ((next() << 192n | next() << 128n | next() << 64n | next()) >> 3n).toString();
  const keys = [];
  const pre = [];
  for (let i = 0; i < preload; i++) { const k = fr(); keys.push(k); pre.push([k, fr()]); }
  const out = { preload: pre, batches: [] };
  for (let b = 0; b < batches; b++) {
    const ops = [];
    for (let i = 0; i < batch; i++) {
      // One key once per batch, as in a block; updates draw from the preloaded keys.
      const k = i % 2 ? keys[Number(next() % BigInt(keys.length))] : fr();
      if (!ops.some(([x]) => x === k)) ops.push([k, fr()]);
    }
    out.batches.push(ops);
  }
  process.stdout.write(JSON.stringify(out));
' "$preload" "$batches" "$batch" >"$work/workload.json"

ARBOR_BENCH_BACKEND=${ARBOR_BENCH_BACKEND:-cpu} ARBOR_SMT_WORKLOAD="$work/workload.json" \
  ARBOR_BENCH_DIR=${ARBOR_BENCH_DIR:-/tmp} build/bin/smt_bench \
  --benchmark_filter='BM_SmtWorkloadFromFile' --benchmark_repetitions=3 \
  --benchmark_format=json >"$work/arbor.json" 2>"$work/arbor.log"
node tests/oracles/smt.mjs bench "$work/workload.json" --lib merkletree >"$work/merkletree.json"
node tests/oracles/smt.mjs bench "$work/workload.json" --lib circomlibjs >"$work/circomlibjs.json"

node -e '
  const fs = require("fs");
  const [arborFile, mtFile, cjFile, preload, batches, batch] = process.argv.slice(1);
  const arbor = JSON.parse(fs.readFileSync(arborFile));
  const runs = arbor.benchmarks.filter(b => b.run_type === "iteration");
  const rates = runs.map(b => b.keys_per_s).sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)];
  const roots = new Set(runs.map(b => b.label));
  const mt = JSON.parse(fs.readFileSync(mtFile));
  const cj = JSON.parse(fs.readFileSync(cjFile));
  if (roots.size !== 1 || !roots.has(mt.root) || mt.root !== cj.root) {
    console.error("roots differ:", [...roots], mt.root, cj.root); process.exit(1);
  }
  console.log(JSON.stringify({
    preload: +preload, batches: +batches, batch: +batch, keys_timed: mt.keys,
    arbor_median_keys_per_s: Math.round(median), arbor_all: rates.map(Math.round),
    merkletree_keys_per_s: Math.round(mt.keys_per_s), circomlibjs_keys_per_s: Math.round(cj.keys_per_s),
    speedup_vs_merkletree: +(median / mt.keys_per_s).toFixed(1),
    speedup_vs_circomlibjs: +(median / cj.keys_per_s).toFixed(1),
    same_root: mt.root, host: arbor.context.host_name, cpus: arbor.context.num_cpus, date: arbor.context.date,
  }, null, 1));
' "$work/arbor.json" "$work/merkletree.json" "$work/circomlibjs.json" "$preload" "$batches" "$batch"
