#!/usr/bin/env node
/**
 * The benchmark: tofu on Deno and on Bun against the runtimes' own sockets
 * (Deno.listen, Bun.listen), node:net on Node, ZeroMQ (the `zeromq` npm
 * package) and a C epoll program, all doing the same work: 16-byte tofu
 * header framing, every received header parsed and validated. Server and
 * client run in separate processes, over TCP loopback and Unix sockets, with
 * 64-byte and 4-KiB bodies:
 *
 * - ping-pong: one message in flight; round trips/s, p50 and p99 latency
 *   (20 000 timed round trips after 2 000 for warm-up);
 * - streaming: 1 000 000 x 64 B or 200 000 x 4 KiB messages back to back
 *   (after a 10 % warm-up), every one delivered to the app; messages/s, MB/s;
 * - idle: CPU of an engine with a listener and an idle client over 5 s.
 *
 * Each case runs 3 times per contender (runs interleaved across contenders)
 * and reports the median and the spread. A full run writes
 * `docs/bench/results.md` and `results.json` and the README block between
 * `<!-- bench:start -->` and `<!-- bench:end -->`.
 *
 * Usage: node scripts/bench/main.mjs [options]   (also `npm run bench`, `deno task bench`)
 *   --quick               smoke run: small counts, 1 run, nothing written
 *   --only <ids>          contenders, comma-separated (see --list)
 *   --case <filters>      cases, comma-separated; a filter matches every case
 *                         containing all its dash-separated parts
 *                         (e.g. `stream`, `uds-64`, `pingpong-tcp-4k`, `idle`)
 *   --runs <n>            runs per case (default 3, quick 1)
 *   --write / --no-write  write results even for a filtered run / never write
 *   --list                print contenders and cases, then exit
 *   --render              rewrite results.md and the README block from results.json
 *
 * It ends with one line `bench: N passed, M failed` (runs that worked, and
 * runs that failed for contenders not known to fail), and exits non-zero
 * when M > 0.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { cpus, loadavg, release, type as osType } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { allCases, caseMatches, runsCase } from "./cases.mjs";
import { CONTENDERS, prepare, ROOT, versions } from "./contenders.mjs";
import { runIdle, runPair } from "./runner.mjs";
import { resultsMarkdown, writeResults } from "./results_writer.mjs";

/** @typedef {import("./contenders.mjs").Contender} Contender */
/** @typedef {import("./cases.mjs").BenchCase} BenchCase */
/** @typedef {import("./results_writer.mjs").CaseResult} CaseResult */

/** Where the reports go: beside the docs, not the code (they are dated and regenerated). */
const REPORT_DIR = join(ROOT, "docs", "bench");
/** A contender is dropped from the rest of the run after this many failed runs (known failures: one). */
const MAX_FAILURES = 2;

/**
 * @param {string[]} argv
 */
function parseArgs(argv) {
  const opts = {
    quick: false,
    only: /** @type {string[] | null} */ (null),
    cases: /** @type {string[] | null} */ (null),
    runs: 0,
    write: /** @type {boolean | null} */ (null),
    list: false,
    render: false,
  };
  const value = (/** @type {number} */ i, /** @type {string} */ flag) => {
    const v = argv[i];
    if (v === undefined || v.startsWith("--")) throw new Error(`The option ${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--quick") opts.quick = true;
    else if (arg === "--only") opts.only = value(++i, arg).split(",");
    else if (arg === "--case") opts.cases = value(++i, arg).split(",");
    else if (arg === "--runs") {
      const text = value(++i, arg);
      opts.runs = Number(text);
      if (!Number.isInteger(opts.runs) || opts.runs < 1) {
        throw new Error(`The option --runs needs a positive integer, got "${text}"`);
      }
    } else if (arg === "--write") opts.write = true;
    else if (arg === "--no-write") opts.write = false;
    else if (arg === "--list") opts.list = true;
    else if (arg === "--render") opts.render = true;
    else {throw new Error(
        `Unknown option "${arg}" (see the usage at the top of scripts/bench/main.mjs)`,
      );}
  }
  return opts;
}

/**
 * @param {Record<string, number | string | boolean>} r
 * @returns {string}
 */
function describe(r) {
  const n = (/** @type {unknown} */ v) => Number(v);
  const rate = (/** @type {number} */ x) =>
    x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(1)} k`;
  const cpu = r.cpuUs === undefined
    ? ""
    : `  cpu ${n(r.cpuUs).toFixed(2)} µs (server ${n(r.cpuServerUs).toFixed(2)}, client ${
      n(r.cpuClientUs).toFixed(2)
    })`;
  if (r.mode === "pingpong" || r.mode === "paced" || r.mode === "crowd") {
    return `${rate(n(r.perSec))} rt/s  p50 ${n(r.p50Us).toFixed(1)} µs  p99 ${
      n(r.p99Us).toFixed(1)
    } µs${cpu}`;
  }
  if (r.mode === "stream") {
    const alloc = r.allocClient === undefined && r.allocServer === undefined
      ? ""
      : `  alloc ${n(r.allocClient).toFixed(0)} / ${n(r.allocServer).toFixed(0)} B/msg`;
    return `${rate(n(r.perSec))} msg/s  ${n(r.mbPerSec).toFixed(0)} MB/s${cpu}${alloc}`;
  }
  return `${n(r.cpuPercent).toFixed(3)} % of a core`;
}

const PROBE = /** @type {BenchCase} */ ({
  name: "probe",
  mode: "pingpong",
  peerMode: "pingpong",
  rate: 0,
  transport: "tcp",
  size: 64,
  sizeLabel: "64 B",
  count: 100,
  warmup: 10,
});

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const ids = CONTENDERS.map((c) => c.id);
  if (opts.list) {
    console.log(`contenders: ${ids.join(", ")}`);
    console.log(`cases: ${allCases(false).map((c) => c.name).join(", ")}`);
    return 0;
  }
  if (opts.render) {
    const report = JSON.parse(readFileSync(join(REPORT_DIR, "results.json"), "utf8"));
    console.log(writeResults(report, REPORT_DIR, join(ROOT, "README.md")));
    return 0;
  }
  for (const id of opts.only ?? []) {
    if (!ids.includes(id)) throw new Error(`Unknown contender "${id}"; known: ${ids.join(", ")}`);
  }
  const contenders = CONTENDERS.filter((c) => opts.only === null || opts.only.includes(c.id));
  const cases = allCases(opts.quick).filter((k) =>
    opts.cases === null || opts.cases.some((f) => caseMatches(f, k.name))
  );
  if (cases.length === 0) {
    throw new Error(`No case matches "${opts.cases?.join(",")}" (see --list)`);
  }
  const runs = opts.runs > 0 ? opts.runs : opts.quick ? 1 : 3;
  const write = opts.write ?? (!opts.quick && opts.only === null && opts.cases === null);
  const started = Date.now();
  let passed = 0;
  let failed = 0;

  const unavailable = prepare(contenders);
  const installFailures = new Set(unavailable.keys());
  /** @type {Map<string, number>} */
  const failures = new Map();
  /**
   * @param {Contender} c
   * @param {string} where
   * @param {string} error
   */
  const noteFailure = (c, where, error) => {
    console.log(`  ${where}  ${c.id}: FAILED ${error}${c.knownFailure ? " (known)" : ""}`);
    if (c.knownFailure === undefined) failed++;
    const count = (failures.get(c.id) ?? 0) + 1;
    failures.set(c.id, count);
    // A known failure needs no second confirmation.
    if (count >= MAX_FAILURES || c.knownFailure !== undefined) {
      const known = c.knownFailure === undefined ? "" : ` — ${c.knownFailure}`;
      unavailable.set(c.id, `dropped after ${count} failed run(s), last: ${error}${known}`);
    }
  };

  const needsPairs = cases.some((k) => k.mode !== "idle");
  for (const c of contenders) {
    if (!needsPairs || unavailable.has(c.id)) continue;
    const probe = await runPair(c, PROBE, { timeoutMs: 15_000 });
    if (probe.ok) continue;
    console.log(`  probe  ${c.id}: FAILED ${probe.error}${c.knownFailure ? " (known)" : ""}`);
    if (c.knownFailure === undefined) failed++;
    unavailable.set(c.id, `${probe.error}${c.knownFailure ? ` — ${c.knownFailure}` : ""}`);
  }
  for (const [id, why] of unavailable) {
    const c = contenders.find((x) => x.id === id);
    console.log(
      `skipping ${id}: ${why}${installFailures.has(id) ? " (not counted as a failure)" : ""}`,
    );
    if (c !== undefined && installFailures.has(id) && c.runtime === "c") failed++;
  }

  /** @type {CaseResult[]} */
  const results = [];
  for (const kase of cases) {
    /** @type {CaseResult} */
    const result = { kase, loadBefore: loadavg(), loadAfter: [], entries: {} };
    results.push(result);
    console.log(`\n${kase.name}  (load ${result.loadBefore.map((l) => l.toFixed(2)).join(" ")})`);
    const entry = (/** @type {string} */ id) => (result.entries[id] ??= { runs: [], failures: [] });
    for (let run = 1; run <= runs; run++) {
      for (const c of contenders) {
        if (unavailable.has(c.id)) continue;
        if (!runsCase(c, kase)) continue;
        const e = entry(c.id);
        if (e.failures.length > 0) continue; // one failure per case is enough to know
        const outcome = kase.mode === "idle"
          ? await runIdle(c, kase.count, false)
          : await runPair(c, kase);
        const where = `run ${run}/${runs}`;
        if (!outcome.ok || outcome.result === undefined) {
          e.failures.push(outcome.error);
          noteFailure(c, where, outcome.error);
          continue;
        }
        passed++;
        e.runs.push(/** @type {Record<string, number>} */ (outcome.result));
        console.log(`  ${where}  ${c.id.padEnd(12)} ${describe(outcome.result)}`);
        if (kase.mode === "idle" && run === 1) {
          const base = await runIdle(c, kase.count, true);
          if (base.ok && base.result !== undefined) {
            entry(`${c.id}-baseline`).runs.push(
              /** @type {Record<string, number>} */ (base.result),
            );
            console.log(`  ${where}  ${`${c.id} alone`.padEnd(12)} ${describe(base.result)}`);
          }
        }
      }
    }
    // Allocations of the contenders that count them only with a slowing aid, in a run of their own.
    for (const c of contenders) {
      if (kase.mode !== "stream" || c.allocEnv === undefined) continue;
      if (unavailable.has(c.id) || !runsCase(c, kase) || entry(c.id).failures.length > 0) continue;
      const outcome = await runPair(c, kase, { env: c.allocEnv });
      if (!outcome.ok || outcome.result === undefined) {
        entry(c.id).failures.push(outcome.error);
        noteFailure(c, "alloc run", outcome.error);
        continue;
      }
      passed++;
      entry(c.id).allocRuns = [/** @type {Record<string, number>} */ (outcome.result)];
      console.log(`  alloc run  ${c.id.padEnd(12)} ${describe(outcome.result)}`);
    }
    result.loadAfter = loadavg();
  }

  const cpu = cpus();
  const report = {
    startedAt: new Date(started).toISOString(),
    minutes: (Date.now() - started) / 60_000,
    quick: opts.quick,
    runs,
    machine: `${
      cpu[0]?.model.trim() ?? "unknown CPU"
    }, ${cpu.length} cores, ${osType()} ${release()}`,
    versions: versions(),
    contenders: contenders.map((c) => ({ id: c.id, label: c.label })),
    unavailable: Object.fromEntries(unavailable),
    cases: results,
  };
  console.log(`\n${resultsMarkdown(report)}`);
  if (write) {
    console.log(writeResults(report, REPORT_DIR, join(ROOT, "README.md")));
  }
  console.log(`bench: ${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

try {
  process.exitCode = await main();
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 2;
}
