// Plain JavaScript so that Node 20 runs it; JSDoc carries the types, which this lint rule cannot read.
// deno-lint-ignore-file explicit-module-boundary-types
/**
 * Turns the measurements of a run into Markdown: `docs/bench/results.md`
 * (everything) and the README's performance block (between
 * `<!-- bench:start -->` and `<!-- bench:end -->`; the rest of the README is
 * left alone).
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RUNTIMES } from "./contenders.mjs";

/**
 * What one case measured for one contender: the client results of every
 * successful run, and the errors of the failed ones.
 *
 * @typedef {object} CaseEntry
 * @property {Array<Record<string, number>>} runs
 * @property {string[]} failures
 * @property {Array<Record<string, number>>} [allocRuns] runs that only counted allocations
 *   (their speed is not the contender's: see `allocEnv` in contenders.mjs)
 */

/**
 * @typedef {object} CaseResult
 * @property {import("./cases.mjs").BenchCase} kase
 * @property {number[]} loadBefore os.loadavg() when the case started
 * @property {number[]} loadAfter os.loadavg() when it ended
 * @property {Record<string, CaseEntry>} entries by contender id (idle: `<id>` and `<id>-baseline`)
 */

/**
 * @typedef {object} BenchReport
 * @property {string} startedAt ISO time
 * @property {number} minutes wall time of the whole run
 * @property {boolean} quick
 * @property {number} runs runs per case
 * @property {string} machine CPU model, cores, OS
 * @property {Record<string, string>} versions
 * @property {Array<{ id: string, label: string }>} contenders every contender that was chosen
 * @property {Record<string, string>} unavailable why a contender could not run at all, by id
 * @property {CaseResult[]} cases
 */

/**
 * `text` as `deno fmt` (line width 100, as in deno.json) formats a file of
 * type `ext`, so that generated files pass `deno fmt --check`; unchanged if
 * Deno cannot run.
 *
 * @param {string} text
 * @param {"md" | "json"} [ext]
 * @returns {string}
 */
export function formatLikeDeno(text, ext = "md") {
  const dir = mkdtempSync(join(tmpdir(), "tofu-bench-fmt-"));
  try {
    const file = join(dir, `generated.${ext}`);
    writeFileSync(file, text);
    const r = spawnSync(RUNTIMES.deno, ["fmt", "--quiet", "--line-width=100", file], {
      encoding: "utf8",
    });
    return r.status === 0 ? readFileSync(file, "utf8") : text;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The README markers between which the results block goes. */
export const README_START = "<!-- bench:start -->";
/** End marker of the README block. */
export const README_END = "<!-- bench:end -->";

/**
 * @param {number[]} values
 * @returns {number}
 */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? /** @type {number} */ (sorted[mid])
    : (/** @type {number} */ (sorted[mid - 1]) + /** @type {number} */ (sorted[mid])) / 2;
}

/**
 * @param {number} x
 * @returns {string}
 */
function rate(x) {
  if (x >= 1e6) return `${(x / 1e6).toFixed(x >= 1e7 ? 1 : 2)} M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(x >= 1e5 ? 0 : 1)} k`;
  return x.toFixed(0);
}

/**
 * @param {number} x
 * @returns {string}
 */
function micros(x) {
  return x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

/**
 * Median of field `key` over the runs of an entry, or undefined.
 *
 * @param {CaseEntry | undefined} entry
 * @param {string} key
 * @returns {number | undefined}
 */
function med(entry, key) {
  if (entry === undefined || entry.runs.length === 0) return undefined;
  return median(entry.runs.map((r) => /** @type {number} */ (r[key])));
}

/**
 * "median [min–max]" of `key`, or why there is no value.
 *
 * @param {CaseEntry | undefined} entry
 * @param {string} key
 * @param {(x: number) => string} format
 * @returns {string}
 */
function spreadCell(entry, key, format) {
  if (entry === undefined) return "–";
  if (entry.runs.length === 0) return entry.failures.length > 0 ? "failed" : "–";
  const values = entry.runs.map((r) => /** @type {number} */ (r[key]));
  const m = format(median(values));
  if (values.length === 1) return m;
  return `${m} [${format(Math.min(...values))}–${format(Math.max(...values))}]`;
}

/**
 * @param {BenchReport} report
 * @param {string} name
 * @returns {CaseResult | undefined}
 */
function caseNamed(report, name) {
  return report.cases.find((c) => c.kase.name === name);
}

const COLUMNS = [
  { suffix: "tcp-64", title: "TCP 64 B" },
  { suffix: "uds-64", title: "UDS 64 B" },
  { suffix: "tcp-4k", title: "TCP 4 KiB" },
  { suffix: "uds-4k", title: "UDS 4 KiB" },
];

/**
 * One table: a row per contender, a column per transport and size.
 *
 * @param {BenchReport} report
 * @param {"pingpong" | "stream"} mode
 * @param {(entry: CaseEntry | undefined) => string} cell
 * @returns {string[]}
 */
function table(report, mode, cell) {
  const columns = COLUMNS.filter((col) => caseNamed(report, `${mode}-${col.suffix}`) !== undefined);
  if (columns.length === 0) return [];
  const lines = [
    `| contender | ${columns.map((c) => c.title).join(" | ")} |`,
    `|---|${columns.map(() => "--:").join("|")}|`,
  ];
  for (const contender of report.contenders) {
    const cells = columns.map((col) =>
      cell(caseNamed(report, `${mode}-${col.suffix}`)?.entries[contender.id])
    );
    if (cells.every((c) => c === "–")) continue;
    lines.push(`| ${contender.label} | ${cells.join(" | ")} |`);
  }
  return lines;
}

/**
 * @param {number | undefined} value
 * @param {number | undefined} base
 * @returns {number | undefined}
 */
function ratio(value, base) {
  return value === undefined || base === undefined || base === 0 ? undefined : value / base;
}

/**
 * @param {number | undefined} value
 * @param {number} target
 * @param {(x: number) => string} format
 * @param {boolean} [below] the goal is to stay below the target
 * @returns {string}
 */
function verdict(value, target, format, below = false) {
  if (value === undefined) return "n/a";
  const met = below ? value < target : value >= target;
  return `${format(value)} ${met ? "**met**" : "not met"}`;
}

/**
 * The goals of issues 6 and 11, each with the ratio measured in this run.
 *
 * @param {BenchReport} report
 * @returns {string[]}
 */
function goalsTable(report) {
  const x = (/** @type {number} */ v) => `${v.toFixed(2)}x`;
  const value = (/** @type {string} */ name, /** @type {string} */ id) =>
    med(caseNamed(report, name)?.entries[id], "perSec");
  const lines = ["| goal | TCP | UDS | target |", "|---|--:|--:|--:|"];
  /**
   * @param {string} goal
   * @param {(transport: string) => string} cell
   * @param {string} target
   */
  const row = (goal, cell, target) =>
    lines.push(`| ${goal} | ${cell("tcp")} | ${cell("uds")} | ${target} |`);
  for (const size of ["64", "4k"]) {
    const label = size === "64" ? "64 B" : "4 KiB";
    row(
      `ping-pong ${label}: tofu on Bun ÷ Bun.listen`,
      (t) =>
        verdict(
          ratio(
            value(`pingpong-${t}-${size}`, "tofu-bun"),
            value(`pingpong-${t}-${size}`, "bun-net"),
          ),
          1.0,
          x,
        ),
      ">= 1.0x",
    );
    row(
      `ping-pong ${label}: tofu on Deno ÷ Deno.listen`,
      (t) =>
        verdict(
          ratio(
            value(`pingpong-${t}-${size}`, "tofu-deno"),
            value(`pingpong-${t}-${size}`, "deno-net"),
          ),
          1.2,
          x,
        ),
      ">= 1.2x",
    );
  }
  for (const [id, name] of [["tofu-bun", "Bun"], ["tofu-deno", "Deno"]]) {
    row(
      `streaming 64 B: tofu on ${name}, messages/s`,
      (t) => verdict(value(`stream-${t}-64`, /** @type {string} */ (id)), 3e6, rate),
      ">= 3 M",
    );
    row(
      `streaming 64 B: tofu on ${name} ÷ zeromq on Node`,
      (t) =>
        verdict(
          ratio(
            value(`stream-${t}-64`, /** @type {string} */ (id)),
            value(`stream-${t}-64`, "zeromq-node"),
          ),
          15,
          x,
        ),
      ">= 15x",
    );
  }
  for (
    const [id, net, name] of [["tofu-bun", "bun-net", "Bun"], ["tofu-deno", "deno-net", "Deno"]]
  ) {
    const ours = /** @type {string} */ (id);
    const theirs = /** @type {string} */ (net);
    row(
      `streaming 4 KiB: tofu on ${name} ÷ ${name}.listen`,
      (t) => verdict(ratio(value(`stream-${t}-4k`, ours), value(`stream-${t}-4k`, theirs)), 0.8, x),
      ">= 0.8x",
    );
  }
  // Issue 11: streaming against the runtime's own sockets, for both consumers.
  for (
    const [id, net, name] of [["tofu-bun", "bun-net", "Bun"], ["tofu-deno", "deno-net", "Deno"]]
  ) {
    const ours = /** @type {string} */ (id);
    const theirs = /** @type {string} */ (net);
    /** @type {Array<[string, string, string, number]>} */
    const goals = [
      ["64", "batch receive", `${ours}-batch`, 0.5],
      ["64", "one waitReceive per message", ours, 0.3],
      ["4k", "batch receive", `${ours}-batch`, 1.0],
      ["4k", "one waitReceive per message", ours, 1.0],
    ];
    for (const [size, consumer, contender, target] of goals) {
      const label = size === "64" ? "64 B" : "4 KiB";
      row(
        `streaming ${label}, ${consumer}: tofu on ${name} ÷ ${name}.listen`,
        (t) =>
          verdict(
            ratio(value(`stream-${t}-${size}`, contender), value(`stream-${t}-${size}`, theirs)),
            target,
            x,
          ),
        `>= ${target.toFixed(1)}x`,
      );
    }
  }
  const idle = caseNamed(report, "idle");
  if (idle !== undefined) {
    const pct = (/** @type {number} */ v) => `${v.toFixed(2)} %`;
    const cpu = (/** @type {string} */ id) =>
      verdict(med(idle.entries[id], "cpuPercent"), 0.5, pct, true);
    lines.push(
      `| idle engine, CPU over ${idle.kase.count} s (Deno / Bun) | ${cpu("tofu-deno")} | ${
        cpu("tofu-bun")
      } | < 0.5 % |`,
    );
  }
  return lines;
}

/**
 * The goals of issue 10 (cost per wake-up), each with the ratio measured in
 * this run: paced round trips (CPU and p50 latency against the runtime's own
 * sockets), saturated ping-pong, and idle channels per backend.
 *
 * @param {BenchReport} report
 * @returns {string[]}
 */
function wakeGoalsTable(report) {
  const x = (/** @type {number} */ v) => `${v.toFixed(2)}x`;
  const field = (/** @type {string} */ name, /** @type {string} */ id, /** @type {string} */ key) =>
    med(caseNamed(report, name)?.entries[id], key);
  const lines = ["| goal | TCP | UDS | target |", "|---|--:|--:|--:|"];
  const pairs = /** @type {const} */ ([["tofu-bun", "bun-net", "Bun"], [
    "tofu-deno",
    "deno-net",
    "Deno",
  ]]);
  for (const rate of ["1k", "10k"]) {
    if (caseNamed(report, `paced${rate}-tcp-64`) === undefined) continue;
    const offered = rate === "1k" ? "1 000/s" : "10 000/s";
    for (const [ours, theirs, name] of pairs) {
      for (const [key, what] of [["cpuUs", "CPU per round trip"], ["p50Us", "p50 latency"]]) {
        const cell = (/** @type {string} */ t) =>
          verdict(
            ratio(
              field(`paced${rate}-${t}-64`, ours, key),
              field(`paced${rate}-${t}-64`, theirs, key),
            ),
            1.0001,
            x,
            true,
          );
        lines.push(
          `| paced ${offered}, ${what}: tofu on ${name} ÷ ${name}'s sockets | ${cell("tcp")} | ${
            cell("uds")
          } | <= 1.0x |`,
        );
      }
    }
  }
  for (const [ours, theirs, name] of pairs) {
    for (const size of ["64", "4k"]) {
      const cell = (/** @type {string} */ t) =>
        verdict(
          ratio(
            field(`pingpong-${t}-${size}`, ours, "perSec"),
            field(`pingpong-${t}-${size}`, theirs, "perSec"),
          ),
          1.0,
          x,
        );
      const label = size === "64" ? "64 B" : "4 KiB";
      lines.push(
        `| saturated ping-pong ${label}: tofu on ${name} ÷ ${name}'s sockets, round trips/s | ${
          cell("tcp")
        } | ${cell("uds")} | >= 1.0x |`,
      );
    }
  }
  if (caseNamed(report, "crowd1000-tcp-64") !== undefined) {
    for (
      const [id, name, target] of /** @type {const} */ ([
        ["tofu-bun", "Bun, epoll", 0.9],
        ["tofu-deno", "Deno, epoll", 0.9],
        ["tofu-bun-poll", "Bun, poll", 0.3],
        ["tofu-deno-poll", "Deno, poll", 0.3],
      ])
    ) {
      const value = ratio(
        field("crowd1000-tcp-64", id, "perSec"),
        field("crowd0-tcp-64", id, "perSec"),
      );
      lines.push(
        `| one active beside 1000 idle channels ÷ alone, round trips/s (${name}) | ${
          verdict(value, target, x)
        } | – | >= ${target}x |`,
      );
    }
  }
  return lines;
}

/**
 * Paced round trips: p50 / p99 latency and CPU per round trip, per contender.
 *
 * @param {BenchReport} report
 * @returns {string[]}
 */
function pacedTable(report) {
  const names = ["paced1k-tcp-64", "paced1k-uds-64", "paced10k-tcp-64", "paced10k-uds-64"]
    .filter((n) => caseNamed(report, n) !== undefined);
  if (names.length === 0) return [];
  const lines = [
    `| contender | ${names.join(" | ")} |`,
    `|---|${names.map(() => "--:").join("|")}|`,
  ];
  for (const contender of report.contenders) {
    const cells = names.map((n) => {
      const e = caseNamed(report, n)?.entries[contender.id];
      const p50 = med(e, "p50Us");
      const p99 = med(e, "p99Us");
      const cpu = med(e, "cpuUs");
      if (p50 === undefined || p99 === undefined) return e === undefined ? "–" : "failed";
      return `${micros(p50)} / ${micros(p99)} / ${cpu === undefined ? "n/a" : micros(cpu)}`;
    });
    if (cells.every((c) => c === "–")) continue;
    lines.push(`| ${contender.label} | ${cells.join(" | ")} |`);
  }
  return lines;
}

/**
 * One active channel beside idle ones: round trips/s and CPU per round trip.
 *
 * @param {BenchReport} report
 * @returns {string[]}
 */
function crowdTable(report) {
  const names = ["crowd0-tcp-64", "crowd1000-tcp-64"].filter((n) =>
    caseNamed(report, n) !== undefined
  );
  if (names.length === 0) return [];
  const lines = [
    "| contender | alone | beside 1000 idle channels |",
    "|---|--:|--:|",
  ];
  for (const contender of report.contenders) {
    const cells = names.map((n) => {
      const e = caseNamed(report, n)?.entries[contender.id];
      const v = med(e, "perSec");
      const cpu = med(e, "cpuUs");
      if (v === undefined) return e === undefined ? "–" : "failed";
      return `${rate(v)} rt/s, ${cpu === undefined ? "n/a" : micros(cpu)} µs`;
    });
    if (cells.every((c) => c === "–")) continue;
    lines.push(`| ${contender.label} | ${cells.join(" | ")} |`);
  }
  return lines;
}

/**
 * @param {BenchReport} report
 * @returns {string[]}
 */
function idleTable(report) {
  const idle = caseNamed(report, "idle");
  if (idle === undefined) return [];
  const pct = (/** @type {number} */ v) => `${v.toFixed(2)} %`;
  const lines = [
    `| runtime | engine with a listener and an idle client | the runtime alone (no engine) |`,
    "|---|--:|--:|",
  ];
  for (const [id, name] of [["tofu-deno", "Deno"], ["tofu-bun", "Bun"]]) {
    const engine = idle.entries[/** @type {string} */ (id)];
    if (engine === undefined) continue;
    lines.push(
      `| ${name} | ${spreadCell(engine, "cpuPercent", pct)} | ${
        spreadCell(idle.entries[`${id}-baseline`], "cpuPercent", pct)
      } |`,
    );
  }
  return lines;
}

/**
 * Why contenders could not run, or failed in some cases.
 *
 * @param {BenchReport} report
 * @returns {string[]}
 */
function failureList(report) {
  const lines = [];
  for (const contender of report.contenders) {
    const whole = report.unavailable[contender.id];
    if (whole !== undefined) {
      lines.push(`- **${contender.label}** did not run: ${whole}`);
      continue;
    }
    const failed = report.cases.flatMap((c) => {
      const entry = c.entries[contender.id];
      return entry === undefined || entry.failures.length === 0
        ? []
        : [`${c.kase.name}: ${entry.failures[0]}`];
    });
    if (failed.length > 0) lines.push(`- **${contender.label}** failed in ${failed.join("; ")}`);
  }
  return lines;
}

/**
 * The tables every output shares.
 *
 * @param {BenchReport} report
 * @returns {string[]}
 */
function coreTables(report) {
  const pingRate = table(report, "pingpong", (e) => spreadCell(e, "perSec", rate));
  const streamRate = table(report, "stream", (e) => spreadCell(e, "perSec", rate));
  const cpu = (/** @type {CaseEntry | undefined} */ e) => {
    const v = med(e, "cpuUs");
    return v === undefined ? (e === undefined ? "–" : "n/a") : micros(v);
  };
  const pingCpu = table(report, "pingpong", cpu);
  const streamCpu = table(report, "stream", cpu);
  const paced = pacedTable(report);
  const crowd = crowdTable(report);
  const wake = wakeGoalsTable(report);
  const alloc = table(report, "stream", (e) => {
    const counted = e?.allocRuns === undefined ? e : { runs: e.allocRuns, failures: [] };
    const client = med(counted, "allocClient");
    const server = med(counted, "allocServer");
    if (!Number.isFinite(client) || !Number.isFinite(server)) return "–";
    return `${Number(client).toFixed(0)} / ${Number(server).toFixed(0)}`;
  });
  return [
    ...(wake.length > 2
      ? ["Cost per wake-up (issue 10; ratios of medians within this run):", "", ...wake, ""]
      : []),
    ...(paced.length > 0
      ? [
        "Paced 64 B round trips (the client offers 1 000 or 10 000 per second: a timer paces gaps of",
        "1 ms, `Atomics.wait` shorter ones), p50 / p99 latency and CPU per round trip in µs",
        "(server + client, from the kernel's accounting; medians of the runs):",
        "",
        ...paced,
        "",
      ]
      : []),
    ...(crowd.length > 0
      ? [
        "Saturated 64 B ping-pong on one TCP channel, alone and beside 1000 idle channels (round trips/s,",
        "CPU per round trip):",
        "",
        ...crowd,
        "",
      ]
      : []),
    "Throughput goals (ratios of medians within this run):",
    "",
    ...goalsTable(report),
    "",
    ...(pingRate.length > 0
      ? ["Ping-pong, round trips/s (median [min–max] of the runs):", "", ...pingRate, ""]
      : []),
    ...(streamRate.length > 0
      ? ["Streaming, messages/s (median [min–max] of the runs):", "", ...streamRate, ""]
      : []),
    ...(pingCpu.length > 0
      ? ["Ping-pong, CPU µs per round trip (server + client, medians):", "", ...pingCpu, ""]
      : []),
    ...(streamCpu.length > 0
      ? ["Streaming, CPU µs per message (sender + receiver, medians):", "", ...streamCpu, ""]
      : []),
    ...(alloc.length > 2
      ? [
        "Streaming, bytes allocated on the JS heap per message in the timed phase, client / server",
        "(goal 0; medians of the runs on Deno; on Bun one run of its own, since its GC log slows it;",
        "how they are counted: `scripts/bench/alloc_stats.mjs`):",
        "",
        ...alloc,
        "",
      ]
      : []),
  ];
}

/**
 * @param {BenchReport} report
 * @returns {string}
 */
function header(report) {
  const loads = report.cases.flatMap((c) => [c.loadBefore[0] ?? 0, c.loadAfter[0] ?? 0]);
  const load = loads.length === 0
    ? "n/a"
    : `${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}`;
  return [
    `Run of ${report.startedAt} on ${report.machine}; ${report.runs} run(s) per case${
      report.quick ? " (smoke counts, not comparable)" : ""
    }, ${report.minutes.toFixed(1)} min in all.`,
    `Load average (1 min) seen during the run: ${load} — other jobs shared the machine, so absolute`,
    "figures are noisy; the ratios compare contenders measured side by side (runs interleaved).",
  ].join("\n");
}

/**
 * The complete results document.
 *
 * @param {BenchReport} report
 * @returns {string}
 */
export function resultsMarkdown(report) {
  const latency = table(report, "pingpong", (e) => {
    const p50 = med(e, "p50Us");
    const p99 = med(e, "p99Us");
    if (p50 === undefined || p99 === undefined) return e === undefined ? "–" : "failed";
    return `${micros(p50)} / ${micros(p99)}`;
  });
  const mb = table(report, "stream", (e) => {
    const v = med(e, "mbPerSec");
    return v === undefined ? (e === undefined ? "–" : "failed") : `${v.toFixed(v >= 100 ? 0 : 1)}`;
  });
  const failures = failureList(report);
  const idle = idleTable(report);
  const loadLines = report.cases.map((c) =>
    `| ${c.kase.name} | ${(c.loadBefore[0] ?? 0).toFixed(2)} | ${
      (c.loadAfter[0] ?? 0).toFixed(2)
    } |`
  );
  return [
    "# Benchmark results",
    "",
    "Generated by `node scripts/bench/main.mjs` (see `scripts/bench/main.mjs` for what is measured and how);",
    "do not edit by hand.",
    "",
    header(report),
    "",
    `Versions: ${Object.entries(report.versions).map(([k, v]) => `${k}: ${v}`).join("; ")}.`,
    "",
    ...coreTables(report),
    ...(latency.length > 0
      ? ["Ping-pong latency, p50 / p99 in µs (medians of the runs):", "", ...latency, ""]
      : []),
    ...(mb.length > 0
      ? ["Streaming, MB/s of body bytes (medians of the runs):", "", ...mb, ""]
      : []),
    ...(idle.length > 0
      ? ["Idle CPU (process.cpuUsage over the interval, % of one core):", "", ...idle, ""]
      : []),
    ...(failures.length > 0 ? ["Contenders that failed:", "", ...failures, ""] : []),
    "Load average (1 min) per case:",
    "",
    "| case | at start | at end |",
    "|---|--:|--:|",
    ...loadLines,
    "",
  ].join("\n");
}

/**
 * The README block (without the markers).
 *
 * @param {BenchReport} report
 * @returns {string}
 */
export function readmeBlock(report) {
  const failures = failureList(report);
  return [
    header(report),
    "",
    ...coreTables(report),
    ...(failures.length > 0 ? ["Contenders that failed:", "", ...failures, ""] : []),
    "Latency percentiles, MB/s, idle CPU and load: [docs/bench/results.md](docs/bench/results.md).",
    "Run it yourself: `npm run bench` or `deno task bench` (5–10 minutes; `--quick`: a smoke run).",
  ].join("\n");
}

/**
 * Writes results.md and results.json under `benchDir` and replaces the
 * README block of `readmePath`. Returns what happened to the README.
 *
 * @param {BenchReport} report
 * @param {string} benchDir
 * @param {string} readmePath
 * @returns {string}
 */
export function writeResults(report, benchDir, readmePath) {
  writeFileSync(join(benchDir, "results.md"), formatLikeDeno(resultsMarkdown(report)));
  writeFileSync(
    join(benchDir, "results.json"),
    formatLikeDeno(`${JSON.stringify(report, null, 2)}\n`, "json"),
  );
  if (!existsSync(readmePath)) return `${readmePath} does not exist: README not updated`;
  const readme = readFileSync(readmePath, "utf8");
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start < 0 || end < start) {
    return `${readmePath} has no ${README_START} ... ${README_END} markers: README not updated`;
  }
  const block = formatLikeDeno(readmeBlock(report)).trimEnd();
  const updated = `${readme.slice(0, start + README_START.length)}\n\n${block}\n\n${
    readme.slice(end)
  }`;
  writeFileSync(readmePath, updated);
  return `${readmePath}: results block updated`;
}
