// EIP-6800 Verkle tree / Pedersen-commitment differential-test oracle and benchmark peer.
// Crypto: verkle-cryptography-wasm 0.4.8 (rust-verkle compiled to WebAssembly). Trees:
// @ethereumjs/verkle 10.0.0 ("ethereumjs") and "ref", a ~60-line in-memory tree in this file
// built on the same wasm crypto with the go-verkle / rust-verkle tree shape.
//
// WHY TWO TREES: @ethereumjs/verkle 10.0.0 is wrong from the first "deep split" on: a new stem
// meets a leaf at depth d and shares byte d with it too, so >= 2 internal nodes are needed.
// ethereumjs creates only the deepest one and hangs it straight under the depth-d parent
// (no single-child chain), and later inserts walk that node with the wrong byte; its root then
// also depends on insertion order. It fails the rust-verkle insert_longest_path vectors and the
// insert_100 vector from 2000 keys on. With random keys a deep split has happened by 300 keys in
// ~28% of runs, 1000: ~55%, 5000: ~77%, 10 000: ~98% (simulated). "ref" reproduces every public
// root vector; the two must agree until a deep split, else this oracle fails (exit 1).
//
// Hex: lowercase on output, no 0x; on input 0x is optional, lengths are exact.
// Byte orders (established by `selfcheck`, which checks each against published vectors):
//   scalar (Banderwagon scalar field, order n = 0x1cfb69d4...76e7e1 ~ 2^253): 32 bytes LITTLE-
//     endian; values >= n are rejected (the wasm also rejects them, with an opaque error).
//   compressed point: 32 bytes BIG-endian x*sign(y) (y "positive" = y > p-y): what go-verkle
//     Commit().Bytes() and serializeCommitment give; the identity is 32 zero bytes.
//   uncompressed point (what the wasm passes around): 64 bytes = x LITTLE-endian || y LITTLE-
//     endian, affine twisted-Edwards coordinates over p = BLS12-381 r. Not canonical: (x,y) and
//     (-x,-y) are the same Banderwagon element and the wasm returns either (G0 - G0 comes back
//     as x=0, y=p-1; zeroCommitment is x=0, y=1), so compare the compressed forms.
//   hash = map_to_scalar_field(point) = x/y mod p reduced mod n: 32 bytes LITTLE-endian
//     (hashCommitment; identity -> 0). root_hash_le below is this hash of the root.
//   tree key = getTreeKeyHash(address32, tree_index as 32 bytes LITTLE-endian) with its last
//     byte replaced by sub_index; stem = key[0:31].
// The wasm does not validate points (garbage hashes fine) and truncates update indices to u8
// (256 -> 0), so this script validates them: compressed input must decode (x < p, on curve,
// 1 - a*x^2 a square: Banderwagon subgroup), uncompressed input must be on curve and in the subgroup.
//
// Usage:
//   node verkle.mjs tree REQUEST.json
//     REQUEST: {"batches": [[{"op":"put","key":"<32 B hex>","value":"<32 B hex>"}, ...], ...]}
//     Only "put" exists: ethereumjs' del() writes 32 zero bytes, which is an ordinary value in
//     EIP-6800 (leaf marker set, root differs from absent), not go-verkle deletion.
//     Batches are applied in order to a fresh tree; a batch's puts are grouped per stem (first
//     occurrence order) and one put(stem, suffixes, values) is made per stem; last write wins.
//     stdout: {"roots": [compressed root after each batch, ethereumjs],
//              "root_hashes_le": [hash of that root],
//              "ref_roots": [...], "ref_root_hashes_le": [...],   same from the ref tree
//              "deep_split": [bool: a deep split has happened by the end of this batch],
//              "agree": [bool: roots[i] == ref_roots[i]]}
//     An empty tree's root is 32 zero bytes, its hash 0.
//   node verkle.mjs crypto REQUEST.json
//     REQUEST (every field optional):
//       {"commit":   [[scalar, ...], ...]    at most 256 scalars, missing trailing ones are 0,
//        "update":   [{"commitment": point, "index": 0..255, "old": scalar, "new": scalar}, ...],
//        "hash":     [point, ...],
//        "tree_key": [{"address": "<32 B hex>", "tree_index": "<32 B LE hex>", "sub_index": 0..255}]}
//       point = 32 B compressed or 64 B uncompressed hex (see above).
//       update = C + (new - old) * G_index (updateCommitment), old/new need not match C.
//     stdout: {"commit": [{"compressed","uncompressed","hash_le"}, ...], "update": [same],
//              "hash": [hash_le, ...], "tree_key": [{"key","hash_le"}, ...]}, request order.
//   node verkle.mjs bench WORKLOAD.json [--lib ethereumjs|ref]
//     Peer side of a benchmark. WORKLOAD: {"preload": [["<key hex>","<value hex>"], ...],
//     "batches": [[[k, v], ...], ...]}. Loads the preload (not timed; one big group-per-stem
//     batch), then times applying every batch in order, grouped per stem as in `tree`, root
//     commitment included. stdout: {"lib","keys","seconds","keys_per_s","root","preload_keys",
//     "preload_seconds"}; keys = puts in batches; root is the library's own (ethereumjs' root is
//     wrong once a deep split happened: practically always with >= 10 000 random keys).
//   node verkle.mjs selfcheck
//     Runs the known-answer vectors in ../../../shared/vectors/verkle through the modes above;
//     prints one line per check, exits 1 on any mismatch.
// Errors (bad request, library failure) go to stderr with a non-zero exit status.
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { loadVerkleCrypto } from "verkle-cryptography-wasm";
import { createVerkleTree } from "@ethereumjs/verkle";

const P = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n; // base field (BLS12-381 r)
const N = 0x1cfb69d4ca675f520cce760202687600ff8f87007419047174fd06b52876e7e1n; // scalar field
const A = P - 5n;
const D = 45022363124591815672509500913686876175488063829319466900776701791074614335719n;

const vc = await loadVerkleCrypto();

// ---- bytes, hex, integers
const hex = (b) => Buffer.from(b).toString("hex");
function bytes(s, n, what) {
  const h = typeof s === "string" && s.startsWith("0x") ? s.slice(2) : s;
  if (typeof h !== "string" || h.length !== 2 * n || !/^[0-9a-fA-F]*$/.test(h))
    throw new Error(`${what}: expected ${n} bytes of hex, got ${JSON.stringify(s)}`);
  return new Uint8Array(Buffer.from(h, "hex"));
}
const leInt = (b) => BigInt("0x" + (hex(Uint8Array.from(b).reverse()) || "0"));
const beInt = (b) => BigInt("0x" + (hex(b) || "0"));
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
const eq = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const noExtraKeys = (o, allowed, what) => {
  if (o === null || typeof o !== "object" || Array.isArray(o)) throw new Error(`${what}: expected an object`);
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new Error(`${what}: unknown field ${JSON.stringify(k)}`);
};
const list = (v, what) => { if (!Array.isArray(v)) throw new Error(`${what}: expected an array`); return v; };

// ---- Banderwagon point decoding (the wasm has no decompression and no validation)
const mod = (x) => ((x % P) + P) % P;
const pow = (b, e) => { let r = 1n; for (b = mod(b); e > 0n; e >>= 1n, b = b * b % P) if (e & 1n) r = r * b % P; return r; };
const isSquare = (x) => pow(x, (P - 1n) / 2n) === 1n;
function sqrt(x) { // Tonelli-Shanks (p - 1 = 2^32 * q); null if x is not a square
  if (x === 0n) return 0n;
  if (!isSquare(x)) return null;
  let s = 0n, q = P - 1n;
  for (; !(q & 1n); q >>= 1n) s++;
  let z = 2n;
  while (isSquare(z)) z++;
  let m = s, c = pow(z, q), t = pow(x, q), r = pow(x, (q + 1n) / 2n);
  while (t !== 1n) {
    let i = 0n;
    for (let t2 = t; t2 !== 1n; t2 = t2 * t2 % P) i++;
    const b = pow(c, 1n << (m - i - 1n));
    [m, c, t, r] = [i, b * b % P, t * b % P * b % P, r * b % P];
  }
  return r;
}
const uncompressed = (x, y) => { const b = new Uint8Array(64); b.set(leBytes(x)); b.set(leBytes(y), 32); return b; };
function point(s, what) { // 32 B compressed or 64 B uncompressed hex -> 64 B uncompressed
  const h = typeof s === "string" && s.startsWith("0x") ? s.slice(2) : s;
  if (typeof h === "string" && h.length === 128) {
    const b = bytes(s, 64, what), x = leInt(b.subarray(0, 32)), y = leInt(b.subarray(32));
    const x2 = x * x % P, y2 = y * y % P;
    if (x >= P || y >= P || mod(A * x2 + y2 - 1n - D * x2 % P * y2) !== 0n) throw new Error(`${what}: not on the curve`);
    if (!isSquare(mod(1n - A * x2))) throw new Error(`${what}: not in the Banderwagon subgroup`);
    return b;
  }
  const x = beInt(bytes(s, 32, what)), x2 = x * x % P;
  if (x >= P) throw new Error(`${what}: x >= p`);
  const num = mod(1n - A * x2); // y^2 = (1 - a x^2) / (1 - d x^2)
  const y = sqrt(num * pow(mod(1n - D * x2), P - 2n) % P);
  if (y === null || !isSquare(num)) throw new Error(`${what}: not a Banderwagon point`);
  return uncompressed(x, y > P - y ? y : mod(-y));
}
const rootHash = (root) => vc.hashCommitment(point(hex(root), "root"));

// ---- trees. Both take put(stem31, suffixes, values32) and commit() -> 32 B compressed root.
async function ethereumjsTree() {
  // v10 defaults to micro-eth-signer's pure-JS crypto; verkleCrypto selects the wasm.
  const t = await createVerkleTree({ verkleCrypto: vc });
  return { put: (stem, sfx, vals) => t.put(stem, sfx, vals), commit: () => t.root() };
}

// The go-verkle / rust-verkle shape: a leaf hangs at the shallowest depth where its stem prefix
// is unique, with an internal node for every shorter shared prefix (single-child chains included).
// Commitments are updated lazily: put() marks the path, commit() walks only marked nodes.
function refTree() {
  const ZERO = new Uint8Array(32), ONE = leBytes(1n);
  const internal = () => ({ children: new Array(256).fill(null), hashes: new Array(256).fill(ZERO), dirty: new Set(),
    C: vc.zeroCommitment });
  const newLeaf = (stem) => ({ stem, values: new Array(256).fill(null), c: [vc.zeroCommitment, vc.zeroCommitment], C: null,
    dirty: true });
  // A value's two scalars in C1/C2: LE(v[0:16]) + 2^128 (leaf marker: present, even if zero), LE(v[16:32]).
  const lo = (v) => { const b = new Uint8Array(32); if (v) { b.set(v.subarray(0, 16)); b[16] = 1; } return b; };
  const hi = (v) => { const b = new Uint8Array(32); if (v) b.set(v.subarray(16)); return b; };
  const root = internal();
  const state = { deepSplit: false };
  function put(stem, suffixes, values) {
    let node = root, depth = 0, leaf;
    for (;;) {
      const i = stem[depth], child = node.children[i];
      node.dirty.add(i);
      if (child === null) { leaf = node.children[i] = newLeaf(stem); break; }
      if (!child.stem) { node = child; depth++; continue; }
      if (eq(child.stem, stem)) { leaf = child; break; }
      // Split: move the other leaf one level down and retry there (repeats while they match).
      if (child.stem[depth + 1] === stem[depth + 1]) state.deepSplit = true;
      const mid = internal();
      mid.children[child.stem[depth + 1]] = child;
      mid.dirty.add(child.stem[depth + 1]);
      node = node.children[i] = mid;
      depth++;
    }
    for (let k = 0; k < suffixes.length; k++) { // suffix s lives in C1 (s < 128) or C2, slots 2(s%128), +1
      const s = suffixes[k], half = s >> 7, slot = 2 * (s & 127), old = leaf.values[s], v = values[k];
      if (!eq(lo(old), lo(v))) leaf.c[half] = vc.updateCommitment(leaf.c[half], slot, lo(old), lo(v));
      if (!eq(hi(old), hi(v))) leaf.c[half] = vc.updateCommitment(leaf.c[half], slot + 1, hi(old), hi(v));
      leaf.values[s] = v;
      leaf.dirty = true;
    }
  }
  function commitNode(n) {
    if (n.stem) { // leaf: C = 1*G0 + LE(stem)*G1 + hash(C1)*G2 + hash(C2)*G3
      if (n.dirty) {
        const stem32 = new Uint8Array(32);
        stem32.set(n.stem);
        n.C = vc.commitToScalars([ONE, stem32, vc.hashCommitment(n.c[0]), vc.hashCommitment(n.c[1])]);
        n.dirty = false;
      }
      return n.C;
    }
    for (const i of n.dirty) { // internal: C = sum hash(child_i) * G_i
      const h = vc.hashCommitment(commitNode(n.children[i]));
      if (!eq(h, n.hashes[i])) n.C = vc.updateCommitment(n.C, i, n.hashes[i], h);
      n.hashes[i] = h;
    }
    n.dirty.clear();
    return n.C;
  }
  return { put, commit: () => vc.serializeCommitment(commitNode(root)), state };
}

// Group [key32, value32] pairs per stem (first-occurrence order; last write per key wins).
async function applyBatch(tree, pairs) {
  const groups = new Map();
  for (const [k, v] of pairs) {
    const id = hex(k.subarray(0, 31));
    if (!groups.has(id)) groups.set(id, { stem: k.slice(0, 31), vals: new Map() });
    groups.get(id).vals.set(k[31], v);
  }
  for (const { stem, vals } of groups.values()) await tree.put(stem, [...vals.keys()], [...vals.values()]);
  return tree.commit();
}

// ---- modes
async function runTree(req) {
  noExtraKeys(req, ["batches"], "request");
  const batches = list(req.batches, "batches").map((batch, b) => list(batch, `batches[${b}]`).map((op, i) => {
    const where = `batches[${b}][${i}]`;
    noExtraKeys(op, ["op", "key", "value"], where);
    if (op.op !== "put") throw new Error(`${where}: only "put" is supported, got op ${JSON.stringify(op.op)}`);
    return [bytes(op.key, 32, `${where}.key`), bytes(op.value, 32, `${where}.value`)];
  }));
  const ej = await ethereumjsTree(), ref = refTree();
  const out = { roots: [], root_hashes_le: [], ref_roots: [], ref_root_hashes_le: [], deep_split: [], agree: [] };
  for (const [b, pairs] of batches.entries()) {
    const r1 = await applyBatch(ej, pairs), r2 = await applyBatch(ref, pairs);
    if (!eq(r1, r2) && !ref.state.deepSplit)
      throw new Error(`batch ${b}: ethereumjs and ref disagree without a deep split (${hex(r1)} vs ${hex(r2)})`);
    out.roots.push(hex(r1)); out.root_hashes_le.push(hex(rootHash(r1)));
    out.ref_roots.push(hex(r2)); out.ref_root_hashes_le.push(hex(rootHash(r2)));
    out.deep_split.push(ref.state.deepSplit); out.agree.push(eq(r1, r2));
  }
  return out;
}

function runCrypto(req) {
  noExtraKeys(req, ["commit", "update", "hash", "tree_key"], "request");
  const full = (C) => ({ compressed: hex(vc.serializeCommitment(C)), uncompressed: hex(C), hash_le: hex(vc.hashCommitment(C)) });
  return {
    commit: list(req.commit ?? [], "commit").map((v, i) => {
      if (list(v, `commit[${i}]`).length > 256) throw new Error(`commit[${i}]: more than 256 scalars`);
      return full(vc.commitToScalars(v.map((s, j) => scalar(s, `commit[${i}][${j}]`))));
    }),
    update: list(req.update ?? [], "update").map((u, i) => {
      const w = `update[${i}]`;
      noExtraKeys(u, ["commitment", "index", "old", "new"], w);
      return full(vc.updateCommitment(point(u.commitment, `${w}.commitment`), int(u.index, 0, 255, `${w}.index`),
        scalar(u.old, `${w}.old`), scalar(u.new, `${w}.new`)));
    }),
    hash: list(req.hash ?? [], "hash").map((c, i) => hex(vc.hashCommitment(point(c, `hash[${i}]`)))),
    tree_key: list(req.tree_key ?? [], "tree_key").map((t, i) => {
      const w = `tree_key[${i}]`;
      noExtraKeys(t, ["address", "tree_index", "sub_index"], w);
      const h = vc.getTreeKeyHash(bytes(t.address, 32, `${w}.address`), bytes(t.tree_index, 32, `${w}.tree_index`));
      const key = h.slice();
      key[31] = int(t.sub_index, 0, 255, `${w}.sub_index`);
      return { key: hex(key), hash_le: hex(h) };
    }),
  };
}

async function bench(file, lib) {
  const w = JSON.parse(readFileSync(file, "utf8"));
  noExtraKeys(w, ["preload", "batches"], "workload");
  const pairs = (l, what) => list(l, what).map((kv, i) => {
    if (!Array.isArray(kv) || kv.length !== 2) throw new Error(`${what}[${i}]: expected [key, value]`);
    return [bytes(kv[0], 32, `${what}[${i}][0]`), bytes(kv[1], 32, `${what}[${i}][1]`)];
  });
  const preload = pairs(w.preload ?? [], "preload");
  const batches = list(w.batches, "batches").map((b, i) => pairs(b, `batches[${i}]`)); // parsed before timing
  let tree;
  if (lib === "ethereumjs") tree = await ethereumjsTree();
  else if (lib === "ref") tree = refTree();
  else throw new Error(`unknown --lib ${lib} (ethereumjs or ref)`);
  let t0 = process.hrtime.bigint();
  let root = await applyBatch(tree, preload);
  const preloadSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  t0 = process.hrtime.bigint();
  let keys = 0;
  for (const b of batches) { root = await applyBatch(tree, b); keys += b.length; }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const name = lib === "ref" ? "ref (verkle.mjs tree on verkle-cryptography-wasm)" : "@ethereumjs/verkle";
  process.stdout.write(JSON.stringify({ lib: name, keys, seconds, keys_per_s: keys / seconds, root: hex(root),
    preload_keys: preload.length, preload_seconds: preloadSeconds }) + "\n");
}

async function selfcheck() {
  const dir = new URL("../../../shared/vectors/verkle/", import.meta.url);
  const load = (f) => JSON.parse(readFileSync(new URL(f, dir), "utf8"));
  let failures = 0;
  const check = (name, got, want) => {
    const ok = got === want;
    if (!ok) failures++;
    console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : `: got ${got}, want ${want}`}`);
  };
  const b2 = (i) => i.toString(16).padStart(2, "0");
  const le = (x) => hex(leBytes(x));

  // Trees: ref must match every vector; ethereumjs must match until a deep split (runTree enforces).
  const put = (kvs) => kvs.map(([key, value]) => ({ op: "put", key, value }));
  const tree = async (name, batches, want) => {
    const r = await runTree({ batches });
    want.forEach((w, i) => {
      const n = want.length > 1 ? `${name} [${i}]` : name;
      if (w.root_commitment) check(`tree ref ${n} root`, r.ref_roots[i], w.root_commitment);
      if (w.root_hash_le) check(`tree ref ${n} root_hash_le`, r.ref_root_hashes_le[i], w.root_hash_le);
      console.log(`     ethereumjs ${r.agree[i] ? "agrees" : `DIFFERS (deep split: ${r.deep_split[i]})`}`);
    });
  };
  const pub = load("public_vectors.json"), der = load("derived_vectors.json");
  for (const v of pub.tree_vectors) if (v.insert) await tree(v.src.slice(0, 60), [put(v.insert)], [v]);
  // insert_100: key = value = SHA256(u64_le(i) || 32 zero bytes), roots after 100, 200, ... 5000 keys.
  const prng = pub.tree_vectors.find((v) => v.cumulative_roots_hash_le);
  const counts = Object.keys(prng.cumulative_roots_hash_le).map(Number).sort((a, b) => a - b);
  const rand = (i) => {
    const b = Buffer.alloc(40);
    b.writeBigUInt64LE(BigInt(i));
    return createHash("sha256").update(b).digest("hex");
  };
  const prngBatches = counts.map((n, j) => {
    const from = counts[j - 1] ?? 0;
    return put(Array.from({ length: n - from }, (_, i) => [rand(from + i), rand(from + i)]));
  });
  await tree("insert_100 PRNG", prngBatches, counts.map((n) => ({
    root_hash_le: prng.cumulative_roots_hash_le[n], root_commitment: prng.cumulative_roots_commitment_DERIVED_locally[n] })));
  for (const v of der.tree_roots) {
    let kvs = v.kvs;
    if (v.name.startsWith("256 keys same stem")) kvs = Array.from({ length: 256 }, (_, i) => "00".repeat(31) + b2(i));
    if (v.name.startsWith("256 keys distinct stems")) kvs = Array.from({ length: 256 }, (_, i) => b2(i) + "00".repeat(31));
    await tree(v.name, [put(kvs.map((kv) => (typeof kv === "string" ? [kv, kv] : kv)))], [v]);
  }

  // Crypto, through runCrypto so the request/response code is covered too.
  const crs = load("crs_256_compressed.json").points_compressed;
  const unit = (i) => Array.from({ length: i + 1 }, (_, j) => le(j === i ? 1n : 0n)); // e_i, zeros after i implied
  const r1 = runCrypto({ commit: crs.map((_, i) => unit(i)), hash: crs });
  check("crs: commit(e_i) == G_i for all 256", r1.commit.map((c) => c.compressed).join(), crs.join());
  check("crs: G0 uncompressed x is LE of the compressed x", r1.commit[0].uncompressed.slice(0, 64),
    hex(Buffer.from(crs[0], "hex").reverse()));
  check("crs: hash(decompress(G_i)) == hash(commit(e_i))", r1.hash.join(), r1.commit.map((c) => c.hash_le).join());
  check("zero commitment: compressed 0, hash 0", JSON.stringify(runCrypto({ commit: [[]] }).commit[0]),
    JSON.stringify({ compressed: "00".repeat(32), uncompressed: le(0n) + le(1n), hash_le: "00".repeat(32) }));
  const cr = load("rust-verkle-java-resources/commit_root_test.json")[0]; // its scalars are big-endian
  const crLE = cr.frs.map((s) => hex(Buffer.from(s, "hex").reverse()));
  const r2 = runCrypto({ commit: [crLE] }).commit[0];
  check("commit_root_test", r2.compressed, cr.expected);
  const w = crLE.slice();
  w[7] = le(12345n);
  const r3 = runCrypto({ commit: [w], update: [{ commitment: r2.compressed, index: 7, old: crLE[7], new: w[7] },
    { commitment: r2.uncompressed, index: 7, old: crLE[7], new: w[7] }] });
  check("update(compressed) == commit(updated vector)", r3.update[0].compressed, r3.commit[0].compressed);
  check("update(uncompressed) == commit(updated vector)", r3.update[1].compressed, r3.commit[0].compressed);
  for (const [i, v] of load("rust-verkle-java-resources/pedersen_commitment_test.json").entries())
    check(`pedersen_commitment_test[${i}] hash_le`, runCrypto({ commit: [v.frs] }).commit[0].hash_le, v.commitment.replace(/^0x/, ""));
  const treeKey = (address, tree_index, sub_index) => runCrypto({ tree_key: [{ address, tree_index, sub_index }] }).tree_key[0];
  for (const v of pub.pedersen_hash_and_tree_keys) {
    if (v.input64)
      check(`pedersen_hash ${v.input64.slice(0, 8)}..`, treeKey(v.input64.slice(0, 64), v.input64.slice(64), 0).hash_le, v.hash_le);
    const ti = v["tree_index_bytes_as_passed(LE32)"] ?? (v.tree_index === "2^129 + 3" ? le((1n << 129n) + 3n) : null);
    if (v.address32 && ti) check(`tree_key ${v.src.slice(0, 40)}`, treeKey(v.address32, ti, v.sub_index).key, v.tree_key);
    const k = Object.keys(v).find((x) => x.startsWith("commit([2+256*64])"));
    if (k) check("commit([16386]) (tree-key constant point)", runCrypto({ commit: [[le(16386n)]] }).commit[0].compressed, v[k]);
  }
  for (const t of der.tree_keys) { // storage slot 64: pos = 256^31 + 64 -> tree_index 256^30, sub 64
    const got = [[0n, 0], [0n, 1], [0n, 64], [0n, 128], [1n << 240n, 64]].map(([ti, sub]) => treeKey(t.address32, le(ti), sub).key);
    got.push(treeKey(t.address32, le(0n), 0).hash_le);
    const want = ["basic_data_key(tree_index=0,sub=0)", "code_hash_key(sub=1)", "storage_slot_0_key(pos=64)",
      "code_chunk_0_key(pos=128)", "storage_slot_64_key(pos=256**31+64)", "pedersen_hash(addr32||LE32(0))"].map((f) => t[f]);
    check(`derived tree keys ${t.address20}`, got.join(), want.join());
  }
  // Validation must reject what the wasm would silently accept (or reject opaquely).
  const rejects = (name, req) => { let ok = false; try { runCrypto(req); } catch { ok = true; } check(`rejects ${name}`, ok, true); };
  rejects("scalar n", { commit: [[le(N)]] });
  rejects("index 256", { update: [{ commitment: crs[0], index: 256, old: le(0n), new: le(0n) }] });
  rejects("off-curve uncompressed point", { hash: ["07".repeat(64)] });
  rejects("x >= p compressed point", { hash: ["ff".repeat(32)] });
  rejects("x = 2 (not a Banderwagon point; x = 1 is one)", { hash: ["00".repeat(31) + "02"] });
  console.log(failures ? `${failures} FAILED` : "all ok");
  if (failures) process.exit(1);
}

const [mode, file, ...rest] = process.argv.slice(2);
const readJson = () => {
  if (!file) throw new Error(`usage: node verkle.mjs ${mode} FILE.json`);
  return JSON.parse(readFileSync(file, "utf8"));
};
const modes = {
  tree: async () => process.stdout.write(JSON.stringify(await runTree(readJson())) + "\n"),
  crypto: async () => process.stdout.write(JSON.stringify(runCrypto(readJson())) + "\n"),
  bench: () => bench(file, rest[0] === "--lib" ? rest[1] : "ethereumjs"),
  selfcheck,
};
if (!modes[mode]) { console.error("usage: node verkle.mjs tree|crypto|bench|selfcheck [FILE.json] (see header)"); process.exit(2); }
modes[mode]().catch((e) => {
  console.error(`verkle.mjs: ${e?.stack ?? e}`);
  process.exit(1);
});
