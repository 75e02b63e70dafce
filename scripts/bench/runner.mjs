// Plain JavaScript so that Node 20 runs it; JSDoc carries the types, which this lint rule cannot read.
// deno-lint-ignore-file explicit-module-boundary-types
/**
 * Runs one measurement: a contender's server and client as two separate
 * processes on a fresh port or socket path, or the idle probe. Only the
 * processes started here are ever stopped, by their own handles.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { commandOf, peerEnv, ROOT } from "./contenders.mjs";
import { allocPerMessage } from "./alloc_stats.mjs";

/** @typedef {import("./contenders.mjs").Contender} Contender */
/** @typedef {import("./cases.mjs").BenchCase} BenchCase */

/**
 * @typedef {object} RunOutcome
 * @property {boolean} ok
 * @property {Record<string, number | string | boolean> | undefined} result the client's JSON line
 * @property {string} error why it failed (empty when ok)
 * @property {{ server: string, client: string }} stderr what the two processes wrote to stderr
 * @property {{ server: string, client: string }} stdout what they wrote to stdout
 */

/**
 * How to start the peers of one run, beyond the defaults.
 *
 * @typedef {object} RunOptions
 * @property {(role: string) => string[]} [runtimeFlags] extra runtime flags per role (e.g. profiling)
 * @property {(role: string) => string[]} [wrapper] a command that runs the peer, per role (e.g. strace)
 * @property {Record<string, string>} [env] extra environment variables
 * @property {number} [timeoutMs] time limit of the client
 */

const READY_TIMEOUT_MS = 30_000;
const SERVER_EXIT_MS = 10_000;
let sequence = 0;

/**
 * A TCP port that was free a moment ago.
 *
 * @returns {Promise<number>}
 */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * CPU time (ns) a process has used so far, all its threads together, from the
 * kernel's scheduler accounting (`/proc/<pid>/task/<tid>/schedstat`, which is
 * precise to the nanosecond where `/proc/<pid>/stat` counts 10 ms ticks), or
 * NaN where the OS has no such files. A thread that exits in between takes
 * its time with it; the peers' threads live as long as they do.
 *
 * @param {number | undefined} pid
 * @returns {number}
 */
export function cpuNs(pid) {
  if (pid === undefined) return NaN;
  const dir = `/proc/${pid}/task`;
  if (!existsSync(dir)) return NaN;
  let total = 0;
  try {
    for (const tid of readdirSync(dir)) {
      total += Number(readFileSync(`${dir}/${tid}/schedstat`, "utf8").split(" ")[0]);
    }
  } catch {
    return NaN; // the process or a thread went away while being read
  }
  return total;
}

/**
 * A started process with its collected output.
 *
 * @typedef {object} Child
 * @property {import("node:child_process").ChildProcess} process
 * @property {() => string} stdout
 * @property {() => string} stderr
 * @property {Promise<number | null>} exited exit code (null when killed by a signal)
 */

/**
 * @param {{ file: string, args: string[] }} command
 * @param {Record<string, string>} env extra environment variables
 * @param {(line: string) => void} [onLine] called with every stdout line
 * @returns {Child}
 */
function start(command, env, onLine) {
  const child = spawn(command.file, command.args, {
    cwd: ROOT,
    env: { ...peerEnv(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  let pending = "";
  child.stdout?.setEncoding("utf8");
  child.stderr?.setEncoding("utf8");
  child.stdout?.on("data", (/** @type {string} */ text) => {
    out += text;
    pending += text;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) onLine?.(line);
  });
  child.stderr?.on("data", (/** @type {string} */ text) => {
    err += text;
  });
  const exited = new Promise((resolve) => {
    child.on("error", (e) => {
      err += String(e);
      resolve(-1);
    });
    child.on("exit", (code) => resolve(code));
  });
  return { process: child, stdout: () => out, stderr: () => err, exited };
}

/**
 * Resolves `promise`, or `fallback` after `ms`.
 *
 * @template T
 * @param {Promise<T>} promise
 * @param {number} ms
 * @param {T} fallback
 * @returns {Promise<T>}
 */
function within(promise, ms, fallback) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const late = new Promise((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * The last meaningful line of a process's error output.
 *
 * @param {string} text
 * @returns {string}
 */
function lastError(text) {
  // deno-lint-ignore no-control-regex
  const lines = text.replace(/\x1b\[[0-9;]*m/g, "").split("\n").map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("at ") && !/^\d+ \|/.test(l) && !/^\^/.test(l));
  const error = lines.find((l) => /^panic/i.test(l)) ??
    lines.find((l) => /error|fail|cannot|unsupported/i.test(l) && !l.startsWith("Features:"));
  return (error ?? lines.at(-1) ?? "").slice(0, 300);
}

/**
 * The client's result: the last JSON object `{"mode":...}` it printed (runtime
 * diagnostics such as --trace-gc may surround it).
 *
 * @param {string} stdout
 * @returns {string}
 */
function resultLine(stdout) {
  // Runtime diagnostics may even share its line, so look for the object itself.
  return stdout.match(/\{"mode":[^{}]*\}/g)?.at(-1) ?? "";
}

/**
 * Stops a child that is still running (it was started here).
 *
 * @param {Child} child
 */
async function stop(child) {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill("SIGKILL");
  await child.exited;
}

/**
 * Time limit of one client: generous for slow contenders, short enough that
 * a hang does not eat the whole run.
 *
 * @param {BenchCase} kase
 * @returns {number}
 */
function clientTimeoutMs(kase) {
  const messages = kase.count + kase.warmup;
  const slowestRate = kase.mode === "stream" ? 20_000 : 500;
  return 20_000 + (messages / slowestRate) * 1000;
}

/**
 * The command of one peer: the contender's, with the options' flags and wrapper.
 *
 * @param {Contender} contender
 * @param {string[]} args
 * @param {string} role
 * @param {RunOptions} options
 * @returns {{ file: string, args: string[] }}
 */
function peerCommand(contender, args, role, options) {
  const command = commandOf(contender, args, options.runtimeFlags?.(role) ?? []);
  const wrapper = options.wrapper?.(role) ?? [];
  if (wrapper.length === 0) return command;
  return {
    file: /** @type {string} */ (wrapper[0]),
    args: [...wrapper.slice(1), command.file, ...command.args],
  };
}

/**
 * The client's result with the bytes allocated per message by each peer
 * (`allocClient`, `allocServer`) when the peers reported them.
 *
 * @param {Record<string, number | string | boolean>} result
 * @param {string} serverStderr
 * @param {string} clientStderr
 * @returns {Record<string, number | string | boolean>}
 */
function withAlloc(result, serverStderr, clientStderr) {
  const client = allocPerMessage(clientStderr);
  const server = allocPerMessage(serverStderr);
  return {
    ...result,
    ...(client === undefined ? {} : { allocClient: client }),
    ...(server === undefined ? {} : { allocServer: server }),
  };
}

/**
 * Runs `kase` once for `contender`: server, then client, then waits for the
 * server to exit.
 *
 * @param {Contender} contender
 * @param {BenchCase} kase
 * @param {RunOptions} [options]
 * @returns {Promise<RunOutcome>}
 */
export async function runPair(contender, kase, options = {}) {
  const address = kase.transport === "tcp"
    ? String(await freePort())
    : join(tmpdir(), `tofu-bench-${process.pid}-${++sequence}.sock`);
  if (kase.transport === "uds") rmSync(address, { force: true });
  const args = (/** @type {string} */ role) => [
    role,
    kase.transport,
    address,
    kase.peerMode,
    String(kase.size),
    String(kase.count),
    String(kase.warmup),
  ];
  const env = { ...contender.env, ...options.env };
  /** @type {(ready: boolean) => void} */
  let markReady = () => {};
  const ready = new Promise((resolve) => {
    markReady = resolve;
  });
  const server = start(peerCommand(contender, args("server"), "server", options), env, (line) => {
    if (line.startsWith("READY ")) markReady(true);
  });
  void server.exited.then(() => markReady(false));
  /** @type {Child | null} */
  let client = null;
  /**
   * @param {string} error
   * @param {Record<string, number | string | boolean>} [result]
   * @returns {RunOutcome}
   */
  const outcome = (error, result) => ({
    ok: error === "",
    result,
    error,
    stderr: { server: server.stderr(), client: client?.stderr() ?? "" },
    stdout: { server: server.stdout(), client: client?.stdout() ?? "" },
  });
  try {
    if (!(await within(ready, READY_TIMEOUT_MS, false))) {
      await stop(server);
      return outcome(`server did not start: ${lastError(server.stderr()) || "no READY line"}`);
    }
    // CPU of both processes over the client's timed part (its TIMED lines).
    /** @type {number[]} */
    const cpu = [];
    client = start(peerCommand(contender, args("client"), "client", options), env, (line) => {
      if (!line.startsWith("TIMED ")) return;
      cpu.push(cpuNs(server.process.pid), cpuNs(client?.process.pid));
    });
    const limit = options.timeoutMs ?? clientTimeoutMs(kase);
    const code = await within(client.exited, limit, "timeout");
    if (code === "timeout") {
      await stop(client);
      return outcome(`client timed out after ${Math.round(limit / 1000)} s`);
    }
    const line = resultLine(client.stdout());
    if (code !== 0 || !line.startsWith("{")) {
      const why = lastError(client.stderr()) || lastError(server.stderr()) || `exit code ${code}`;
      return outcome(`client failed: ${why}`);
    }
    const serverCode = await within(server.exited, SERVER_EXIT_MS, "timeout");
    if (serverCode !== 0 && serverCode !== "timeout") {
      return outcome(`server failed: ${lastError(server.stderr()) || `exit code ${serverCode}`}`);
    }
    const result = withCpu(JSON.parse(line), cpu);
    return outcome("", withAlloc(result, server.stderr(), client.stderr()));
  } finally {
    await stop(server);
    if (kase.transport === "uds") rmSync(address, { force: true });
  }
}

/**
 * Adds CPU time per round trip or message (µs, server + client, and each) to a
 * client's result, from the samples taken at its two TIMED lines.
 *
 * @param {Record<string, number | string | boolean>} result
 * @param {number[]} cpu [server, client] at start, then at end (ns)
 * @returns {Record<string, number | string | boolean>}
 */
function withCpu(result, cpu) {
  const count = Number(result.count);
  if (cpu.length !== 4 || cpu.some((v) => !Number.isFinite(v)) || !(count > 0)) return result;
  const [s0, c0, s1, c1] = /** @type {[number, number, number, number]} */ (cpu);
  const serverUs = (s1 - s0) / 1000 / count;
  const clientUs = (c1 - c0) / 1000 / count;
  return { ...result, cpuUs: serverUs + clientUs, cpuServerUs: serverUs, cpuClientUs: clientUs };
}

/**
 * Measures an idle engine (or, with `baseline`, the bare runtime) on the
 * runtime of `contender` for `seconds`.
 *
 * @param {Contender} contender a tofu contender
 * @param {number} seconds
 * @param {boolean} baseline
 * @returns {Promise<RunOutcome>}
 */
export async function runIdle(contender, seconds, baseline) {
  const idleContender = { ...contender, script: "tofu_idle.ts" };
  const args = baseline ? ["--baseline", String(seconds)] : [String(seconds)];
  const child = start(commandOf(idleContender, args), {});
  const code = await within(child.exited, seconds * 1000 + 30_000, "timeout");
  if (code === "timeout") {
    await stop(child);
    return {
      ok: false,
      result: undefined,
      error: "idle probe timed out",
      stderr: { server: "", client: child.stderr() },
      stdout: { server: "", client: child.stdout() },
    };
  }
  const line = resultLine(child.stdout());
  if (code !== 0 || !line.startsWith("{")) {
    return {
      ok: false,
      result: undefined,
      error: `idle probe failed: ${lastError(child.stderr())}`,
    };
  }
  return { ok: true, result: JSON.parse(line), error: "" };
}
