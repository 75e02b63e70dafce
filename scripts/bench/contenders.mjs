// Plain JavaScript so that Node 20 runs it; JSDoc carries the types, which this lint rule cannot read.
// deno-lint-ignore-file explicit-module-boundary-types
/**
 * The contenders of the benchmark: what program each runs (the same program
 * is server and client) and what must be prepared first (the C program is
 * compiled, the `zeromq` package installed in a cache directory).
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { BUN_ALLOC_ENV } from "./alloc_stats.mjs";

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BENCH = join(ROOT, "scripts", "bench");
/** Built and installed helpers live here (under node_modules, so git ignores them). */
export const CACHE = join(ROOT, "node_modules", ".cache", "tofu-bench");
const ZEROMQ_DIR = join(CACHE, "zeromq");
/** The zeromq version the benchmark installs. */
export const ZEROMQ_VERSION = "6.8.0";

/**
 * @typedef {object} Contender
 * @property {string} id what `--only` names
 * @property {string} label how tables name it
 * @property {"c" | "deno" | "bun" | "node"} runtime
 * @property {string} script program under scripts/bench (the C source for "c")
 * @property {string | undefined} knownFailure why it is expected not to work, if it is
 * @property {Record<string, string>} [env] extra environment of its peers
 * @property {Record<string, string>} [allocEnv] more environment for one extra streaming run
 *   that only counts allocations (Bun's GC log slows the peers: the timed runs go without it)
 * @property {boolean} [onlyCrowd] runs only the crowd cases (a second backend of tofu)
 * @property {boolean} [streamOnly] runs the streaming cases only
 */

/** @type {readonly Contender[]} */
export const CONTENDERS = [
  {
    id: "c-epoll",
    label: "C epoll (ours)",
    runtime: "c",
    script: "c_epoll.c",
    knownFailure: undefined,
  },
  {
    id: "tofu-bun",
    label: "tofu on Bun",
    runtime: "bun",
    script: "tofu_peer.ts",
    knownFailure: undefined,
    allocEnv: BUN_ALLOC_ENV,
  },
  {
    id: "tofu-deno",
    label: "tofu on Deno",
    runtime: "deno",
    script: "tofu_peer.ts",
    knownFailure: undefined,
  },
  // The same peers, the streaming server receiving with `receiveBatch` instead of one
  // `waitReceive` per message (in ping-pong the two are the same program).
  {
    id: "tofu-bun-batch",
    label: "tofu on Bun, batch receive",
    runtime: "bun",
    script: "tofu_peer.ts",
    knownFailure: undefined,
    env: { TOFU_BENCH_RECEIVE: "batch" },
    allocEnv: BUN_ALLOC_ENV,
    streamOnly: true,
  },
  {
    id: "tofu-deno-batch",
    label: "tofu on Deno, batch receive",
    runtime: "deno",
    script: "tofu_peer.ts",
    knownFailure: undefined,
    env: { TOFU_BENCH_RECEIVE: "batch" },
    streamOnly: true,
  },
  {
    id: "tofu-bun-poll",
    label: "tofu on Bun, poll backend",
    runtime: "bun",
    script: "tofu_peer.ts",
    knownFailure: undefined,
    env: { TOFU_BACKEND: "poll" },
    onlyCrowd: true,
  },
  {
    id: "tofu-deno-poll",
    label: "tofu on Deno, poll backend",
    runtime: "deno",
    script: "tofu_peer.ts",
    knownFailure: undefined,
    env: { TOFU_BACKEND: "poll" },
    onlyCrowd: true,
  },
  {
    id: "bun-net",
    label: "Bun.listen / Bun.connect",
    runtime: "bun",
    script: "bun_peer.ts",
    knownFailure: undefined,
  },
  {
    id: "deno-net",
    label: "Deno.listen / Deno.connect",
    runtime: "deno",
    script: "deno_peer.ts",
    knownFailure: undefined,
  },
  {
    id: "node-net",
    label: "node:net on Node",
    runtime: "node",
    script: "node_net_peer.mjs",
    knownFailure: undefined,
  },
  {
    id: "zeromq-node",
    label: "zeromq on Node",
    runtime: "node",
    script: "zeromq_peer.mjs",
    knownFailure: undefined,
  },
  {
    id: "zeromq-deno",
    label: "zeromq on Deno",
    runtime: "deno",
    script: "zeromq_peer.mjs",
    knownFailure:
      "receives hang: Deno's uv_poll shim stops polling after its first callback (denoland/deno#36317)",
  },
  {
    id: "zeromq-bun",
    label: "zeromq on Bun",
    runtime: "bun",
    script: "zeromq_peer.mjs",
    knownFailure: "Bun panics: `unsupported uv function: uv_poll_init_socket` (oven-sh/bun#18546)",
  },
];

/**
 * @param {string} name
 * @returns {string}
 */
function localBin(name) {
  const local = join(ROOT, "node_modules", ".bin", name);
  return existsSync(local) ? local : name;
}

/** Paths of the runtimes. */
export const RUNTIMES = {
  deno: localBin("deno"),
  bun: localBin("bun"),
  // Under Deno or Bun process.execPath is that runtime, not Node.
  node: process.versions.deno === undefined && process.versions.bun === undefined
    ? process.execPath
    : "node",
};

const C_BINARY = join(CACHE, "c_epoll");

/**
 * The command line that runs `contender` with the peer arguments `args`.
 *
 * @param {Contender} contender
 * @param {readonly string[]} args
 * @param {readonly string[]} [runtimeFlags] extra flags for the runtime (e.g. profiling)
 * @returns {{ file: string, args: string[] }}
 */
export function commandOf(contender, args, runtimeFlags = []) {
  const script = join(BENCH, contender.script);
  switch (contender.runtime) {
    case "c":
      return { file: C_BINARY, args: [...args] };
    case "deno":
      return {
        file: RUNTIMES.deno,
        args: ["run", "-A", "--quiet", ...runtimeFlags, script, ...args],
      };
    case "bun":
      return { file: RUNTIMES.bun, args: [...runtimeFlags, script, ...args] };
    case "node":
      return { file: RUNTIMES.node, args: [...runtimeFlags, script, ...args] };
  }
}

/** Environment of every peer process. */
export function peerEnv() {
  return { ...process.env, NO_COLOR: "1", TOFU_BENCH_ZEROMQ_DIR: ZEROMQ_DIR };
}

/**
 * @param {string} file
 * @param {readonly string[]} args
 * @param {string} [cwd]
 * @returns {{ ok: boolean, output: string }}
 */
function run(file, args, cwd = ROOT) {
  const r = spawnSync(file, args, { cwd, encoding: "utf8", timeout: 300_000 });
  const output = `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}`.trim();
  return { ok: r.status === 0, output };
}

/**
 * Compiles the C contender when its binary is missing or older than its
 * source: the system `cc`, else `zig cc`. Returns why it failed, or undefined.
 *
 * @returns {string | undefined}
 */
function buildC() {
  const source = join(BENCH, "c_epoll.c");
  if (existsSync(C_BINARY) && statSync(C_BINARY).mtimeMs >= statSync(source).mtimeMs) {
    return undefined;
  }
  mkdirSync(CACHE, { recursive: true });
  const flags = ["-O2", "-o", C_BINARY, source];
  const cc = run("cc", flags);
  if (cc.ok) return undefined;
  const zig = run("python3", ["-m", "ziglang", "cc", ...flags]);
  if (zig.ok) return undefined;
  return `cannot compile c_epoll.c: cc said "${cc.output.split("\n")[0]}", zig cc said "${
    zig.output.split("\n")[0]
  }"`;
}

/**
 * Installs zeromq in the cache directory unless it is there. Returns why it
 * failed, or undefined.
 *
 * @returns {string | undefined}
 */
function installZeromq() {
  if (existsSync(join(ZEROMQ_DIR, "node_modules", "zeromq", "package.json"))) return undefined;
  mkdirSync(ZEROMQ_DIR, { recursive: true });
  writeFileSync(
    join(ZEROMQ_DIR, "package.json"),
    '{ "private": true, "description": "bench cache" }\n',
  );
  const npm = run("npm", [
    "install",
    "--no-save",
    "--no-audit",
    "--no-fund",
    `zeromq@${ZEROMQ_VERSION}`,
  ], ZEROMQ_DIR);
  if (npm.ok) return undefined;
  const lines = npm.output.split("\n").filter((l) => /err/i.test(l));
  return `npm install zeromq@${ZEROMQ_VERSION} failed: ${
    lines.slice(0, 3).join(" / ") || npm.output.slice(0, 200)
  }`;
}

/**
 * Prepares what the chosen contenders need. Returns, per contender id, why
 * it cannot run (contenders that can run are absent).
 *
 * @param {readonly Contender[]} chosen
 * @returns {Map<string, string>}
 */
export function prepare(chosen) {
  /** @type {Map<string, string>} */
  const unavailable = new Map();
  if (chosen.some((c) => c.runtime === "c")) {
    const why = buildC();
    if (why !== undefined) unavailable.set("c-epoll", why);
  }
  if (chosen.some((c) => c.script === "zeromq_peer.mjs")) {
    const why = installZeromq();
    if (why !== undefined) {
      for (const c of chosen) if (c.script === "zeromq_peer.mjs") unavailable.set(c.id, why);
    }
  }
  return unavailable;
}

/**
 * Versions of everything involved, for the results header.
 *
 * @returns {Record<string, string>}
 */
export function versions() {
  const first = (/** @type {string} */ file, /** @type {string[]} */ args) => {
    const r = run(file, args);
    return r.ok ? (r.output.split("\n")[0] ?? "") : "not found";
  };
  return {
    deno: first(RUNTIMES.deno, ["--version"]),
    bun: first(RUNTIMES.bun, ["--version"]),
    node: first(RUNTIMES.node, ["--version"]),
    cc: first("cc", ["--version"]),
    zeromq: `zeromq ${ZEROMQ_VERSION} (npm)`,
  };
}
