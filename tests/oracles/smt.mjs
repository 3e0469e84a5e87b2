// Sparse Merkle tree (iden3 / circomlib Poseidon SMT) differential-test oracle.
// Runs the same operations through two independent JS implementations,
// circomlibjs' SMT (newMemEmptyTrie) and @iden3/js-merkletree's Merkletree,
// so a C++ result can be compared against both (and they against each other).
//
// Usage:
//   node smt.mjs REQUEST.json
//     REQUEST.json:
//       {"max_levels": 64,                                 js-merkletree maxLevels
//        "batches": [[{"op":"put","key":"<dec>","value":"<dec>"},
//                     {"op":"del","key":"<dec>"}, ...], ...],
//        "prove":   [["<dec key>", ...], ...],             optional, keys to prove after batch i
//        "verify":  [{"root":"<dec>","proof":<arbor proof>}, ...]}   optional
//     "put" inserts or updates, "del" deletes if present (no-op otherwise); ops
//     are applied one at a time, in order.
//     stdout: one JSON object
//       {"circomlibjs_roots": ["<dec>", ...],              root after each batch
//        "merkletree_roots":  ["<dec>", ...],
//        "proofs": [[{"key", "circomlibjs": find() result, "merkletree": <arbor proof>,
//                     "merkletree_verifies": bool}, ...], ...],   one list per batch
//        "verify_results": [{"merkletree": bool, "error": "<msg>"|null}, ...]}
//   node smt.mjs bench WORKLOAD.json [--lib merkletree|circomlibjs]
//     The peer side of bench/smt_vs_js.sh. WORKLOAD.json:
//       {"preload": [["<dec key>","<dec value>"], ...], "batches": [[[k, v], ...], ...]}
//     Loads the preload (not timed), then times putting every batch in order (insert or
//     update: which one is known from a Set, so no lookup is charged to the library).
//     stdout: {"lib","keys","seconds","keys_per_s","root"}.
//     Internal failures (bad request, a library throwing while applying an op,
//     e.g. js-merkletree's "reached maximum level of the merkle tree") go to
//     stderr with a non-zero exit status.
//
// Arbor proof JSON (hex = "0x" + 64 lowercase hex digits, big-endian):
//   {"scheme":"arbor-smt-proof","version":1,"root":hex (optional on input),"key":hex,
//    "existence":bool,"value":hex (existence only),
//    "aux":{"key":hex,"value":hex}|null (non-existence ending at another leaf),
//    "siblings":[hex, ...] (root side first, zeros included)}
import { readFileSync } from "node:fs";
import { newMemEmptyTrie } from "circomlibjs";
import { Merkletree, InMemoryDB, Hash, Proof, verifyProof } from "@iden3/js-merkletree";

const P = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

// Both libraries silently accept (circomlibjs reduces mod p) or choke on odd input,
// so requests are validated strictly up front.
const dec = (s, what) => {
  if (typeof s !== "string" || !/^[0-9]+$/.test(s)) throw new Error(`${what}: not a decimal string: ${JSON.stringify(s)}`);
  const v = BigInt(s);
  if (v >= P) throw new Error(`${what}: not a field element: ${s}`);
  return v;
};
const toHex = (v) => "0x" + v.toString(16).padStart(64, "0");
const fromHex = (s, what) => {
  if (typeof s !== "string" || !/^0x[0-9a-f]{64}$/.test(s)) throw new Error(`${what}: bad hex: ${JSON.stringify(s)}`);
  return BigInt(s);
};

// js-merkletree Proof -> arbor JSON. allSiblings() re-expands the zero siblings
// the Proof object compresses away (up to its depth = last non-zero sibling).
function proofToArbor(proof, key, value, root) {
  const out = { scheme: "arbor-smt-proof", version: 1, root: toHex(root.bigInt()), key: toHex(key),
                existence: proof.existence };
  if (proof.existence) out.value = toHex(value);
  out.aux = !proof.existence && proof.nodeAux
    ? { key: toHex(proof.nodeAux.key.bigInt()), value: toHex(proof.nodeAux.value.bigInt()) }
    : null;
  out.siblings = proof.allSiblings().map((h) => toHex(h.bigInt()));
  return out;
}

// Arbor JSON -> {proof, key, value} ready for verifyProof(root, proof, key, value).
// Note: js-merkletree's Proof drops trailing zero siblings, so it cannot tell a
// proof with extra zero siblings appended from the canonical one.
function arborToProof(a) {
  if (a?.scheme !== "arbor-smt-proof" || a.version !== 1) throw new Error("not an arbor-smt-proof v1 object");
  if (typeof a.existence !== "boolean") throw new Error("existence must be a boolean");
  if (!Array.isArray(a.siblings)) throw new Error("siblings must be an array");
  const hash = (s, what) => Hash.fromBigInt(fromHex(s, what));
  const key = fromHex(a.key, "key");
  const value = a.existence ? fromHex(a.value, "value") : 0n;
  const nodeAux = a.aux == null ? undefined : { key: hash(a.aux.key, "aux.key"), value: hash(a.aux.value, "aux.value") };
  const siblings = a.siblings.map((s, i) => hash(s, `siblings[${i}]`));
  return { proof: new Proof({ siblings, nodeAux, existence: a.existence }), key, value };
}

async function main() {
  const file = process.argv[2];
  if (!file) throw new Error("usage: node smt.mjs REQUEST.json");
  const req = JSON.parse(readFileSync(file, "utf8"));
  const maxLevels = req.max_levels;
  if (!Number.isInteger(maxLevels) || maxLevels < 1) throw new Error("max_levels must be a positive integer");
  const batches = req.batches ?? [];
  const prove = req.prove ?? [];

  const smt = await newMemEmptyTrie();
  const F = smt.F;
  const fstr = (x) => F.toObject(x).toString();
  const mt = new Merkletree(new InMemoryDB(new Uint8Array(0)), true, maxLevels);
  await mt.root(); // loads the root; delete() reads the cached root without loading it

  // Presence is decided by each library on its own, so a divergence between them
  // shows up in the roots instead of being papered over here.
  async function apply(op, where) {
    const k = dec(op.key, `${where}.key`);
    if (op.op === "put") {
      const v = dec(op.value, `${where}.value`);
      if ((await smt.find(k)).found) await smt.update(k, v); else await smt.insert(k, v);
      if ((await mt.generateProof(k)).proof.existence) await mt.update(k, v); else await mt.add(k, v);
    } else if (op.op === "del") {
      if ((await smt.find(k)).found) await smt.delete(k);
      if ((await mt.generateProof(k)).proof.existence) await mt.delete(k);
    } else throw new Error(`${where}: unknown op ${JSON.stringify(op.op)}`);
  }

  async function proveKey(keyStr, where) {
    const k = dec(keyStr, where);
    const f = await smt.find(k);
    const circomlibjs = {
      found: f.found,
      siblings: f.siblings.map(fstr),
      foundValue: f.found ? fstr(f.foundValue) : null,
      isOld0: f.isOld0,
      notFoundKey: f.found ? null : fstr(f.notFoundKey),
      notFoundValue: f.found ? null : fstr(f.notFoundValue),
    };
    const root = await mt.root();
    // For non-existence ending at a leaf, generateProof's value is that leaf's value.
    const { proof, value } = await mt.generateProof(k);
    const v = proof.existence ? value : 0n;
    const ok = await verifyProof(root, proof, k, v);
    // Guard the converter itself: the arbor round trip must verify the same way.
    const arbor = proofToArbor(proof, k, value, root);
    const rt = arborToProof(JSON.parse(JSON.stringify(arbor)));
    if ((await verifyProof(root, rt.proof, rt.key, rt.value)) !== ok)
      throw new Error(`${where}: arbor round trip changed verifyProof result`);
    return { key: k.toString(), circomlibjs, merkletree: arbor, merkletree_verifies: ok };
  }

  const out = { circomlibjs_roots: [], merkletree_roots: [], proofs: [], verify_results: [] };
  for (let b = 0; b < batches.length; b++) {
    for (let i = 0; i < batches[b].length; i++) {
      const where = `batches[${b}][${i}]`;
      try { await apply(batches[b][i], where); }
      catch (e) { throw new Error(`${where} ${JSON.stringify(batches[b][i])}: ${e?.message ?? e}`); }
    }
    out.circomlibjs_roots.push(fstr(smt.root));
    out.merkletree_roots.push((await mt.root()).bigInt().toString());
    const keys = prove[b] ?? [];
    const proofs = [];
    for (let i = 0; i < keys.length; i++) proofs.push(await proveKey(keys[i], `prove[${b}][${i}]`));
    out.proofs.push(proofs);
  }

  for (const [i, entry] of (req.verify ?? []).entries()) {
    try {
      const root = Hash.fromBigInt(dec(entry.root, `verify[${i}].root`));
      const { proof, key, value } = arborToProof(entry.proof);
      out.verify_results.push({ merkletree: await verifyProof(root, proof, key, value), error: null });
    } catch (e) {
      // js-merkletree throws plain strings as well as Errors.
      out.verify_results.push({ merkletree: false, error: String(e?.message ?? e) });
    }
  }

  process.stdout.write(JSON.stringify(out) + "\n");
}

async function bench(file, lib) {
  const workload = JSON.parse(readFileSync(file, "utf8"));
  let put;
  let rootOf;
  if (lib === "circomlibjs") {
    const smt = await newMemEmptyTrie();
    put = (k, v, exists) => (exists ? smt.update(k, v) : smt.insert(k, v));
    rootOf = async () => smt.F.toObject(smt.root).toString();
  } else if (lib === "merkletree") {
    const mt = new Merkletree(new InMemoryDB(new Uint8Array(0)), true, 256);
    put = (k, v, exists) => (exists ? mt.update(k, v) : mt.add(k, v));
    rootOf = async () => (await mt.root()).bigInt().toString();
  } else throw new Error(`unknown --lib ${lib} (merkletree or circomlibjs)`);
  const present = new Set();
  const putAll = async (pairs) => {
    for (const [k, v] of pairs) {
      await put(dec(k, "key"), dec(v, "value"), present.has(k));
      present.add(k);
    }
  };
  await putAll(workload.preload);
  const t0 = process.hrtime.bigint();
  let keys = 0;
  for (const batch of workload.batches) {
    await putAll(batch);
    keys += batch.length;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(JSON.stringify({ lib, keys, seconds, keys_per_s: keys / seconds, root: await rootOf() }) + "\n");
}

const run = process.argv[2] === "bench"
  ? () => bench(process.argv[3], process.argv[4] === "--lib" ? process.argv[5] : "merkletree")
  : main;
run().catch((e) => {
  console.error(`smt.mjs: ${e?.stack ?? e}`);
  process.exit(1);
});
