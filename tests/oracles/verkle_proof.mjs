// EIP-6800 Verkle multiproof differential-test oracle and benchmark peer.
// Crypto: verkle-cryptography-wasm 0.4.8 (rust-verkle compiled to WebAssembly; it imports
// @ethereumjs/util, installed beside it). Signatures, from the package's index.d.ts / verkleFFI.d.ts:
//   createProof(proverInputs: {serializedCommitment: Uint8Array, vector: Uint8Array[], indices: number[]}[])
//     -> Uint8Array (576 B = D || IPA), transcript label "verkle". The JS wrapper flattens every
//     (input, index) into one opening C || vector[0..255] || index (1 byte) || vector[index] and the
//     wasm proves them in that order: no sorting, no dedup (selfcheck checks: reversing the openings
//     changes the proof, a repeated opening is proved twice). So this script passes ONE input per
//     opening with indices: [z], in request order (grouping consecutive indices of one commitment
//     gives the same bytes). The prover never checks C against the vector (a wrong C gives a proof
//     that fails verification).
//   verifyProof(proof: Uint8Array, verifierInputs: {serializedCommitment, indexValuePairs: {index, value}[]}[])
//     -> boolean; in practice true or throws ("proof verification failed: ProofVerificationFailed").
//   verifyExecutionWitnessPreState(prestateRoot: string, executionWitnessJson: string) -> boolean
//     (label "vt"); the root is hex, with or without 0x (both work; this script passes 0x + lowercase).
// A Rust panic inside the wasm surfaces as WebAssembly.RuntimeError "unreachable" (undecodable point,
// truncated proof, empty createProof, malformed witness JSON). A trap skips the wasm's stack-pointer
// restore, so after one this script re-instantiates the wasm (~1.3 s, not timed) before the next call.
//
// Hex: lowercase on output, no 0x; on input 0x is optional, lengths are exact.
// scalar: 32 bytes LITTLE-endian, < n = 0x1cfb69d4...76e7e1 (Bandersnatch order); larger is rejected.
// point: 32 bytes compressed (big-endian x*sign(y), as serializeCommitment gives; identity = 32 zero
// bytes). Only the length is checked here: the wasm decides whether it decodes.
// ms: wall time of that one wasm call (Context.createProof / verifyProof on the serialized input, which
// is built before the clock starts; n x 8 257 bytes for createProof). The first call after
// instantiation is slower (createProof: +15 ms at 1 opening, +0.5 s at 2 000, as wasm memory grows;
// verifyExecutionWitnessPreState: ~240 ms instead of ~60), so use `bench` for timings.
//
// Usage (REQUEST is a JSON file; one JSON object goes to stdout):
//   node verkle_proof.mjs create REQUEST.json
//     REQUEST: {"polys": [{"commitment": point, "entries": [[index 0..255, scalar], ...]}, ...],
//               "openings": [{"poly": <index into polys>, "z": 0..255}, ...]}   (>= 1 opening)
//     A poly's vector is 256 scalars, zero except its entries (an index may appear once).
//     stdout: {"proof": "<576 B hex>", "ms": <createProof time>}
//   node verkle_proof.mjs verify REQUEST.json
//     REQUEST: {"proof": "<576 B hex>", "openings": [{"commitment": point, "z": 0..255, "y": scalar}, ...]}
//     stdout: {"valid": bool, "error": "<message, when the wasm threw>", "ms": ...}; exit 0 either way.
//   node verkle_proof.mjs witness REQUEST.json
//     REQUEST: {"cases": [{"root": "<32 B hex>", "witness": {"stateDiff": ..., "verkleProof": ...}}, ...]}
//     stdout: {"results": [{"valid": bool, "error"?: "...", "ms": ...}, ...]} in case order.
//   node verkle_proof.mjs bench REQUEST.json
//     REQUEST: as for create, plus optional "repeat" (default 5). Times createProof `repeat` times, then
//     verifyProof of that proof (y = vector[z]) `repeat` times. stdout: {"openings", "create_ms": [...],
//     "create_median_ms", "verify_ms": [...], "verify_median_ms", "proof", "valid", "deterministic"}.
//   node verkle_proof.mjs selfcheck
//     Known answers: the execution witnesses of public_vectors.json, create/verify round trips and
//     tamper checks on seeded random requests (ARBOR_SELFCHECK_SEED=hex to replay), request
//     validation. Vectors: $ARBOR_VECTORS_DIR/verkle, else ../../../shared/vectors/verkle from here.
//     stdout: {"checks": N, "ok": true, "seed": ...}; on failure names each failed check and exits 1.
// Bad requests and library failures in create/bench: message on stderr, exit 1.
import { readFileSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import { loadVerkleCrypto } from "verkle-cryptography-wasm";

const N = 0x1cfb69d4ca675f520cce760202687600ff8f87007419047174fd06b52876e7e1n;
const ZERO = new Uint8Array(32);

// ---- bytes, hex, request parsing (same conventions as verkle.mjs)
const hex = (b) => Buffer.from(b).toString("hex");
function bytes(s, n, what) {
  const h = typeof s === "string" && s.startsWith("0x") ? s.slice(2) : s;
  if (typeof h !== "string" || h.length !== 2 * n || !/^[0-9a-fA-F]*$/.test(h))
    throw new Error(`${what}: expected ${n} bytes of hex, got ${typeof s === "string" && s.length > 80
      ? `${s.length} characters: ${JSON.stringify(s.slice(0, 40))}...` : JSON.stringify(s)}`);
  return new Uint8Array(Buffer.from(h, "hex"));
}
const leInt = (b) => BigInt("0x" + (hex(Uint8Array.from(b).reverse()) || "0"));
const leBytes = (x) => { const b = new Uint8Array(32); for (let i = 0; i < 32; i++, x >>= 8n) b[i] = Number(x & 255n); return b; };
const scalar = (s, what) => {
  const b = bytes(s, 32, what);
  if (leInt(b) >= N) throw new Error(`${what}: scalar >= n (little-endian): ${s}`);
  return b;
};
const int = (v, lo, hi, what) => {
  if (!Number.isInteger(v) || v < lo || v > hi)
    throw new Error(`${what}: expected an integer in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
  return v;
};
const noExtraKeys = (o, allowed, what) => {
  if (o === null || typeof o !== "object" || Array.isArray(o)) throw new Error(`${what}: expected an object`);
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new Error(`${what}: unknown field ${JSON.stringify(k)}`);
};
const list = (v, what) => { if (!Array.isArray(v)) throw new Error(`${what}: expected an array`); return v; };
const round = (ms) => Math.round(ms * 1000) / 1000;
const median = (a) => { const s = [...a].sort((x, y) => x - y), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

// ---- the wasm. loadVerkleCrypto() is initVerkleWasm() + new Context() (~1.2 s: it precomputes
// tables) + thin wrappers, whose createProof/verifyProof spread every input piece into one
// concatBytes(...) call: that overflows the JS stack from ~2 000 openings on ("Maximum call stack
// size exceeded"). So this script serializes exactly as those wrappers do and calls the same Context
// methods itself (selfcheck compares bytes and verdicts with the public API on small requests).
// After a trap, or after something else instantiated the module, it instantiates it afresh (untimed).
const wasmModule = await import(new URL("./wasm/rust_verkle_wasm.js", import.meta.resolve("verkle-cryptography-wasm")));
let ctx = null; // Context of the current instance; null = (re-)instantiate before the next call
async function wasmNow() {
  if (!ctx) { await wasmModule.initVerkleWasm(); ctx = new wasmModule.Context(); }
  return ctx;
}
const concat = (parts) => {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  parts.reduce((off, p) => (out.set(p, off), off + p.length), 0);
  return out;
};
const proverBytes = (inputs) => concat(inputs.flatMap(({ serializedCommitment: C, vector, indices }) =>
  indices.flatMap((z) => [C, ...vector, Uint8Array.of(z), vector[z]])));
const verifierBytes = (proof, inputs) => concat([proof, ...inputs.flatMap(({ serializedCommitment: C, indexValuePairs }) =>
  indexValuePairs.flatMap(({ index, value }) => [C, Uint8Array.of(index), value]))]);
const createProof = (inputs) => { const b = proverBytes(inputs); return call(() => ctx.createProof(b)); };
const verifyProof = (proof, inputs) => { const b = verifierBytes(proof, inputs); return call(() => ctx.verifyProof(b)); };
const verifyWitness = (root, json) => call(() => wasmModule.verifyExecutionWitnessPreState(root, json));
async function call(f) { // -> {value, ms} or {error, ms}; only f (the wasm call) is timed
  await wasmNow();
  const t0 = performance.now();
  try {
    const value = f();
    return { value, ms: round(performance.now() - t0) };
  } catch (e) {
    const ms = round(performance.now() - t0), trap = e instanceof WebAssembly.RuntimeError;
    if (trap) ctx = null;
    return { error: `${trap ? "wasm trap (Rust panic): " : ""}${e?.message ?? e}`, ms };
  }
}
const verdict = ({ value, error, ms }) => (error !== undefined ? { valid: false, error, ms } : { valid: value === true, ms });

// ---- modes
function parseProver(req, extra = []) { // -> {polys: [{C, vector}], inputs: ProverInput[] in opening order}
  noExtraKeys(req, ["polys", "openings", ...extra], "request");
  const polys = list(req.polys, "polys").map((p, i) => {
    const w = `polys[${i}]`;
    noExtraKeys(p, ["commitment", "entries"], w);
    const vector = new Array(256).fill(ZERO), seen = new Set();
    list(p.entries, `${w}.entries`).forEach((e, j) => {
      if (!Array.isArray(e) || e.length !== 2) throw new Error(`${w}.entries[${j}]: expected [index, scalar]`);
      const k = int(e[0], 0, 255, `${w}.entries[${j}][0]`);
      if (seen.has(k)) throw new Error(`${w}.entries[${j}]: index ${k} listed twice`);
      seen.add(k);
      vector[k] = scalar(e[1], `${w}.entries[${j}][1]`);
    });
    return { C: bytes(p.commitment, 32, `${w}.commitment`), vector };
  });
  const openings = list(req.openings, "openings");
  if (openings.length === 0) throw new Error("openings: at least one is needed (the wasm panics on none)");
  const inputs = openings.map((o, i) => {
    noExtraKeys(o, ["poly", "z"], `openings[${i}]`);
    const p = polys[int(o.poly, 0, polys.length - 1, `openings[${i}].poly`)];
    return { serializedCommitment: p.C, vector: p.vector, indices: [int(o.z, 0, 255, `openings[${i}].z`)] };
  });
  return { polys, inputs };
}
const verifierInputs = (inputs) => inputs.map(({ serializedCommitment, vector, indices: [z] }) =>
  ({ serializedCommitment, indexValuePairs: [{ index: z, value: vector[z] }] }));

async function runCreate(req) {
  const { inputs } = parseProver(req);
  const r = await createProof(inputs);
  if (r.error !== undefined) throw new Error(`createProof failed: ${r.error}`);
  if (r.value.length !== 576) throw new Error(`createProof returned ${r.value.length} bytes, not 576`);
  return { proof: hex(r.value), ms: r.ms };
}

async function runVerify(req) {
  noExtraKeys(req, ["proof", "openings"], "request");
  const proof = bytes(req.proof, 576, "proof");
  const inputs = list(req.openings, "openings").map((o, i) => {
    const w = `openings[${i}]`;
    noExtraKeys(o, ["commitment", "z", "y"], w);
    return { serializedCommitment: bytes(o.commitment, 32, `${w}.commitment`),
      indexValuePairs: [{ index: int(o.z, 0, 255, `${w}.z`), value: scalar(o.y, `${w}.y`) }] };
  });
  return verdict(await verifyProof(proof, inputs));
}

async function runWitness(req) {
  noExtraKeys(req, ["cases"], "request");
  const cases = list(req.cases, "cases").map((c, i) => {
    noExtraKeys(c, ["root", "witness"], `cases[${i}]`);
    if (c.witness === null || typeof c.witness !== "object" || Array.isArray(c.witness))
      throw new Error(`cases[${i}].witness: expected an execution witness object {stateDiff, verkleProof}`);
    return ["0x" + hex(bytes(c.root, 32, `cases[${i}].root`)), JSON.stringify(c.witness)];
  });
  const results = [];
  for (const [root, json] of cases) results.push(verdict(await verifyWitness(root, json)));
  return { results };
}

async function runBench(req) {
  const repeat = int(req.repeat ?? 5, 1, 1e6, "repeat");
  const { inputs } = parseProver(req, ["repeat"]);
  const vin = verifierInputs(inputs), create_ms = [], verify_ms = [], proofs = new Set();
  let proof, valid = true;
  for (let i = 0; i < repeat; i++) {
    const r = await createProof(inputs);
    if (r.error !== undefined) throw new Error(`createProof failed: ${r.error}`);
    create_ms.push(r.ms); proof = r.value; proofs.add(hex(proof));
  }
  for (let i = 0; i < repeat; i++) {
    const r = verdict(await verifyProof(proof, vin));
    verify_ms.push(r.ms); valid &&= r.valid;
  }
  return { openings: inputs.length, create_ms, create_median_ms: median(create_ms), verify_ms,
    verify_median_ms: median(verify_ms), proof: hex(proof), valid, deterministic: proofs.size === 1 };
}

// ---- selfcheck
async function selfcheck() {
  const base = process.env.ARBOR_VECTORS_DIR
    ? pathToFileURL(process.env.ARBOR_VECTORS_DIR.replace(/\/?$/, "/")) : new URL("../../../shared/vectors/", import.meta.url);
  const dir = new URL("verkle/", base);
  const load = (f) => JSON.parse(readFileSync(new URL(f, dir), "utf8"));
  const failed = [];
  let checks = 0;
  const check = (name, ok) => { checks++; if (!ok) { failed.push(name); console.error(`FAIL ${name}`); } };
  const same = (name, got, want) => check(`${name} (got ${JSON.stringify(got)}, want ${JSON.stringify(want)})`, got === want);

  // (a) execution witnesses. A malformed witness first: it traps, so the vectors also run after a reload.
  const unwrap = (o) => { // find the object holding stateDiff and verkleProof
    if (o && typeof o === "object") {
      if ("stateDiff" in o && "verkleProof" in o) return o;
      for (const v of Object.values(o)) { const u = unwrap(v); if (u) return u; }
    }
    return null;
  };
  const ew = load("public_vectors.json").execution_witnesses;
  const cases = ew.map((e) => ({ root: e.pre_state_root_compressed, witness: unwrap(load(e.file)) }));
  ew.forEach((e, i) => check(`${e.file}: has {stateDiff, verkleProof}`, cases[i].witness !== null));
  const good = cases[ew.findIndex((e) => e.expect === "valid")];
  const wr = (await runWitness({ cases: [{ root: good.root, witness: {} }, ...cases,
    { root: "0x" + good.root.toUpperCase(), witness: good.witness }, { root: "11".repeat(32), witness: good.witness }] })).results;
  same("witness {} is invalid", wr[0].valid, false);
  ew.forEach((e, i) => same(`witness ${e.file} (${wr[i + 1].error ?? "no error"})`, wr[i + 1].valid ? "valid" : "invalid", e.expect));
  same("witness with 0x-uppercase root", wr[ew.length + 1].valid, true);
  same("witness against a wrong root", wr[ew.length + 2].valid, false);

  // Seeded random requests; commitments computed here with commitToScalars.
  const seed = process.env.ARBOR_SELFCHECK_SEED ?? hex(randomBytes(8));
  let ctr = 0;
  const rnd = () => createHash("sha256").update(`${seed}:${ctr++}`).digest();
  const rndInt = (m) => rnd().readUInt32LE(0) % m;
  const rndScalar = () => { const b = rnd(); b[31] &= 0x0f; return hex(b); }; // < 2^252 < n
  const poly = async (entries) => {
    const v = new Array(256).fill(ZERO), w = await wasmNow();  // Context method names match the API's
    for (const [k, s] of entries) v[k] = bytes(s, 32, "s");
    return { commitment: hex(w.serializeCommitment(w.commitToScalars(v))), entries };
  };
  const randomPoly = async (k) => { const m = new Map(); while (m.size < k) m.set(rndInt(256), rndScalar()); return poly([...m]); };
  const roundTrip = async (req) => { // create, then verify with y = vector[z]; returns [proof, verify request]
    const { proof } = await runCreate(req);
    const vector = (p) => { const v = new Array(256).fill("00".repeat(32)); for (const [k, s] of req.polys[p].entries) v[k] = s; return v; };
    const openings = req.openings.map(({ poly: p, z }) => ({ commitment: req.polys[p].commitment, z, y: vector(p)[z] }));
    return [proof, { proof, openings }];
  };
  const valid = async (vreq) => (await runVerify(vreq)).valid;

  // (b) random round trip and tampering
  const polys = [await randomPoly(3), await randomPoly(40), await randomPoly(256), await poly([]), await poly([[7, hex(leBytes(N - 1n))]])];
  const req = { polys, openings: Array.from({ length: 16 }, () => ({ poly: rndInt(polys.length), z: rndInt(256) })) };
  req.openings.push({ poly: 4, z: 7 }, { poly: 3, z: 9 });
  const [proof, vreq] = await roundTrip(req);
  same("random round trip verifies", await valid(vreq), true);
  same("createProof is deterministic", (await runCreate(req)).proof, proof);
  { // the public API on the same request: same bytes and verdicts (it re-instantiates the module: ours goes stale)
    const api = await loadVerkleCrypto(), { inputs } = parseProver(req), vin = verifierInputs(inputs), pb = bytes(proof, 576, "proof");
    ctx = null;
    same("public createProof gives the same bytes", hex(api.createProof(inputs)), proof);
    same("public verifyProof accepts it", api.verifyProof(pb, vin), true);
    let threw = false;
    try { api.verifyProof(pb, vin.slice(1)); } catch { threw = true; }
    same("public verifyProof throws on a dropped opening", threw, true);
  }
  const k = rndInt(vreq.openings.length), y = leInt(bytes(vreq.openings[k].y, 32, "y"));
  const badY = structuredClone(vreq);
  badY.openings[k].y = hex(leBytes((y + 1n) % N));
  same(`flipped y of opening ${k} is invalid`, await valid(badY), false);
  for (const pos of [rndInt(576), 0, 575]) {
    const b = Buffer.from(proof, "hex");
    b[pos] ^= 1 << rndInt(8);
    same(`flipped bit in proof byte ${pos} is invalid`, await valid({ ...vreq, proof: hex(b) }), false);
  }
  const badC = structuredClone(vreq);
  badC.openings[0].commitment = polys.find((p) => p.commitment !== badC.openings[0].commitment).commitment;
  same("wrong commitment is invalid", await valid(badC), false);
  same("opening order is bound: reversed verifier list is invalid", await valid({ proof, openings: [...vreq.openings].reverse() }), false);
  const rev = await runCreate({ polys, openings: [...req.openings].reverse() });
  check("opening order is kept: the reversed request gives another proof", rev.proof !== proof);
  same("one opening dropped is invalid", await valid({ proof, openings: vreq.openings.slice(1) }), false);

  // (c) z = 0, z = 255, repeated (poly, z)
  const edge = { polys: [await poly([[0, rndScalar()], [255, rndScalar()]]), await randomPoly(5)],
    openings: [[0, 0], [0, 255], [0, 0], [1, 255], [0, 255], [1, 0], [1, 255], [0, 0]].map(([p, z]) => ({ poly: p, z })) };
  const [eproof, ereq] = await roundTrip(edge);
  same("z = 0 / 255 with repeats round-trips", await valid(ereq), true);
  const dedup = { polys: edge.polys, openings: edge.openings.filter((o, i) => edge.openings.findIndex((q) => q.poly === o.poly && q.z === o.z) === i) };
  const [dproof, dreq] = await roundTrip(dedup);
  same("deduplicated request round-trips", await valid(dreq), true);
  check("repeats are not deduplicated: proof differs from the deduplicated one", dproof !== eproof);
  same("repeated-opening proof against the deduplicated list is invalid", await valid({ ...dreq, proof: eproof }), false);
  same("single opening z = 255 round-trips", await valid((await roundTrip({ polys: edge.polys, openings: [{ poly: 0, z: 255 }] }))[1]), true);
  const bench = await runBench({ ...edge, repeat: 2 });
  check("bench: valid, deterministic, same proof as create", bench.valid && bench.deterministic && bench.proof === eproof);

  // request validation
  const rejects = async (name, f) => { let ok = false; try { await f(); } catch { ok = true; } check(`rejects ${name}`, ok); };
  const p0 = polys[0];
  await rejects("scalar n", () => runCreate({ polys: [{ ...p0, entries: [[1, hex(leBytes(N))]] }], openings: [{ poly: 0, z: 1 }] }));
  await rejects("y = n", () => runVerify({ proof, openings: [{ commitment: p0.commitment, z: 1, y: hex(leBytes(N)) }] }));
  await rejects("z = 256", () => runCreate({ polys, openings: [{ poly: 0, z: 256 }] }));
  await rejects("z = 1.5", () => runVerify({ proof, openings: [{ commitment: p0.commitment, z: 1.5, y: "00".repeat(32) }] }));
  await rejects("poly index out of range", () => runCreate({ polys, openings: [{ poly: polys.length, z: 0 }] }));
  await rejects("entry index listed twice", () => runCreate({ polys: [{ ...p0, entries: [[1, rndScalar()], [1, rndScalar()]] }], openings: [{ poly: 0, z: 1 }] }));
  await rejects("no openings", () => runCreate({ polys, openings: [] }));
  await rejects("31-byte commitment", () => runCreate({ polys: [{ ...p0, commitment: p0.commitment.slice(2) }], openings: [{ poly: 0, z: 0 }] }));
  await rejects("575-byte proof", () => runVerify({ ...vreq, proof: proof.slice(2) }));
  await rejects("root of 31 bytes", () => runWitness({ cases: [{ root: good.root.slice(2), witness: good.witness }] }));
  await rejects("witness given as a string", () => runWitness({ cases: [{ root: good.root, witness: JSON.stringify(good.witness) }] }));
  await rejects("unknown field", () => runCreate({ ...req, extra: 1 }));

  process.stdout.write(JSON.stringify(failed.length ? { checks, ok: false, seed, failed } : { checks, ok: true, seed }) + "\n");
  if (failed.length) process.exit(1);
}

const [mode, file] = process.argv.slice(2);
const readJson = () => {
  if (!file) throw new Error(`usage: node verkle_proof.mjs ${mode} REQUEST.json`);
  return JSON.parse(readFileSync(file, "utf8"));
};
const emit = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const modes = {
  create: async () => emit(await runCreate(readJson())),
  verify: async () => emit(await runVerify(readJson())),
  witness: async () => emit(await runWitness(readJson())),
  bench: async () => emit(await runBench(readJson())),
  selfcheck,
};
if (!modes[mode]) {
  console.error("usage: node verkle_proof.mjs create|verify|witness|bench REQUEST.json | selfcheck (see header)");
  process.exit(2);
}
modes[mode]().catch((e) => {
  console.error(`verkle_proof.mjs: ${e?.message ?? e}`);
  process.exit(1);
});
