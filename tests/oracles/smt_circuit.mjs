// circomlib SMTVerifier circuit oracle: checks SMT inclusion / exclusion inputs
// against circomlib's own circuit (circuits/smt/smtverifier.circom), compiled
// with circom2 (circom built to WebAssembly), by computing the witness.
// circom turns every `===` constraint into a runtime assert in the witness code,
// so a witness that computes means every constraint held for that input.
//
// Usage:
//   node smt_circuit.mjs WORKDIR N INPUTS.json
//     WORKDIR      cache directory (created if missing); the compiled
//                  SMTVerifier(N) lives in WORKDIR/smtverifier_N and is reused
//                  as long as the circom2 and circomlib versions are unchanged.
//     N            circuit levels (2..254: Num2Bits_strict gives 254 key bits).
//     INPUTS.json  JSON array of SMTVerifier(N) inputs:
//                  {"enabled":"1","fnc":"0"|"1","root":"<dec>","siblings":[N x "<dec>"],
//                   "oldKey":"<dec>","oldValue":"<dec>","isOld0":"0"|"1",
//                   "key":"<dec>","value":"<dec>"}
//     stdout: one JSON object {"results":[{"ok":bool,"error":"<msg>"|null}, ...]}
//             (ok false: witness calculation failed, e.g. "Assert Failed").
//     stderr: compiler output and timings. Compile errors exit non-zero.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const log = (...a) => console.error("smt_circuit:", ...a);
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

const pkgVersion = (name) =>
  JSON.parse(readFileSync(join(here, "node_modules", name, "package.json"), "utf8")).version;

// Returns the directory holding main_js/main.wasm and witness_calculator.cjs for SMTVerifier(n).
function ensureCompiled(workdir, n) {
  const dir = join(workdir, `smtverifier_${n}`);
  const stamp = `circom2 ${pkgVersion("circom2")} circomlib ${pkgVersion("circomlib")} N ${n}\n`;
  const stampFile = join(dir, "STAMP");
  if (existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp) return dir;

  // Build in a private temp dir and rename into place, so an interrupted or
  // concurrent compile never leaves a half-written cache entry behind.
  const tmp = join(workdir, `.tmp_smtverifier_${n}_${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, "main.circom"),
    `pragma circom 2.0.0;\ninclude "circomlib/circuits/smt/smtverifier.circom";\n` +
    `component main = SMTVerifier(${n});\n`);
  const t0 = process.hrtime.bigint();
  // circom2's CLI runs circom under WASI with preopens derived from the cwd, and
  // only resolves the -l include path reliably when it lies under the cwd; hence
  // cwd = this package and "-l node_modules". Only --wasm output is needed
  // (no r1cs/sym) since the witness calculator itself checks the constraints.
  const r = spawnSync(process.execPath,
    [require.resolve("circom2/cli.js"), join(tmp, "main.circom"), "--wasm", "-l", "node_modules", "-o", tmp],
    { cwd: here, encoding: "utf8" });
  if (r.stdout) process.stderr.write(r.stdout);
  if (r.stderr) process.stderr.write(r.stderr);
  const wasm = join(tmp, "main_js", "main.wasm");
  if (r.status !== 0 || !existsSync(wasm)) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`circom2 failed to compile SMTVerifier(${n}) (exit ${r.status ?? r.signal})`);
  }
  log(`compiled SMTVerifier(${n}) in ${ms(t0).toFixed(0)} ms`);
  // The generated calculator is CommonJS; this package is "type": "module", so
  // it must carry a .cjs extension to be require()d.
  copyFileSync(join(tmp, "main_js", "witness_calculator.js"), join(tmp, "witness_calculator.cjs"));
  writeFileSync(join(tmp, "STAMP"), stamp);
  rmSync(dir, { recursive: true, force: true });
  try { renameSync(tmp, dir); }
  catch (e) { // lost a race with another process: use its result if complete
    rmSync(tmp, { recursive: true, force: true });
    if (!(existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp)) throw e;
  }
  return dir;
}

async function main() {
  const [workdirArg, nArg, inputsFile] = process.argv.slice(2);
  if (!workdirArg || !nArg || !inputsFile) throw new Error("usage: node smt_circuit.mjs WORKDIR N INPUTS.json");
  const n = Number(nArg);
  if (!Number.isInteger(n) || n < 2 || n > 254) throw new Error(`N must be an integer in 2..254, got ${nArg}`);
  const inputs = JSON.parse(readFileSync(inputsFile, "utf8"));
  if (!Array.isArray(inputs)) throw new Error("INPUTS.json must hold a JSON array");

  const workdir = resolve(workdirArg);
  mkdirSync(workdir, { recursive: true });
  const dir = ensureCompiled(workdir, n);
  const builder = require(join(dir, "witness_calculator.cjs"));
  const code = readFileSync(join(dir, "main_js", "main.wasm"));

  // The calculator would print circuit log() output via console.log; stdout is
  // reserved for the single JSON result.
  console.log = (...a) => console.error(...a);

  const results = [];
  let wc = null;
  for (let i = 0; i < inputs.length; i++) {
    const t0 = process.hrtime.bigint();
    // A failed run leaves the instance's accumulated error text (and possibly
    // its state) dirty, so start from a fresh instance after any failure.
    wc ??= await builder(code);
    try {
      // _doCalculateWitness runs the circuit (asserts included) without copying
      // the witness out, which is about half the cost; fall back to the public
      // API should a future circom drop it.
      await (wc._doCalculateWitness ?? wc.calculateWitness).call(wc, inputs[i], true);
      results.push({ ok: true, error: null });
    } catch (e) {
      wc = null;
      results.push({ ok: false, error: String(e?.message ?? e).trim() });
    }
    log(`input ${i}: ${results[i].ok ? "ok" : "failed"} in ${ms(t0).toFixed(1)} ms`);
  }
  process.stdout.write(JSON.stringify({ results }) + "\n");
}

main().catch((e) => {
  log(e?.stack ?? e);
  process.exit(1);
});
