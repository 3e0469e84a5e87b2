#!/usr/bin/env bash
# Peer comparison in one run: Arbor's Verkle proofs (verkle_proof_bench, CPU backend unless
# ARBOR_BENCH_BACKEND says otherwise) and rust-verkle compiled to WebAssembly
# (verkle-cryptography-wasm 0.4.8, through tests/oracles/verkle_proof.mjs) on the SAME openings and
# witnesses: the bench writes each workload's openings and witness to a scratch directory, then
# the wasm proves the openings (createProof, label "verkle"), verifies that proof (verifyProof)
# and verifies Arbor's witness (verifyExecutionWitnessPreState, label "vt"). Medians; the wasm
# runs on one thread. Prints one table; the raw JSON stays in $ARBOR_PEER_KEEP when set.
# Usage: bench/verkle_proof_vs_wasm.sh [BENCH_FILTER] (default: every workload; e.g. '100000/200/')
# Needs a build (scripts/build) and the oracles (npm ci in tests/oracles).
set -euo pipefail
cd "$(dirname "$0")/.."
filter=${1:-.}
work=${ARBOR_PEER_KEEP:-$(mktemp -d)}
mkdir -p "$work"
[[ -n "${ARBOR_PEER_KEEP:-}" ]] || trap 'rm -rf "$work"' EXIT

ARBOR_BENCH_BACKEND=${ARBOR_BENCH_BACKEND:-cpu} ARBOR_PEER_DIR="$work" \
  build/bin/verkle_proof_bench --benchmark_filter="$filter" --benchmark_format=json \
  --benchmark_out="$work/arbor.json" >/dev/null

for request in "$work"/*-openings.json; do
  [[ -e "$request" ]] || continue
  name=$(basename "$request" -openings.json)
  (cd tests/oracles && node verkle_proof.mjs bench "$request") >"$work/$name-wasm-proof.json"
  # The same witness four times; the first call after loading the wasm is slower and is dropped.
  witness="$work/$name-witness.json"
  node -e 'const fs=require("fs"); const f=JSON.parse(fs.readFileSync(process.argv[1]));
           f.cases=[f.cases[0],f.cases[0],f.cases[0],f.cases[0]]; fs.writeFileSync(process.argv[1], JSON.stringify(f))' "$witness"
  (cd tests/oracles && node verkle_proof.mjs witness "$witness") >"$work/$name-wasm-witness.json"
done

node - "$work" <<'JS'
const fs = require("fs");
const dir = process.argv[2];
const arbor = JSON.parse(fs.readFileSync(`${dir}/arbor.json`)).benchmarks;
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const ms = (name, workload) => {
  const b = arbor.find((x) => x.name.startsWith(`${name}/${workload}/`));
  return b ? b.real_time : NaN;
};
const rows = [];
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith("-wasm-proof.json")).sort()) {
  const w = f.replace("-wasm-proof.json", "");
  const [keys, target] = w.split("-");
  const workload = `${keys}/${target}`;
  const proof = JSON.parse(fs.readFileSync(`${dir}/${f}`));
  const wit = JSON.parse(fs.readFileSync(`${dir}/${w}-wasm-witness.json`)).results;
  if (!proof.valid || !wit.every((r) => r.valid)) throw new Error(`${w}: the wasm rejected Arbor's data`);
  const b = arbor.find((x) => x.name.startsWith(`BM_VerkleProve/${workload}/`));
  const wasmWitness = median(wit.slice(1).map((r) => r.ms));
  rows.push({
    tree_keys: +keys, openings: b.openings, keys: b.keys, proof_bytes: b.proof_bytes,
    arbor_prove_ms: ms("BM_VerkleProve", workload), arbor_multiproof_ms: ms("BM_VerkleMultiproofProve", workload),
    wasm_createProof_ms: proof.create_median_ms,
    arbor_verify_ms: ms("BM_VerkleVerify", workload), wasm_verifyProof_ms: proof.verify_median_ms,
    wasm_verifyWitness_ms: wasmWitness,
    prove_ratio: proof.create_median_ms / ms("BM_VerkleMultiproofProve", workload),
    verify_ratio: wasmWitness / ms("BM_VerkleVerify", workload),
  });
}
const one = arbor.find((x) => x.name.startsWith("BM_VerkleMultiproofOneOpening"));
console.log(JSON.stringify({ one_opening_prove_ms: one ? one.real_time : null, rows }, null, 1));
JS
