// End-to-end client of a running arbord, written the way a third-party Node client would be: only
// the .proto file (@grpc/proto-loader at run time, no generated code), the standard health service
// and server reflection. It checks the arbor.v1 contract (rpc/arbor/v1/arbor.proto) on one SMT and
// one Verkle tree, and checks the Verkle witnesses with rust-verkle (verkle-cryptography-wasm) too.
//
// Usage:
//   node grpc_client.mjs --address HOST:PORT --proto .../rpc/arbor/v1/arbor.proto --seed N
//        [--only smt|verkle] [--keep-going]
// Prints the seed, one `pass NAME` line per check and `ok N checks` at the end (exit 0). The first
// failure prints `FAIL NAME: why` on stderr and exits 1; with --keep-going a failure ends only
// its section (a debugging aid: the exit status is still 1). Usage errors exit 2.
// Trees are named node_smt_<seed> and node_verkle_<seed>, so a seed runs once per data directory.
// The randomness is sha256(seed:counter): one seed replays the same keys, values and tamperings.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

// ---- arguments
function parseArgs(argv) {
  const out = { only: null, keepGoing: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--address") out.address = value();
    else if (a === "--proto") out.proto = value();
    else if (a === "--seed") out.seed = value();
    else if (a === "--only") out.only = value();
    else if (a === "--keep-going") out.keepGoing = true;
    else usage(`unknown argument ${JSON.stringify(a)}`);
  }
  if (!out.address || !out.proto || out.seed === undefined) usage("--address, --proto and --seed are required");
  if (!/^[0-9]{1,20}$/.test(out.seed)) usage(`--seed: expected a decimal number, got ${JSON.stringify(out.seed)}`);
  if (out.only !== null && !["smt", "verkle"].includes(out.only)) usage("--only: smt or verkle");
  return out;
}
function usage(why) {
  console.error(`grpc_client.mjs: ${why}\nusage: node grpc_client.mjs --address HOST:PORT --proto arbor.proto --seed N [--only smt|verkle] [--keep-going]`);
  process.exit(2);
}
const args = parseArgs(process.argv.slice(2));
const seed = args.seed;

// ---- checks
class CheckFailure extends Error {}
let checks = 0;
const pass = (name) => { checks++; console.log(`pass ${name}`); };
const fail = (name, why) => { throw new CheckFailure(`${name}: ${why}`); };
const check = (name, cond, why = "check failed") => (cond ? pass(name) : fail(name, typeof why === "function" ? why() : why));
const show = (v) => (Buffer.isBuffer(v) ? `0x${v.toString("hex")}` : JSON.stringify(v));
const same = (name, got, want) => check(name, show(got) === show(want), () => `got ${show(got)}, want ${show(want)}`);
// Several equalities that make one check (e.g. every value of a page): the first mismatch names it.
function allSame(name, pairs) {
  for (const [what, got, want] of pairs) if (show(got) !== show(want)) fail(name, `${what}: got ${show(got)}, want ${show(want)}`);
  pass(name);
}

// ---- bytes and randomness
const P = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001n; // BN254 scalar field
const hex = (b) => Buffer.from(b).toString("hex");
const be32 = (x) => Buffer.from(x.toString(16).padStart(64, "0"), "hex");
const bigOf = (b) => BigInt(`0x${hex(b) || "0"}`);
let counter = 0;
const randomBytes = (n) => {
  const out = [];
  for (let got = 0; got < n; got += 32) out.push(createHash("sha256").update(`${seed}:${counter++}`).digest());
  return Buffer.concat(out).subarray(0, n);
};
const randomInt = (m) => randomBytes(4).readUInt32BE(0) % m;
function randomFr() { // uniform below p: 254 random bits, rejected when >= p
  for (;;) {
    const b = randomBytes(32);
    b[0] &= 0x3f;
    if (bigOf(b) < P) return b;
  }
}
const smallFr = () => be32(BigInt(randomBytes(4).readUInt32BE(0)));
const byKey = (a, b) => Buffer.compare(a.key, b.key);
function parseJson(name, bytes) {
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch (e) {
    fail(name, `not JSON (${e.message}): ${JSON.stringify(bytes.toString("latin1").slice(0, 80))}`);
    return {};
  }
}

// ---- gRPC plumbing
const LOAD_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };
const DEADLINE_MS = 60_000;
const codeName = (code) => Object.keys(grpc.status).find((k) => grpc.status[k] === code) ?? String(code);

// Minimal hand-written definitions of the two standard services (only the fields used here; the
// rest of each message is skipped as unknown fields). The field numbers are those of
// grpc/health/v1/health.proto and grpc/reflection/v1{,alpha}/reflection.proto.
const HEALTH_PROTO = `syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
  ServingStatus status = 1;
}
service Health { rpc Check(HealthCheckRequest) returns (HealthCheckResponse); }
`;
const reflectionProto = (version) => `syntax = "proto3";
package grpc.reflection.${version};
message ServerReflectionRequest {
  string host = 1;
  oneof message_request { string list_services = 7; }
}
message ServiceResponse { string name = 1; }
message ListServiceResponse { repeated ServiceResponse service = 1; }
message ErrorResponse { int32 error_code = 1; string error_message = 2; }
message ServerReflectionResponse {
  string valid_host = 1;
  oneof message_response {
    ListServiceResponse list_services_response = 6;
    ErrorResponse error_response = 7;
  }
}
service ServerReflection {
  rpc ServerReflectionInfo(stream ServerReflectionRequest) returns (stream ServerReflectionResponse);
}
`;

function loadPackages() {
  const dir = mkdtempSync(join(tmpdir(), "arbor-grpc-client-"));
  try {
    const write = (name, text) => { const f = join(dir, name); writeFileSync(f, text); return f; };
    const files = [args.proto, write("health.proto", HEALTH_PROTO),
      write("reflection_v1alpha.proto", reflectionProto("v1alpha")), write("reflection_v1.proto", reflectionProto("v1"))];
    return grpc.loadPackageDefinition(protoLoader.loadSync(files, LOAD_OPTIONS));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

class RpcError extends Error {
  constructor(method, e) {
    super(`${method}: ${codeName(e.code)}: ${e.details ?? e.message}`);
    this.code = e.code;
    this.details = e.details ?? e.message;
  }
}
const unary = (client, method, request) => new Promise((resolve, reject) =>
  client[method](request, { deadline: Date.now() + DEADLINE_MS },
    (e, response) => (e ? reject(new RpcError(method, e)) : resolve(response))));
// An RPC that must fail with `code`, its message containing `mentions` (when given).
async function expectRpcError(name, promise, code, mentions) {
  let response;
  try {
    response = await promise;
  } catch (e) {
    if (!(e instanceof RpcError)) throw e;
    if (e.code !== code) fail(name, `expected ${codeName(code)}, got ${e.message}`);
    if (mentions !== undefined && !e.details.includes(mentions)) fail(name, `the message does not name ${JSON.stringify(mentions)}: ${JSON.stringify(e.details)}`);
    return pass(`${name} (${codeName(code)}: ${e.details})`);
  }
  fail(name, `expected ${codeName(code)}, got OK: ${JSON.stringify(response).slice(0, 300)}`);
}

// A server stream read one message at a time, each wait bounded.
function reader(call) {
  const queue = [];
  let ended = null, wake = null;
  call.on("data", (m) => { queue.push(m); wake?.(); });
  call.on("error", (e) => { ended = e; wake?.(); });
  call.on("end", () => { ended ??= "end"; wake?.(); });
  return async function next(what, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    while (queue.length === 0) {
      if (ended) throw new CheckFailure(`${what}: the stream ended (${ended === "end" ? "end" : `${codeName(ended.code)}: ${ended.details}`})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new CheckFailure(`${what}: nothing came within ${timeoutMs} ms`);
      await new Promise((resolve) => { const t = setTimeout(resolve, left); wake = () => { clearTimeout(t); resolve(); }; });
      wake = null;
    }
    return queue.shift();
  };
}

// ---- health and reflection
async function health(pkgs) {
  const client = new pkgs.grpc.health.v1.Health(args.address, grpc.credentials.createInsecure());
  try {
    // arbord opens its port NOT_SERVING and turns SERVING once its store is open: wait for that.
    const deadline = Date.now() + 30_000;
    let status;
    for (;;) {
      status = (await unary(client, "Check", { service: "" })).status;
      if (status === "SERVING" || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    same("health: overall status", status, "SERVING");
    same("health: arbor.v1.Arbor", (await unary(client, "Check", { service: "arbor.v1.Arbor" })).status, "SERVING");
    await expectRpcError("health: an unknown service", unary(client, "Check", { service: "no.such.Service" }), grpc.status.NOT_FOUND);
  } finally {
    client.close();
  }
}

async function reflection(pkgs) {
  // v1 where the server has it, else v1alpha (older gRPC C++, such as Debian 12's 1.51, has only that).
  for (const version of ["v1", "v1alpha"]) {
    const client = new pkgs.grpc.reflection[version].ServerReflection(args.address, grpc.credentials.createInsecure());
    const call = client.ServerReflectionInfo({ deadline: Date.now() + DEADLINE_MS });
    try {
      const next = reader(call);
      call.write({ host: "", list_services: "*" });
      let answer;
      try {
        answer = await next(`reflection ${version}: list_services`);
      } catch (e) {
        if (version === "v1" && /UNIMPLEMENTED/.test(e.message)) continue;
        throw e;
      }
      const services = answer.list_services_response?.service?.map((s) => s.name) ?? [];
      check(`reflection ${version}: list_services names arbor.v1.Arbor (${services.join(", ")})`,
        services.includes("arbor.v1.Arbor"), () => `answer: ${JSON.stringify(answer)}`);
      check(`reflection ${version}: and grpc.health.v1.Health`, services.includes("grpc.health.v1.Health"));
      call.end();
      return;
    } finally {
      call.cancel();
      client.close();
    }
  }
  fail("reflection", "neither grpc.reflection.v1 nor v1alpha answered");
}

// ---- what both schemes share
// A tree as the client believes it is: key hex -> value, and what each version held.
class Model {
  constructor(info) {
    this.entries = new Map();
    this.versions = new Map([[info.version, { root: info.root, label: info.label, size: 0, entries: new Map() }]]);
    this.head = info.version;
  }
  apply(ops) { // last op on a key wins (the contract), whatever the scheme does inside a batch
    const last = new Map();
    for (const op of ops) last.set(hex(op.key), op);
    for (const [k, op] of last) op.kind === "OP_KIND_PUT" ? this.entries.set(k, op.value) : this.entries.delete(k);
    return last;
  }
  record(version, root, label) {
    this.head = version;
    this.versions.set(version, { root, label, size: this.entries.size, entries: new Map(this.entries) });
  }
  at(version) { return this.versions.get(String(version)); }
  sorted(version) {
    return [...this.at(version).entries].map(([k, value]) => ({ key: Buffer.from(k, "hex"), value })).sort(byKey);
  }
}
const put = (key, value) => ({ kind: "OP_KIND_PUT", key, value });
const del = (key) => ({ kind: "OP_KIND_DELETE", key });

// Verify RPC: {valid, reason, root, format}.
const verify = (client, proof, root) => unary(client, "Verify", root === undefined ? { proof } : { proof, root });
async function expectValid(client, name, proof, root) {
  const v = await verify(client, proof, root);
  check(name, v.valid === true && Buffer.compare(v.root, root) === 0,
    () => `valid ${v.valid} (${v.reason}), root ${show(v.root)}, want ${show(root)}`);
  return v;
}
async function expectInvalid(client, name, proof, root) { // valid:false, or the proof refused as malformed
  try {
    const v = await verify(client, proof, root);
    check(`${name} (${v.reason})`, v.valid === false && v.reason !== "", () => `valid ${v.valid}, reason ${JSON.stringify(v.reason)}`);
  } catch (e) {
    if (!(e instanceof RpcError) || e.code !== grpc.status.INVALID_ARGUMENT) throw e;
    pass(`${name} (INVALID_ARGUMENT: ${e.details})`);
  }
}

async function write(client, model, tag, ops, label) {
  const resp = await unary(client, "Write", { tree: model.tree, ops, label, with_proofs: true });
  const before = BigInt(model.head);
  const last = model.apply(ops);
  const now = Date.now();
  allSame(`${tag}: Write answers version, size and label`, [
    ["version", resp.version, String(before + 1n)], ["size", resp.size, String(model.entries.size)],
    ["label", resp.label, label], ["root length", resp.root.length, 32]]);
  check(`${tag}: Write coalesced_writes ${resp.coalesced_writes} >= 1`, resp.coalesced_writes >= 1);
  check(`${tag}: Write committed_unix_ms ${resp.committed_unix_ms} is now`,
    Math.abs(Number(resp.committed_unix_ms) - now) < 600_000, `clock far from ${now}`);
  const proofs = [...resp.proofs].sort(byKey);
  const want = [...last.keys()].sort();
  same(`${tag}: Write with_proofs gives one KeyProof per distinct key`, proofs.map((p) => hex(p.key)), want);
  allSame(`${tag}: each KeyProof's exists and value`, proofs.flatMap((p) => {
    const v = model.entries.get(hex(p.key));
    return [[`${hex(p.key)} exists`, p.exists, v !== undefined], [`${hex(p.key)} value`, p.exists ? p.value : null, v ?? null]];
  }));
  model.record(resp.version, resp.root, label);
  return resp;
}

// Get with_proof of each key: value and version as the model says, proof valid for the root.
async function getEach(client, model, tag, keys, format) {
  const head = model.at(model.head), info = await unary(client, "GetTree", { tree: model.tree });
  same(`${tag}: GetTree root is the last Write's`, info.root, head.root);
  const pairs = [];
  for (const key of keys) {
    const g = await unary(client, "Get", { tree: model.tree, key, with_proof: true });
    const v = model.entries.get(hex(key)), k = hex(key);
    pairs.push([`${k} found`, g.found, v !== undefined], [`${k} value`, g.found ? g.value : null, v ?? null],
      [`${k} version`, g.version, model.head], [`${k} root`, g.root, head.root],
      [`${k} proof_format`, g.proof_format, format], [`${k} committed_unix_ms`, g.committed_unix_ms, info.committed_unix_ms]);
    const r = await verify(client, g.proof, g.root);
    pairs.push([`${k} proof valid (${r.reason})`, r.valid, true]);
  }
  allSame(`${tag}: Get with_proof of ${keys.length} keys (found, value, version, root, proof valid)`, pairs);
}

async function getMany(client, model, tag, keys, format) {
  const head = model.at(model.head);
  const g = await unary(client, "GetMany", { tree: model.tree, keys, with_proof: true });
  allSame(`${tag}: GetMany of ${keys.length} keys in order`, [
    ["version", g.version, model.head], ["root", g.root, head.root], ["count", g.values.length, keys.length],
    ["proof_format", g.proof_format, format],
    ...keys.flatMap((key, i) => {
      const v = model.entries.get(hex(key));
      return [[`values[${i}].found`, g.values[i]?.found, v !== undefined], [`values[${i}].value`, g.values[i]?.found ? g.values[i].value : null, v ?? null]];
    })]);
  await expectValid(client, `${tag}: GetMany's proof is valid for its root`, g.proof, g.root);
  // An older version, no proof asked for.
  const old = String(BigInt(model.head) - 1n), then = model.at(old);
  const o = await unary(client, "GetMany", { tree: model.tree, keys, at: { version: old } });
  allSame(`${tag}: GetMany at version ${old}`, [["version", o.version, old], ["root", o.root, then.root], ["proof", o.proof, Buffer.alloc(0)],
    ...keys.map((key, i) => [`values[${i}]`, o.values[i]?.found ? o.values[i].value : null, then.entries.get(hex(key)) ?? null])]);
}

// Scan in pages of 3 pinned to the first page's version, while `interleave` writes a new version
// between pages; the pages together must be exactly that version's entries, in key order.
async function scan(client, model, tag, interleave) {
  const first = await unary(client, "Scan", { tree: model.tree, limit: 3 });
  const version = first.version, pinned = model.at(version);
  same(`${tag}: Scan's first page is at the head`, version, model.head);
  await interleave();
  const entries = [...first.entries], pages = [first];
  for (let page = first; page.more;) {
    if (pages.length > 1000) fail(`${tag}: Scan`, "more than 1000 pages");
    page = await unary(client, "Scan", { tree: model.tree, at: { version }, after: entries.at(-1).key, limit: 3 });
    pages.push(page);
    entries.push(...page.entries);
  }
  allSame(`${tag}: Scan pages (limit 3, at version ${version}) while a write lands`, pages.flatMap((p, i) => [
    [`page ${i} version`, p.version, version], [`page ${i} root`, p.root, pinned.root],
    [`page ${i} at most 3 entries`, p.entries.length <= 3, true],
    [`page ${i} full unless last`, p.more ? p.entries.length === 3 : true, true]]));
  const want = model.sorted(version);
  same(`${tag}: Scan gives every key of version ${version} in order, each once`, entries.map((e) => hex(e.key)), want.map((e) => hex(e.key)));
  allSame(`${tag}: Scan values`, entries.map((e, i) => [hex(e.key), e.value, want[i].value]));
  // The head, in one default page.
  const all = await unary(client, "Scan", { tree: model.tree });
  const head = model.sorted(model.head);
  allSame(`${tag}: Scan of the head, one default page`, [["version", all.version, model.head], ["more", all.more, false],
    ["keys", all.entries.map((e) => hex(e.key)), head.map((e) => hex(e.key))],
    ["values", all.entries.map((e) => hex(e.value)), head.map((e) => hex(e.value))]]);
}

// WatchVersions from 0: the retained versions in order, then one committed while watching; cancel.
async function watch(client, model, tag, makeWrite) {
  const call = client.WatchVersions({ tree: model.tree, from_version: "0" });
  try {
    const next = reader(call);
    const events = [];
    while (events.length === 0 || BigInt(events.at(-1).version) < BigInt(model.head)) {
      events.push(await next(`${tag}: WatchVersions up to version ${model.head}`));
    }
    const firstVersion = BigInt(events[0].version);
    check(`${tag}: WatchVersions starts at the oldest version (${firstVersion})`, firstVersion <= 1n);
    allSame(`${tag}: WatchVersions replays ${events.length} retained versions`, events.flatMap((e, i) => {
      const want = model.at(e.version), v = String(firstVersion + BigInt(i));
      return [[`event ${i} version`, e.version, v], [`v${v} known`, want !== undefined, true], [`v${v} root`, e.root, want?.root],
        [`v${v} label`, e.label, want?.label], [`v${v} size`, e.size, String(want?.size)], [`v${v} rolled_back`, e.rolled_back, false]];
    }));
    const w = await makeWrite();
    const e = await next(`${tag}: WatchVersions event for version ${w.version}`);
    allSame(`${tag}: WatchVersions reports the write made while watching`, [["version", e.version, w.version], ["root", e.root, w.root],
      ["label", e.label, w.label], ["size", e.size, w.size], ["committed_unix_ms", e.committed_unix_ms, w.committed_unix_ms]]);
    call.cancel();
    let end;
    try { for (;;) await next("after cancel", 5_000); } catch (x) { end = x.message; }
    check(`${tag}: WatchVersions ends when cancelled (${end})`, /CANCELLED/.test(end), end);
  } finally {
    call.cancel();
  }
}

// ---- SMT
async function smt(pkgs) {
  const client = new pkgs.arbor.v1.Arbor(args.address, grpc.credentials.createInsecure());
  try {
    const tree = `node_smt_${seed}`;
    const info = await unary(client, "CreateTree", { name: tree, scheme: "smt" });
    allSame(`smt: CreateTree ${tree}`, [["name", info.name, tree], ["scheme", info.scheme, "smt"], ["version", info.version, "0"], ["size", info.size, "0"]]);
    const model = new Model(info);
    model.tree = tree;

    // Keys over the whole field, with its ends; values small and large.
    const fresh = (n) => Array.from({ length: n }, () => randomFr());
    const value = () => (randomInt(2) ? smallFr() : randomFr());
    const k1 = [be32(0n), be32(P - 1n), ...fresh(8)];
    await write(client, model, "smt v1", k1.map((k) => put(k, k === k1[1] ? be32(P - 1n) : value())), "block-1");
    const k2 = fresh(6);
    await write(client, model, "smt v2", [...k2.map((k) => put(k, value())), put(k1[2], value()), put(k1[3], value())], "block-2");
    const k3 = fresh(3);
    // A delete, and a key put twice in one write (the last wins).
    const w3 = await write(client, model, "smt v3", [del(k1[4]), del(k2[0]), ...k3.map((k) => put(k, value())),
      put(k3[0], be32(7n)), put(k1[5], smallFr()), put(k1[5], be32(99n))], "block-3");
    same("smt v3: the last put of a key wins", (await unary(client, "Get", { tree, key: k1[5] })).value, be32(99n));
    // Every KeyProof of the last write verifies against that write's root.
    for (const p of w3.proofs) await expectValid(client, `smt v3: KeyProof ${hex(p.key).slice(0, 8)}… (exists ${p.exists}) is valid`, p.proof, w3.root);

    await expectRpcError("smt: Write with a key >= p", unary(client, "Write", { tree, ops: [put(be32(P), be32(1n))] }),
      grpc.status.INVALID_ARGUMENT, "ops[0].key");
    await expectRpcError("smt: Write with a 31-byte value", unary(client, "Write", { tree, ops: [put(be32(5n), Buffer.alloc(31))] }),
      grpc.status.INVALID_ARGUMENT, "ops[0].value");
    same("smt: a refused write changes nothing", (await unary(client, "GetTree", { tree })).version, model.head);

    const present = [...model.entries.keys()].map((k) => Buffer.from(k, "hex"));
    const absent = [k1[4], k2[0], ...fresh(2)];
    await getEach(client, model, "smt", [...present, ...absent], "smt-binary");
    // A read of an older version: k1[2] was overwritten at v2.
    const g1 = await unary(client, "Get", { tree, key: k1[2], at: { version: "1" }, with_proof: true });
    allSame("smt: Get at version 1 reads the value before its overwrite", [["value", g1.value, model.at("1").entries.get(hex(k1[2]))],
      ["version", g1.version, "1"], ["root", g1.root, model.at("1").root]]);
    await expectValid(client, "smt: that proof is valid for version 1's root", g1.proof, model.at("1").root);
    await expectInvalid(client, "smt: and invalid for the head's root", g1.proof, model.at(model.head).root);

    // Prove: one key gives an "AS" single proof, several an "AM" multi-proof.
    const root = model.at(model.head).root;
    const prove = async (name, keys, magic, extra = {}) => {
      const r = await unary(client, "Prove", { tree, keys, ...extra });
      allSame(`smt: Prove ${name}`, [["format", r.format, extra.encoding === "json" ? "smt-json" : "smt-binary"],
        ["version", r.version, extra.at ? extra.at.version : model.head], ["root", r.root, extra.at ? model.at(extra.at.version).root : root],
        ["magic", r.proof.subarray(0, magic.length).toString("latin1"), magic]]);
      return r;
    };
    const single = await prove("of a present key", [present[0]], "AS");
    await expectValid(client, "smt: Verify it with the root", single.proof, root);
    const none = await prove("of an absent key", [absent[2]], "AS");
    await expectValid(client, "smt: Verify the non-inclusion proof", none.proof, root);
    const multi = await prove("of 3 present and 2 absent keys", [present[1], absent[0], present[2], present[3], absent[3]], "AM");
    const mv = await expectValid(client, "smt: Verify the multi-proof", multi.proof, root);
    check(`smt: Verify names the format it read (${mv.format})`, mv.format !== "");
    const json = await prove("in JSON", [present[4], absent[1]], "{", { encoding: "json" });
    const parsed = parseJson("smt: the JSON multi-proof", json.proof);
    allSame("smt: the JSON multi-proof", [["scheme", parsed.scheme, "arbor-smt-multiproof"], ["root", String(parsed.root).replace(/^0x/, ""), hex(root)]]);
    const jv = await verify(client, json.proof);
    check("smt: Verify of the JSON proof without a root uses its own", jv.valid === true && Buffer.compare(jv.root, root) === 0,
      () => `valid ${jv.valid} (${jv.reason}), root ${show(jv.root)}`);
    const old = await prove("at version 2", [k1[4], k2[0]], "AM", { at: { version: "2" } });
    await expectValid(client, "smt: a version-2 multi-proof is valid for version 2's root", old.proof, model.at("2").root);
    await expectInvalid(client, "smt: and invalid for the head's root", old.proof, root);

    // Tampering: one byte of an inclusion proof ("AS" 0x01 flags depth | key | value ...).
    const valueByte = Buffer.from(single.proof);
    valueByte[5 + 32 + 31] ^= 0x01;
    await expectInvalid(client, "smt: Verify with the value's last byte flipped", valueByte, root);
    const pos = 3 + randomInt(single.proof.length - 3), mask = 1 + randomInt(255);
    const anyByte = Buffer.from(single.proof);
    anyByte[pos] ^= mask;
    await expectInvalid(client, `smt: Verify with byte ${pos} of ${single.proof.length} xor 0x${mask.toString(16)}`, anyByte, root);
    await expectInvalid(client, "smt: Verify the multi-proof with its last byte flipped",
      Buffer.concat([multi.proof.subarray(0, -1), Buffer.of(multi.proof.at(-1) ^ 0x80)]), root);

    await getMany(client, model, "smt", [present[5], absent[0], present[0], absent[3], present[6]], "smt-binary");
    await scan(client, model, "smt", () => write(client, model, "smt v4", [put(randomFr(), value()), del(present[7])], "block-4"));
    await watch(client, model, "smt", () => write(client, model, "smt v5", [put(randomFr(), value())], "block-5"));
  } finally {
    client.close();
  }
}

// ---- Verkle
// rust-verkle's stateless verifier, as tests/oracles/verkle_proof.mjs loads it (without the
// Context: verifyExecutionWitnessPreState is a free function). A Rust panic traps the wasm and
// leaves it unusable, so a trap re-instantiates it before the next call.
let wasm = null, wasmReady = false;
async function rustVerkleVerify(rootHex, witnessJson) {
  wasm ??= await import(new URL("./wasm/rust_verkle_wasm.js", import.meta.resolve("verkle-cryptography-wasm")));
  if (!wasmReady) { await wasm.initVerkleWasm(); wasmReady = true; }
  try {
    return { valid: wasm.verifyExecutionWitnessPreState(rootHex, witnessJson) === true };
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) wasmReady = false;
    return { valid: false, error: String(e?.message ?? e) };
  }
}

async function verkle(pkgs) {
  const client = new pkgs.arbor.v1.Arbor(args.address, grpc.credentials.createInsecure());
  try {
    const tree = `node_verkle_${seed}`;
    const info = await unary(client, "CreateTree", { name: tree, scheme: "verkle" });
    allSame(`verkle: CreateTree ${tree}`, [["name", info.name, tree], ["scheme", info.scheme, "verkle"], ["version", info.version, "0"],
      ["root length", info.root.length, 32]]);
    const model = new Model(info);
    model.tree = tree;

    // Keys in shared stems (same 31 bytes, another suffix) and lone keys, one with a first byte
    // 0xff: Verkle keys are any 32 bytes, not field elements.
    const stems = [randomBytes(31), randomBytes(31), randomBytes(31)];
    const suffixes = (n) => { const s = new Set(); while (s.size < n) s.add(randomInt(256)); return [...s]; };
    const inStem = (stem, suffix) => Buffer.concat([stem, Buffer.of(suffix)]);
    const shared = stems.flatMap((stem, i) => suffixes(2 + i).map((s) => inStem(stem, s)));
    const lone = [randomBytes(32), randomBytes(32), Buffer.concat([Buffer.of(0xff), randomBytes(31)])];
    const value = () => randomBytes(32);
    const writeChecked = async (tag, ops, label) => {
      const w = await write(client, model, tag, ops, label);
      allSame(`${tag}: the witness of the write`, [["proof_format", w.proof_format, "verkle-witness-binary"],
        ["magic", w.proof.subarray(0, 4).toString("latin1"), "AVW1"], ["KeyProof.proof empty", w.proofs.every((p) => p.proof.length === 0), true]]);
      await expectValid(client, `${tag}: Verify the write's witness with its root`, w.proof, w.root);
      return w;
    };
    await writeChecked("verkle v1", [...shared, ...lone].map((k) => put(k, value())), "block-1");
    const freeSuffix = (stem) => { // a key of `stem` that the tree does not hold
      for (;;) { const k = inStem(stem, randomInt(256)); if (!model.entries.has(hex(k))) return k; }
    };
    const grown = freeSuffix(stems[0]);
    await writeChecked("verkle v2", [put(shared[0], value()), put(grown, value()), del(shared[3]), del(lone[1])], "block-2");

    const present = [...model.entries.keys()].map((k) => Buffer.from(k, "hex")).sort(Buffer.compare);
    const absentSuffix = freeSuffix(stems[2]);
    const absent = [shared[3], lone[1], absentSuffix, randomBytes(32)]; // deleted, deleted, absent suffix, absent stem
    const root = model.at(model.head).root, rootHex = `0x${hex(root)}`;
    const proveKeys = [shared[0], shared[1], grown, lone[2], ...absent];

    // JSON witness, checked by rust-verkle against the root.
    const pj = await unary(client, "Prove", { tree, keys: proveKeys, encoding: "json" });
    allSame("verkle: Prove encoding json", [["format", pj.format, "verkle-witness-json"], ["version", pj.version, model.head], ["root", pj.root, root]]);
    const witness = parseJson("verkle: the JSON witness", pj.proof);
    check("verkle: the JSON is an execution witness {stateDiff, verkleProof}",
      Array.isArray(witness.stateDiff) && typeof witness.verkleProof === "object", () => pj.proof.toString("utf8").slice(0, 200));
    const diffs = new Map(witness.stateDiff.flatMap((d) => d.suffixDiffs.map((s) =>
      [`${String(d.stem).replace(/^0x/, "")}${s.suffix.toString(16).padStart(2, "0")}`, s.currentValue])));
    allSame("verkle: its stateDiff holds each key's currentValue (null when absent)", proveKeys.map((k) => {
      const v = model.entries.get(hex(k)), got = diffs.get(hex(k));
      return [hex(k), got === undefined ? "missing" : got === null ? null : String(got).replace(/^0x/, ""), v === undefined ? null : hex(v)];
    }));
    const rv = await rustVerkleVerify(rootHex, JSON.stringify(witness));
    check("verkle: rust-verkle's verifyExecutionWitnessPreState accepts it", rv.valid, () => rv.error ?? "returned false");
    const rw = await rustVerkleVerify(`0x${hex(model.at("1").root)}`, JSON.stringify(witness));
    check(`verkle: rust-verkle rejects it against version 1's root${rw.error ? ` (${rw.error})` : ""}`, !rw.valid);
    // A changed value must break it: the proof opens the commitments to the values it claims.
    const forged = structuredClone(witness);
    const present0 = forged.stateDiff.flatMap((d) => d.suffixDiffs).find((s) => s.currentValue !== null);
    present0.currentValue = `0x${hex(value())}`;
    const rf = await rustVerkleVerify(rootHex, JSON.stringify(forged));
    check(`verkle: rust-verkle rejects it with a currentValue changed${rf.error ? ` (${rf.error})` : ""}`, !rf.valid);
    await expectValid(client, "verkle: Verify RPC accepts the JSON witness with the root", pj.proof, root);
    await expectInvalid(client, "verkle: Verify RPC rejects the JSON witness with a currentValue changed",
      Buffer.from(JSON.stringify(forged)), root);

    // Binary witness through the Verify RPC.
    const pb = await unary(client, "Prove", { tree, keys: proveKeys });
    allSame("verkle: Prove (default encoding)", [["format", pb.format, "verkle-witness-binary"], ["version", pb.version, model.head],
      ["root", pb.root, root], ["magic", pb.proof.subarray(0, 4).toString("latin1"), "AVW1"]]);
    await expectValid(client, "verkle: Verify the binary witness with the root", pb.proof, root);
    await expectInvalid(client, "verkle: Verify it with a wrong root (version 1's)", pb.proof, model.at("1").root);
    // A byte of the 576-byte multiproof at its end: a stem byte could be changed harmlessly (an
    // absent stem in an empty slot is bound only by the bytes of its path).
    const pos = pb.proof.length - 1 - randomInt(576), mask = 1 + randomInt(255);
    const flipped = Buffer.from(pb.proof);
    flipped[pos] ^= mask;
    await expectInvalid(client, `verkle: Verify with byte ${pos} of ${pb.proof.length} xor 0x${mask.toString(16)}`, flipped, root);
    await expectRpcError("verkle: Verify without a root", verify(client, pb.proof), grpc.status.INVALID_ARGUMENT, "root");
    const p1 = await unary(client, "Prove", { tree, keys: proveKeys, at: { version: "1" } });
    same("verkle: Prove at version 1 answers version 1", p1.version, "1");
    await expectValid(client, "verkle: that witness is valid for version 1's root", p1.proof, model.at("1").root);

    await getEach(client, model, "verkle", [...present, ...absent], "verkle-witness-binary");
    await getMany(client, model, "verkle", [absent[0], ...present.slice(0, 4), absent[2], absent[3]], "verkle-witness-binary");
    await scan(client, model, "verkle", () => write(client, model, "verkle v3", [put(inStem(stems[1], 254), value()), del(present[1])], "block-3"));

    await expectRpcError("verkle: Write with a 31-byte key", unary(client, "Write", { tree, ops: [put(randomBytes(31), value())] }),
      grpc.status.INVALID_ARGUMENT, "ops[0].key");
    same("verkle: a refused write changes nothing", (await unary(client, "GetTree", { tree })).version, model.head);
  } finally {
    client.close();
  }
}

// ---- main
console.log(`seed ${seed}`);
const pkgs = loadPackages();
const sections = [["health", health], ["reflection", reflection]];
if (args.only !== "verkle") sections.push(["smt", smt]);
if (args.only !== "smt") sections.push(["verkle", verkle]);
const failures = [];
for (const [name, run] of sections) {
  try {
    await run(pkgs);
  } catch (e) {
    const why = e instanceof CheckFailure ? e.message : e instanceof RpcError ? `${name}: ${e.message}` : `${name}: unexpected error: ${e?.stack ?? e}`;
    console.error(`FAIL ${why}\n(seed ${seed}: rerun with --seed ${seed})`);
    failures.push(name);
    if (!args.keepGoing) process.exit(1);
  }
}
if (failures.length) {
  console.error(`FAILED sections: ${failures.join(", ")} (${checks} checks passed)`);
  process.exit(1);
}
console.log(`ok ${checks} checks`);
// grpc-js keeps channels alive briefly; nothing is left to wait for.
process.exit(0);
