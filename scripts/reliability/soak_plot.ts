/**
 * Draws the soak samples (CSV files written by scripts/reliability/soak.ts) as one SVG:
 * three panels over time — RSS (MB), open descriptors, throughput (msg/s) —
 * with one line per CSV file (one per runtime). No dependencies: the SVG is
 * written by hand.
 *
 * Usage: `deno run -A scripts/reliability/soak_plot.ts [--out .ci/out/soak.svg] [file.csv ...]`
 * (default: every `.ci/out/soak-*.csv`). Prints one line per file and the
 * SVG path; exits 1 when there is nothing to draw.
 *
 * @module
 */

import process from "node:process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

interface Series {
  name: string;
  t: number[];
  rss: number[];
  fds: number[];
  rate: number[];
}

function readSeries(path: string): Series {
  const [header, ...rows] = readFileSync(path, "utf8").trim().split("\n");
  const cols = header!.split(",");
  const col = (name: string) => {
    const i = cols.indexOf(name);
    if (i < 0) throw new Error(`${path} has no column "${name}" (columns: ${header})`);
    return rows.map((r) => Number(r.split(",")[i]));
  };
  return {
    name: basename(path, ".csv").replace(/^soak-/, ""),
    t: col("t_s"),
    rss: col("rss_mb"),
    fds: col("fds"),
    rate: col("msgs_per_s"),
  };
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
const WIDTH = 900;
const PANEL = 220;
const MARGIN = { left: 80, right: 150, top: 40, gap: 50 };

/** A "nice" upper bound and tick step for an axis from 0 to `max`. */
function axis(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw)!;
  return { top: Math.ceil(max / step) * step, step };
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;");
}

function panel(
  series: Series[],
  pick: (s: Series) => number[],
  title: string,
  y0: number,
  tMax: number,
): string {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const yMax = Math.max(...series.flatMap((s) => pick(s)));
  const { top, step } = axis(yMax * 1.1);
  const x = (t: number) => MARGIN.left + (t / tMax) * plotW;
  const y = (v: number) => y0 + PANEL - (v / top) * PANEL;
  const out: string[] = [];
  out.push(
    `<text x="${MARGIN.left}" y="${y0 - 10}" font-size="14" font-weight="bold">${
      escape(title)
    }</text>`,
  );
  out.push(
    `<rect x="${MARGIN.left}" y="${y0}" width="${plotW}" height="${PANEL}" fill="none" stroke="#999"/>`,
  );
  for (let v = 0; v <= top + step / 2; v += step) {
    out.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y(v)}" y2="${
        y(v)
      }" stroke="#eee"/>`,
    );
    const label = v >= 10_000 ? `${Math.round(v / 1000)}k` : `${Math.round(v * 10) / 10}`;
    out.push(
      `<text x="${MARGIN.left - 8}" y="${
        y(v) + 4
      }" font-size="11" text-anchor="end">${label}</text>`,
    );
  }
  const tStep = axis(tMax).step;
  for (let t = 0; t <= tMax + tStep / 2; t += tStep) {
    out.push(
      `<text x="${x(t)}" y="${y0 + PANEL + 16}" font-size="11" text-anchor="middle">${
        Math.round(t)
      } s</text>`,
    );
  }
  series.forEach((s, i) => {
    const values = pick(s);
    const points = s.t.map((t, k) => `${x(t).toFixed(1)},${y(values[k]!).toFixed(1)}`).join(" ");
    const color = COLORS[i % COLORS.length];
    out.push(`<polyline points="${points}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const [k, t] of s.t.entries()) {
      out.push(
        `<circle cx="${x(t).toFixed(1)}" cy="${
          y(values[k]!).toFixed(1)
        }" r="2.5" fill="${color}"/>`,
      );
    }
  });
  return out.join("\n");
}

function render(series: Series[]): string {
  const tMax = Math.max(...series.flatMap((s) => s.t));
  const height = MARGIN.top + 3 * (PANEL + MARGIN.gap);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    panel(series, (s) => s.rss, "RSS (MB)", MARGIN.top, tMax),
    panel(series, (s) => s.fds, "Open descriptors", MARGIN.top + PANEL + MARGIN.gap, tMax),
    panel(
      series,
      (s) => s.rate,
      "Throughput (messages/s)",
      MARGIN.top + 2 * (PANEL + MARGIN.gap),
      tMax,
    ),
  ];
  series.forEach((s, i) => {
    const ly = MARGIN.top + 20 + i * 20;
    const lx = WIDTH - MARGIN.right + 15;
    parts.push(
      `<rect x="${lx}" y="${ly - 10}" width="14" height="4" fill="${COLORS[i % COLORS.length]}"/>`,
    );
    parts.push(`<text x="${lx + 20}" y="${ly - 4}" font-size="12">${escape(s.name)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const outDir = join(root, ".ci", "out");
let out = join(outDir, "soak.svg");
const files: string[] = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === "--out") out = argv[++i] ?? out;
  else files.push(argv[i]!);
}
if (files.length === 0) {
  try {
    for (const f of readdirSync(outDir).sort()) {
      if (/^soak-.*\.csv$/.test(f)) files.push(join(outDir, f));
    }
  } catch {
    // no .ci/out yet
  }
}
if (files.length === 0) {
  console.error(
    `No soak CSV files given and none in ${outDir}: run scripts/reliability/soak.ts first`,
  );
  process.exit(1);
}
const series = files.map(readSeries).filter((s) => s.t.length > 0);
if (series.length === 0) {
  console.error(`The soak CSV files hold no samples: ${files.join(", ")}`);
  process.exit(1);
}
for (const s of series) {
  const last = s.t.length - 1;
  console.log(
    `${s.name}: ${s.t.length} samples over ${s.t[last]} s; RSS ${s.rss[0]} -> ${
      s.rss[last]
    } MB, fds ${s.fds[0]} -> ${s.fds[last]}, ${s.rate[0]} -> ${s.rate[last]} msg/s`,
  );
}
writeFileSync(out, render(series));
console.log(`plot: ${out}`);
