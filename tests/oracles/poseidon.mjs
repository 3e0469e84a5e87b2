// Poseidon (BN254, circom parameters) differential-test oracle backed by circomlibjs.
//
// Usage:
//   node poseidon.mjs hash        wasm-backed buildPoseidon (circomlibjs' default)
//   node poseidon.mjs reference   buildPoseidonReference (straightforward JS rounds)
//   node poseidon.mjs opt         buildPoseidonOpt (JS, Neptune-optimised constants)
//     stdin:  JSON lines {"inputs":["1","2"],"init":"0","nOut":1}
//             (decimal strings; "init" defaults to "0", "nOut" to 1)
//     stdout: one JSON line per input line, {"out":["<decimal>", ...]} holding
//             state[0..nOut-1] as returned by poseidon(inputs, init, nOut),
//             or {"error":"<message>"} if circomlibjs throws on that line.
//             Blank input lines are skipped.
//   node poseidon.mjs bench FILE [--repeat R]
//     Hashes every line of FILE (same JSON format) once as warm-up, then R times
//     (default 5) with the wasm implementation; prints one JSON object:
//     {"impl","count","repeats","median_ns_per_hash","all_ns_per_hash":[...]}.
import { readFileSync } from "node:fs";
import { buildPoseidon, buildPoseidonReference, buildPoseidonOpt } from "circomlibjs";

const builders = { hash: buildPoseidon, reference: buildPoseidonReference, opt: buildPoseidonOpt };

const parseLines = (text) =>
  text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));

// Runs one request; always returns an array of field elements (Montgomery-form bytes).
const run = (poseidon, { inputs, init = "0", nOut = 1 }) => {
  const r = poseidon(inputs, init, nOut);
  return Array.isArray(r) ? r : [r];
};

async function hashMode(mode) {
  const poseidon = await builders[mode]();
  const F = poseidon.F;
  const out = [];
  for (const line of readFileSync(0, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    try {
      const res = run(poseidon, JSON.parse(line));
      out.push(JSON.stringify({ out: res.map((x) => F.toString(x)) }));
    } catch (e) {
      out.push(JSON.stringify({ error: String(e?.message ?? e) }));
    }
  }
  process.stdout.write(out.length ? out.join("\n") + "\n" : "");
}

async function benchMode(args) {
  const file = args[0];
  if (!file) throw new Error("usage: node poseidon.mjs bench FILE [--repeat R]");
  const ri = args.indexOf("--repeat");
  const repeats = ri >= 0 ? Number(args[ri + 1]) : 5;
  if (!(Number.isInteger(repeats) && repeats > 0)) throw new Error("--repeat must be a positive integer");

  const pkgUrl = new URL("./node_modules/circomlibjs/package.json", import.meta.url);
  const version = JSON.parse(readFileSync(pkgUrl, "utf8")).version;
  const poseidon = await buildPoseidon();
  const reqs = parseLines(readFileSync(file, "utf8"));
  const count = reqs.length;
  if (count === 0) throw new Error("bench file has no lines");

  const pass = () => { for (const q of reqs) run(poseidon, q); };
  pass(); // warm-up
  const all = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint();
    pass();
    all.push(Number(process.hrtime.bigint() - t0) / count);
  }
  const s = [...all].sort((a, b) => a - b);
  const m = s.length >> 1;
  const median = s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  console.log(JSON.stringify({
    impl: `circomlibjs ${version}`, count, repeats,
    median_ns_per_hash: median, all_ns_per_hash: all,
  }));
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === "bench") await benchMode(rest);
else if (Object.hasOwn(builders, mode ?? "")) await hashMode(mode);
else {
  console.error("usage: node poseidon.mjs hash|reference|opt < lines.jsonl\n" +
                "       node poseidon.mjs bench FILE [--repeat R]");
  process.exit(2);
}
