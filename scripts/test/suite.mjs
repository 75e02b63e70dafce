#!/usr/bin/env node
// Runs the whole test suite under Deno and Bun, once per poller backend this OS has, and prints
// one closing line with the totals of every run: `N passed, M failed, K skipped`.
// The console gets one line per test file and run; each run's full output and its JUnit report go
// to .ci/out/<runtime>-<backend>.txt and .xml.
//
// Usage: node scripts/test/suite.mjs [--runtime deno|bun] [--backend epoll,poll,...] [test files...]
// Plain Node on purpose: `npm test` must work on a fresh machine that has only Node and npm.

import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const out = join(root, ".ci", "out");
// TOFU_TEST_<RUNTIME> names another command for a runtime (scripts/test/wine.mjs sets
// TOFU_TEST_BUN to Bun for Windows under Wine).
const bin = (name) => {
  const override = process.env[`TOFU_TEST_${name.toUpperCase()}`];
  if (override) return override;
  const local = join(
    root,
    "node_modules",
    ".bin",
    process.platform === "win32" ? `${name}.cmd` : name,
  );
  return existsSync(local) ? local : name;
};

const BACKENDS = {
  linux: ["epoll", "poll"],
  darwin: ["kqueue", "poll"],
  freebsd: ["kqueue", "poll"],
  win32: ["afd", "wsapoll"],
};

function parseArgs(argv) {
  const opts = {
    runtimes: ["deno", "bun"],
    backends: BACKENDS[process.platform] ?? ["poll"],
    files: [],
  };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--runtime") opts.runtimes = [argv[++i]];
    else if (argv[i] === "--backend") opts.backends = argv[++i].split(",");
    else opts.files.push(argv[i]);
  }
  return opts;
}

/** Leaf test cases of a JUnit report: a case with children (Deno lists describe blocks too) is not counted. */
function countJunit(path) {
  if (!existsSync(path)) return null;
  const xml = readFileSync(path, "utf8");
  const cases = [];
  const re = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  const attribute = (attrs, name) => new RegExp(`\\b${name}="([^"]*)"`).exec(attrs)?.[1] ?? "";
  for (let m = re.exec(xml); m !== null; m = re.exec(xml)) {
    const body = m[3] ?? "";
    const failure = /<(?:failure|error)\b[^>]*?message="([^"]*)"/.exec(body);
    cases.push({
      name: attribute(m[1], "name"),
      // Bun names the file; Deno puts it in classname (its nested steps say "ext:deno_node/...").
      file: (attribute(m[1], "file") || attribute(m[1], "classname")).replace(/^\.\//, ""),
      message: failure?.[1] ?? "",
      failed: /<failure\b|<error\b/.test(body),
      skipped: /<skipped\b/.test(body),
    });
  }
  const names = cases.map((c) => c.name);
  const leaves = cases.filter((c) => !names.some((n) => n.startsWith(`${c.name} &gt; `)));
  // A nested step's file is its top-level test's file.
  const isTestFile = (file) => file !== "" && !file.startsWith("ext:");
  const fileOf = new Map(cases.filter((c) => isTestFile(c.file)).map((c) => [c.name, c.file]));
  const byFile = new Map();
  for (const c of leaves) {
    const file = isTestFile(c.file) ? c.file : fileOf.get(c.name.split(" &gt; ")[0]) ?? "?";
    const counts = byFile.get(file) ?? { passed: 0, failed: 0, skipped: 0 };
    counts[c.failed ? "failed" : c.skipped ? "skipped" : "passed"]++;
    byFile.set(file, counts);
  }
  return {
    passed: leaves.filter((c) => !c.failed && !c.skipped).length,
    failed: leaves.filter((c) => c.failed).length,
    failures: leaves.filter((c) => c.failed).map((c) => ({ name: c.name, message: c.message })),
    skipped: leaves.filter((c) => c.skipped).length,
    byFile,
  };
}

function countsText({ passed, failed, skipped }) {
  return `${passed} passed, ${failed} failed, ${skipped} skipped`;
}

function unescapeXml(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(
    /&apos;/g,
    "'",
  )
    .replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))).replace(/&amp;/g, "&");
}

/**
 * `report` as the runtime under test spells it: TOFU_TEST_REPORT_DIR names .ci/out in the runtime's
 * own path syntax (a Windows build of Bun run under Wine needs `Z:\...`).
 */
function reportPathForRuntime(report) {
  const dir = process.env.TOFU_TEST_REPORT_DIR;
  return dir ? `${dir}${dir.includes("\\") ? "\\" : "/"}${report.slice(out.length + 1)}` : report;
}

function run(runtime, backend, files) {
  const report = join(out, `${runtime}-${backend}.xml`);
  const log = join(out, `${runtime}-${backend}.txt`);
  rmSync(report, { force: true });
  const args = runtime === "deno"
    ? [
      "test",
      "-A",
      "--sanitize-ops",
      "--sanitize-resources",
      // Memory checks collect garbage before they sample RSS (Bun has Bun.gc).
      "--v8-flags=--expose-gc",
      `--junit-path=${report}`,
      ...(files.length > 0 ? files : ["tests/"]),
    ]
    : [
      "test",
      "--reporter=junit",
      `--reporter-outfile=${reportPathForRuntime(report)}`,
      ...(files.length > 0 ? files.map((f) => `./${f}`) : []),
    ];
  console.log(`\n=== ${runtime} · ${backend} (output: ${relative(root, log)}) ===`);
  const started = Date.now();
  const fd = openSync(log, "w");
  const child = spawnSync(bin(runtime), args, {
    cwd: root,
    stdio: ["ignore", fd, fd],
    env: { ...process.env, TOFU_BACKEND: backend, NO_COLOR: "1" },
  });
  closeSync(fd);
  const counts = countJunit(report) ?? {
    passed: 0,
    failed: 1,
    skipped: 0,
    failures: [{ name: "(no JUnit report)", message: "" }],
    byFile: new Map(),
  };
  const width = Math.max(0, ...[...counts.byFile.keys()].map((file) => file.length));
  for (const [file, fileCounts] of [...counts.byFile].sort(([a], [b]) => a.localeCompare(b))) {
    console.log(`  ${file.padEnd(width)}  ${countsText(fileCounts)}`);
  }
  if (child.status !== 0 && counts.failed === 0) { // crashed or reported no failure
    counts.failed = 1;
    counts.failures.push({ name: `(exit status ${child.status ?? child.signal})`, message: "" });
    // No failing case to name: the end of the output says what happened.
    const tail = readFileSync(log, "utf8").trimEnd().split("\n").slice(-20);
    console.log(tail.map((line) => `  | ${line}`).join("\n"));
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  console.log(
    `--- ${runtime} · ${backend}: ${countsText(counts)} (${seconds} s)`,
  );
  return counts;
}

const opts = parseArgs(process.argv.slice(2));
mkdirSync(out, { recursive: true });
const rows = [];
for (const runtime of opts.runtimes) {
  for (const backend of opts.backends) {
    rows.push({ runtime, backend, ...run(runtime, backend, opts.files) });
  }
}
console.log("\nruntime  backend   passed  failed  skipped");
for (const r of rows) {
  console.log(
    `${r.runtime.padEnd(8)} ${r.backend.padEnd(9)} ${String(r.passed).padStart(6)}  ${
      String(r.failed).padStart(6)
    }  ${String(r.skipped).padStart(7)}`,
  );
}
// The failing cases again at the end, where a CI log excerpt shows them.
for (const r of rows) {
  for (const f of r.failures) {
    const message = unescapeXml(f.message).replace(/\s+/g, " ").slice(0, 300);
    console.log(
      `FAILED ${r.runtime} · ${r.backend}: ${unescapeXml(f.name)}${message ? ` — ${message}` : ""}`,
    );
  }
}
const total = rows.reduce(
  (t, r) => ({
    passed: t.passed + r.passed,
    failed: t.failed + r.failed,
    skipped: t.skipped + r.skipped,
  }),
  { passed: 0, failed: 0, skipped: 0 },
);
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed === 0 ? 0 : 1);
