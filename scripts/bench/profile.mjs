#!/usr/bin/env node
/**
 * Where the time goes: profiles tofu on Deno and on Bun in chosen benchmark
 * cases (default: ping-pong and streaming, TCP, 64 B) and writes
 * `docs/bench/profile.md`. For each contender and case, four runs of the
 * same server/client pair as the benchmark:
 *
 * 1. `--cpu-prof` on both processes: functions ranked by self time, with
 *    their cost per message (self time / messages handled);
 * 2. native calls counted (`native_call_counter.ts`): FFI calls, parks and
 *    scheduled turns per message;
 * 3. `perf stat`: syscalls (by kind), context switches and CPU time per message;
 * 4. `perf record -e cpu-clock`: CPU time split by binary (runtime, libtofu,
 *    kernel, libc);
 * 5. the counted run again with the engine's spin off (`spinMicros: 0`), to
 *    show what parking costs; on Deno a `--trace-gc` run for the GC pauses and
 *    the bytes allocated per message.
 *
 * The runtimes' own sockets get runs 3 and 4 too, as the baseline.
 *
 * Usage: node scripts/bench/profile.mjs [--only tofu-deno,tofu-bun] [--case pingpong-tcp-64,stream-tcp-64]
 *        [--baseline deno-net,bun-net] [--top 15] [--no-perf]
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { allCases } from "./cases.mjs";
import { CACHE, CONTENDERS, prepare, ROOT } from "./contenders.mjs";
import { summarizeProfile } from "./cpuprofile_summary.mjs";
import { formatLikeDeno } from "./results_writer.mjs";
import { runPair } from "./runner.mjs";

/** @typedef {import("./contenders.mjs").Contender} Contender */
/** @typedef {import("./cases.mjs").BenchCase} BenchCase */

const COUNTS_PREFIX = "NATIVE-CALLS ";
const SYSCALLS = [
  "epoll_wait",
  "epoll_pwait",
  "epoll_pwait2",
  "epoll_ctl",
  "sendto",
  "recvfrom",
  "write",
  "writev",
  "read",
  "futex",
  "sched_yield",
];
const PERF_EVENTS = [
  "task-clock",
  "context-switches",
  "raw_syscalls:sys_enter",
  ...SYSCALLS.map((s) => `syscalls:sys_enter_${s}`),
];

/**
 * @param {string[]} argv
 */
function parseArgs(argv) {
  const opts = {
    only: ["tofu-deno", "tofu-bun"],
    cases: ["pingpong-tcp-64", "stream-tcp-64"],
    baseline: ["deno-net", "bun-net"],
    top: 15,
    perf: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`The option ${arg} needs a value`);
      return v;
    };
    if (arg === "--only") opts.only = next().split(",");
    else if (arg === "--case") opts.cases = next().split(",");
    else if (arg === "--baseline") opts.baseline = next().split(",").filter((s) => s !== "");
    else if (arg === "--top") opts.top = Number(next());
    else if (arg === "--no-perf") opts.perf = false;
    else {throw new Error(
        `Unknown option "${arg}" (see the usage at the top of scripts/bench/profile.mjs)`,
      );}
  }
  return opts;
}

/**
 * @param {string} id
 * @returns {Contender}
 */
function contenderNamed(id) {
  const c = CONTENDERS.find((x) => x.id === id);
  if (c === undefined) {
    throw new Error(`Unknown contender "${id}"; known: ${CONTENDERS.map((x) => x.id).join(", ")}`);
  }
  return c;
}

/**
 * @param {string} name
 * @returns {BenchCase}
 */
function caseNamed(name) {
  const k = allCases(false).find((x) => x.name === name);
  if (k === undefined || k.mode === "idle") {
    throw new Error(`Unknown case "${name}" (see scripts/bench/main.mjs --list)`);
  }
  return k;
}

/**
 * The one .cpuprofile a process wrote into `dir`.
 *
 * @param {string} dir
 * @returns {string | undefined}
 */
function profileIn(dir) {
  if (!existsSync(dir)) return undefined;
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  return file === undefined ? undefined : join(dir, file);
}

/**
 * Counts of a `perf stat -x,` output file, by event name.
 *
 * @param {string} path
 * @returns {Map<string, number>}
 */
function perfStat(path) {
  /** @type {Map<string, number>} */
  const counts = new Map();
  if (!existsSync(path)) return counts;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const fields = line.split(",");
    if (fields.length < 3 || line.startsWith("#")) continue;
    const value = Number(fields[0]);
    if (Number.isFinite(value)) counts.set(/** @type {string} */ (fields[2]), value);
  }
  return counts;
}

/**
 * Share of CPU samples per binary (`perf report --sort dso`).
 *
 * @param {string} path
 * @returns {Map<string, number>}
 */
function perfDso(path) {
  /** @type {Map<string, number>} */
  const shares = new Map();
  if (!existsSync(path)) return shares;
  const r = spawnSync("perf", ["report", "-i", path, "--sort", "dso", "--stdio", "-q"], {
    encoding: "utf8",
  });
  for (const line of (r.stdout ?? "").split("\n")) {
    const m = /^\s*([\d.]+)%\s+(.+?)\s*$/.exec(line);
    if (m !== null) shares.set(/** @type {string} */ (m[2]), Number(m[1]));
  }
  return shares;
}

/**
 * @param {number} x
 * @returns {string}
 */
function fixed(x) {
  if (x === 0) return "0";
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 0.1 ? x.toFixed(2) : x.toFixed(3);
}

/**
 * @param {Record<string, number | string | boolean> | undefined} result
 * @returns {string}
 */
function rateOf(result) {
  if (result === undefined) return "failed";
  const perSec = Number(result.perSec);
  const unit = result.mode === "pingpong" ? "rt/s" : "msg/s";
  const text = perSec >= 1e6 ? `${(perSec / 1e6).toFixed(2)} M` : `${(perSec / 1e3).toFixed(1)} k`;
  return result.mode === "pingpong"
    ? `${text} ${unit}, p50 ${Number(result.p50Us).toFixed(0)} µs, p99 ${
      Number(result.p99Us).toFixed(0)
    } µs`
    : `${text} ${unit}`;
}

/**
 * Two-column (client, server) table from per-role maps of numbers.
 *
 * @param {string} title first column heading
 * @param {{ client: Map<string, number>, server: Map<string, number> }} values
 * @param {(x: number) => string} format
 * @param {string[]} [order] row order (default: by client value)
 * @returns {string[]}
 */
function roleTable(title, values, format, order) {
  const names = order ?? [...new Set([...values.client.keys(), ...values.server.keys()])]
    .sort((a, b) => (values.client.get(b) ?? 0) - (values.client.get(a) ?? 0));
  const lines = [`| ${title} | client | server |`, "|---|--:|--:|"];
  for (const name of names) {
    const c = values.client.get(name);
    const s = values.server.get(name);
    if ((c ?? 0) === 0 && (s ?? 0) === 0) continue;
    lines.push(
      `| ${name} | ${c === undefined ? "–" : format(c)} | ${s === undefined ? "–" : format(s)} |`,
    );
  }
  return lines;
}

/**
 * How counts are expressed: per round trip for ping-pong, per 1000 messages
 * for streaming (where most counts are far below one per message).
 *
 * @param {BenchCase} kase
 * @returns {{ scale: number, unit: string }}
 */
function countUnit(kase) {
  return kase.mode === "pingpong"
    ? { scale: 1, unit: "round trip" }
    : { scale: 1000, unit: "1000 messages" };
}

/**
 * perf stat and perf record of one contender in one case.
 *
 * @param {Contender} contender
 * @param {BenchCase} kase
 * @param {string} dir
 * @param {number} messages
 * @returns {Promise<string[]>}
 */
async function perfSection(contender, kase, dir, messages) {
  const statRun = await runPair(contender, kase, {
    wrapper: (
      role,
    ) => [
      "perf",
      "stat",
      "-x",
      ",",
      "-o",
      join(dir, `${role}.perfstat`),
      "-e",
      PERF_EVENTS.join(","),
      "--",
    ],
  });
  const recordRun = await runPair(contender, kase, {
    wrapper: (
      role,
    ) => [
      "perf",
      "record",
      "-q",
      "-e",
      "cpu-clock",
      "-F",
      "1999",
      "-o",
      join(dir, `${role}.perf.data`),
      "--",
    ],
  });
  const stat = {
    client: perfStat(join(dir, "client.perfstat")),
    server: perfStat(join(dir, "server.perfstat")),
  };
  /** @type {{ client: Map<string, number>, server: Map<string, number> }} */
  const perMessage = { client: new Map(), server: new Map() };
  for (const role of /** @type {const} */ (["client", "server"])) {
    for (const [event, value] of stat[role]) {
      const name = event === "task-clock"
        ? "CPU µs (task-clock)"
        : event === "raw_syscalls:sys_enter"
        ? "syscalls (all)"
        : event.replace("syscalls:sys_enter_", "");
      perMessage[role].set(
        name,
        event === "task-clock"
          ? (value * 1000) / messages
          : (value * countUnit(kase).scale) / messages,
      );
    }
  }
  const order = ["CPU µs (task-clock)", "context-switches", "syscalls (all)", ...SYSCALLS];
  const dso = {
    client: perfDso(join(dir, "client.perf.data")),
    server: perfDso(join(dir, "server.perf.data")),
  };
  return [
    `perf stat run: ${statRun.ok ? rateOf(statRun.result) : `failed (${statRun.error})`}. ` +
    `CPU µs per ${kase.mode === "pingpong" ? "round trip" : "message"}, counts per ${
      countUnit(kase).unit
    }:`,
    "",
    ...roleTable("event", perMessage, fixed, order),
    "",
    `perf record (cpu-clock) run: ${
      recordRun.ok ? rateOf(recordRun.result) : `failed (${recordRun.error})`
    }. CPU samples by binary, %:`,
    "",
    ...roleTable(
      "binary",
      { client: topOf(dso.client, 6), server: topOf(dso.server, 6) },
      (x) => x.toFixed(1),
    ),
    "",
  ];
}

/**
 * The `n` largest entries.
 *
 * @param {Map<string, number>} map
 * @param {number} n
 * @returns {Map<string, number>}
 */
function topOf(map, n) {
  return new Map([...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, n));
}

/**
 * What V8's --trace-gc lines say: collections, their pause time, and the
 * bytes allocated between them (heap size before a collection minus after
 * the previous one; MB resolution, so roughly ±0.1 MB per collection).
 *
 * @param {string} stdout
 * @returns {{ scavenges: number, fullGcs: number, pauseMs: number, allocatedMb: number }}
 */
function traceGc(stdout) {
  const re =
    /: (Scavenge|Mark-Compact|Mark-Sweep|Minor Mark-Sweep)[^\d]*([\d.]+) \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB, pooled: [\d.]+ MB, ([\d.]+) \/ [\d.]+ ms/;
  let scavenges = 0;
  let fullGcs = 0;
  let pauseMs = 0;
  let allocatedMb = 0;
  let after = -1;
  for (const line of stdout.split("\n")) {
    const m = re.exec(line);
    if (m === null) continue;
    if (m[1] === "Scavenge" || m[1] === "Minor Mark-Sweep") scavenges++;
    else fullGcs++;
    const before = Number(m[2]);
    if (after >= 0) allocatedMb += Math.max(0, before - after);
    after = Number(m[3]);
    pauseMs += Number(m[4]);
  }
  return { scavenges, fullGcs, pauseMs, allocatedMb };
}

/**
 * @param {Contender} contender
 * @param {BenchCase} kase
 * @param {string} dir
 * @param {{ top: number, perf: boolean }} opts
 * @returns {Promise<string[]>}
 */
async function profileTofu(contender, kase, dir, opts) {
  const messages = kase.count + kase.warmup;
  const unit = kase.mode === "pingpong" ? "round trip" : "message";
  const lines = [`### ${contender.label} — ${kase.name} (${messages} ${unit}s incl. warm-up)`, ""];
  const plain = await runPair(contender, kase);
  lines.push(`Plain run: ${plain.ok ? rateOf(plain.result) : `failed (${plain.error})`}.`);

  const profRun = await runPair(contender, kase, {
    runtimeFlags: (
      role,
    ) => ["--cpu-prof", `--cpu-prof-dir=${join(dir, role)}`, "--cpu-prof-interval=250"],
  });
  lines.push(
    `Profiled run (--cpu-prof, 250 µs sampling): ${
      profRun.ok ? rateOf(profRun.result) : `failed (${profRun.error})`
    }.`,
    "",
  );
  /** @type {Record<string, ReturnType<typeof summarizeProfile> | undefined>} */
  const summaries = {};
  for (const role of ["client", "server"]) {
    const file = profileIn(join(dir, role));
    summaries[role] = file === undefined ? undefined : summarizeProfile(file);
  }
  for (const role of ["client", "server"]) {
    const s = summaries[role];
    if (s === undefined) {
      lines.push(`No ${role} profile was written.`, "");
      continue;
    }
    const busy = s.sampledMs - s.idleMs;
    lines.push(
      `${role}: profile covers ${fixed(s.wallMs)} ms, ${fixed(s.idleMs)} ms idle, ${
        fixed(busy)
      } ms busy ` +
        `= ${fixed((busy * 1000) / messages)} µs busy per ${unit}. Top self time:`,
      "",
      `| function | self % of samples | µs per ${unit} |`,
      "|---|--:|--:|",
      ...s.functions.slice(0, opts.top).map((f) =>
        `| \`${f.name}\` | ${(f.share * 100).toFixed(1)} | ${fixed((f.ms * 1000) / messages)} |`
      ),
      "",
    );
  }

  const countRun = await runPair(contender, kase, { env: { TOFU_BENCH_COUNT_CALLS: "1" } });
  /** @type {{ client: Map<string, number>, server: Map<string, number> }} */
  const calls = { client: new Map(), server: new Map() };
  for (const role of /** @type {const} */ (["client", "server"])) {
    const line = countRun.stderr[role].split("\n").find((l) => l.startsWith(COUNTS_PREFIX));
    if (line === undefined) continue;
    const counts = JSON.parse(line.slice(COUNTS_PREFIX.length));
    for (const [name, n] of Object.entries(counts)) {
      const per = (Number(n) * countUnit(kase).scale) / messages;
      if (per >= 0.01) calls[role].set(name, per);
    }
  }
  lines.push(
    `Native calls per ${countUnit(kase).unit} (counted run: ${
      countRun.ok ? rateOf(countRun.result) : `failed (${countRun.error})`
    }; ` +
      "queueMicrotask = turns scheduled right away, the rest come from setImmediate):",
    "",
    ...roleTable("call", calls, fixed),
    "",
  );
  const noSpin = await runPair(contender, kase, {
    env: { TOFU_BENCH_COUNT_CALLS: "1", TOFU_BENCH_SPIN_MICROS: "0" },
  });
  /** @type {string[]} */
  const perRole = [];
  for (const role of /** @type {const} */ (["client", "server"])) {
    const line = noSpin.stderr[role].split("\n").find((l) => l.startsWith(COUNTS_PREFIX));
    if (line === undefined) continue;
    const counts = JSON.parse(line.slice(COUNTS_PREFIX.length));
    const per = (/** @type {string} */ k) =>
      fixed(((counts[k] ?? 0) * countUnit(kase).scale) / messages);
    perRole.push(`${role} ${per("pollerPark")} parks, ${per("pollerWait")} pollerWait`);
  }
  lines.push(
    `Without the spin (\`spinMicros: 0\`, counted): ${
      noSpin.ok ? rateOf(noSpin.result) : `failed (${noSpin.error})`
    }; ` +
      `per ${countUnit(kase).unit}: ${perRole.join("; ")}.`,
    "",
  );
  if (contender.runtime === "deno") {
    const gcRun = await runPair(contender, kase, { runtimeFlags: () => ["--v8-flags=--trace-gc"] });
    /** @type {string[]} */
    const gcLines = [];
    for (const role of /** @type {const} */ (["client", "server"])) {
      const gc = traceGc(gcRun.stdout[role]);
      gcLines.push(
        `${role}: ${gc.scavenges} scavenges + ${gc.fullGcs} full GCs, ${
          fixed(gc.pauseMs)
        } ms of pauses ` +
          `(${fixed((gc.pauseMs * 1000) / messages)} µs per ${unit}), about ` +
          `${fixed((gc.allocatedMb * 1e6) / messages)} bytes allocated per ${unit}`,
      );
    }
    lines.push(
      `Allocation (--v8-flags=--trace-gc run: ${
        gcRun.ok ? rateOf(gcRun.result) : `failed (${gcRun.error})`
      }): ` +
        `${gcLines.join("; ")}.`,
      "",
    );
  }
  if (opts.perf) lines.push(...(await perfSection(contender, kase, dir, messages)));
  return lines;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const contenders = opts.only.map(contenderNamed);
  const baselines = opts.baseline.map(contenderNamed);
  const cases = opts.cases.map(caseNamed);
  const unavailable = prepare([...contenders, ...baselines]);
  if (unavailable.size > 0) throw new Error(`Cannot run: ${[...unavailable.values()].join("; ")}`);
  const perfOk = opts.perf && spawnSync("perf", ["--version"]).status === 0;
  const root = join(CACHE, "profiles", new Date().toISOString().replace(/[:.]/g, "-"));
  const lines = [
    "# Profiles",
    "",
    "Generated by `node scripts/bench/profile.mjs` (see its header for the method); do not edit by hand.",
    `Run of ${new Date().toISOString()}, load average (1 min) ${
      loadavg()[0]?.toFixed(2)
    } at start; ` +
    `raw profiles in \`${root.slice(ROOT.length + 1)}\`.`,
    "Self time is attributed to the JS function on top of the stack; time in native code called from",
    "JS (FFI calls, syscalls) shows under the calling function or as `(program)`.",
    "",
  ];
  for (const kase of cases) {
    for (const contender of contenders) {
      const dir = join(root, `${contender.id}-${kase.name}`);
      mkdirSync(dir, { recursive: true });
      console.error(`profiling ${contender.id} ${kase.name} ...`);
      lines.push(...(await profileTofu(contender, kase, dir, { top: opts.top, perf: perfOk })));
    }
    if (!perfOk) continue;
    for (const contender of baselines) {
      const dir = join(root, `${contender.id}-${kase.name}`);
      mkdirSync(dir, { recursive: true });
      console.error(`measuring baseline ${contender.id} ${kase.name} ...`);
      lines.push(
        `### Baseline: ${contender.label} — ${kase.name}`,
        "",
        ...(await perfSection(contender, kase, dir, kase.count + kase.warmup)),
      );
    }
  }
  lines.push(`Load average (1 min) at the end: ${loadavg()[0]?.toFixed(2)}.`);
  const text = formatLikeDeno(`${lines.join("\n")}\n`);
  writeFileSync(join(ROOT, "docs", "bench", "profile.md"), text);
  console.log(text);
  // Keep only the latest raw profiles.
  for (const old of readdirSync(join(CACHE, "profiles"))) {
    if (join(CACHE, "profiles", old) !== root) {
      rmSync(join(CACHE, "profiles", old), { recursive: true, force: true });
    }
  }
}

try {
  await main();
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 2;
}
