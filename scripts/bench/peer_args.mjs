// Plain JavaScript so that Node 20 runs it; JSDoc carries the types, which this lint rule cannot read.
// deno-lint-ignore-file explicit-module-boundary-types
/**
 * What every benchmark peer program shares: its command line, the result
 * line a client prints, and latency statistics.
 *
 * Command line (the same for every contender, the C one included):
 *
 *     <server|client> <tcp|uds> <port|path> <pingpong|stream|pacedR> <bodyBytes> <count> <warmup>
 *
 * `pacedR` is a ping-pong whose round trips are offered at R per second (see
 * {@linkcode pacer}); `crowdN` a saturated ping-pong on one channel beside N
 * idle ones that the client opens first (tofu peers only); the server serves
 * both as a ping-pong.
 *
 * A server prints `READY <port|path>` once it accepts connections, serves one
 * client, and exits when that client goes away. A client prints one JSON line
 * (see {@linkcode printResult}) and exits 0.
 *
 * @module
 */

/**
 * @typedef {object} PeerOptions
 * @property {"server" | "client"} role
 * @property {"tcp" | "uds"} transport
 * @property {string} address port number (TCP on 127.0.0.1) or socket path (UDS)
 * @property {number} port the port for TCP, 0 for UDS
 * @property {"pingpong" | "stream" | "paced" | "crowd"} mode
 * @property {number} rate round trips offered per second (paced mode; 0 otherwise)
 * @property {number} idle idle channels beside the active one (crowd mode; 0 otherwise)
 * @property {number} size body bytes of every request (and of every echo)
 * @property {number} count timed round trips (pingpong) or messages (stream)
 * @property {number} warmup untimed round trips or messages before the timed ones
 */

const USAGE =
  "usage: <server|client> <tcp|uds> <port|path> <pingpong|stream|pacedR|crowdN> <bodyBytes> <count> <warmup>";

/**
 * @param {string} name
 * @param {string | undefined} text
 * @param {number} min
 * @param {number} max
 * @returns {number}
 */
function integer(name, text, min, max) {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`The ${name} must be an integer ${min}..${max}, got "${text}". ${USAGE}`);
  }
  return value;
}

/**
 * @template {string} T
 * @param {string} name
 * @param {string | undefined} text
 * @param {readonly T[]} choices
 * @returns {T}
 */
function oneOf(name, text, choices) {
  const found = choices.find((c) => c === text);
  if (found === undefined) {
    throw new Error(`The ${name} must be one of ${choices.join(", ")}, got "${text}". ${USAGE}`);
  }
  return found;
}

/**
 * Parses a peer's arguments (without the runtime and script names).
 * Throws an Error naming the bad value.
 *
 * @param {readonly string[]} args
 * @returns {PeerOptions}
 */
export function parsePeerArgs(args) {
  if (args.length !== 7) throw new Error(`Expected 7 arguments, got ${args.length}. ${USAGE}`);
  const role = oneOf("role", args[0], /** @type {const} */ (["server", "client"]));
  const transport = oneOf("transport", args[1], /** @type {const} */ (["tcp", "uds"]));
  const address = /** @type {string} */ (args[2]);
  const port = transport === "tcp" ? integer("port", address, 1, 65535) : 0;
  if (transport === "uds" && address.length === 0) {
    throw new Error(`The socket path is empty. ${USAGE}`);
  }
  const paced = /^paced(\d+)$/.exec(args[3] ?? "");
  const crowd = /^crowd(\d+)$/.exec(args[3] ?? "");
  const mode = paced !== null
    ? "paced"
    : crowd !== null
    ? "crowd"
    : oneOf("mode", args[3], /** @type {const} */ (["pingpong", "stream"]));
  return {
    role,
    transport,
    address,
    port,
    mode,
    rate: paced !== null ? integer("rate", paced[1], 1, 1_000_000) : 0,
    idle: crowd !== null ? integer("idle channel count", crowd[1], 0, 100_000) : 0,
    size: integer("body size", args[4], 0, 65535),
    count: integer("count", args[5], 1, 100_000_000),
    warmup: integer("warm-up count", args[6], 0, 100_000_000),
  };
}

/**
 * Value at fraction `p` (0..1) of ascending `sorted` (nearest rank below).
 *
 * @param {Float64Array} sorted
 * @param {number} p
 * @returns {number}
 */
function at(sorted, p) {
  return /** @type {number} */ (sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]);
}

/**
 * The result of a ping-pong client: `latenciesMs` holds one round trip
 * each, `seconds` the wall time of all of them.
 *
 * @param {Float64Array} latenciesMs
 * @param {number} seconds
 * @param {"pingpong" | "paced" | "crowd"} [mode]
 * @returns {{ mode: "pingpong" | "paced" | "crowd", count: number, seconds: number, perSec: number, p50Us: number, p99Us: number }}
 */
export function pingPongResult(latenciesMs, seconds, mode = "pingpong") {
  const sorted = Float64Array.from(latenciesMs).sort();
  return {
    mode,
    count: sorted.length,
    seconds,
    perSec: sorted.length / seconds,
    p50Us: at(sorted, 0.5) * 1000,
    p99Us: at(sorted, 0.99) * 1000,
  };
}

/**
 * The result of a streaming client: `count` messages of `size` body bytes
 * delivered in `seconds` (until the server's acknowledgement arrived).
 *
 * @param {number} count
 * @param {number} size
 * @param {number} seconds
 * @returns {{ mode: "stream", count: number, seconds: number, perSec: number, mbPerSec: number }}
 */
export function streamResult(count, size, seconds) {
  return {
    mode: "stream",
    count,
    seconds,
    perSec: count / seconds,
    mbPerSec: (count * size) / seconds / 1e6,
  };
}

/** Paced round trips at the end of a paced case's warm-up (see {@linkcode pacer}). */
export const PACED_WARMUP = 300;

/**
 * The pacing of a paced client: each call waits until the next deadline
 * (deadlines `1 / rate` s apart; a late round trip starts the next one at
 * once and moves the deadlines on). Gaps of a millisecond or more are waited
 * with a timer, the event loop free, as a real app would; shorter gaps, which
 * no timer can do, sleep in `Atomics.wait` so that the pacing itself costs no
 * CPU (the reply has already arrived then, so the peer waits for nothing).
 *
 * The warm-up runs unpaced but for its last `PACED_WARMUP` round trips: a
 * service that meets a paced load has long had its code compiled by the JIT,
 * and an unpaced warm-up gets every contender there in a second instead of
 * measuring compile time in the timed part (JavaScriptCore compiles hot
 * functions for about ten seconds at 1 000 round trips/s). The paced tail
 * lets adaptive peers learn the pace before the timed part.
 *
 * @param {number} rate round trips per second
 * @param {number} warmup warm-up round trips (see above)
 * @returns {() => Promise<void> | undefined}
 */
export function pacer(rate, warmup) {
  const interval = 1000 / rate;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  let unpaced = Math.max(0, warmup - PACED_WARMUP);
  let next = performance.now();
  return () => {
    if (unpaced > 0) {
      unpaced--;
      next = performance.now();
      return undefined;
    }
    next += interval;
    const wait = next - performance.now();
    if (wait <= 0) {
      next = performance.now();
      return undefined;
    }
    if (interval >= 1) return new Promise((resolve) => setTimeout(resolve, wait));
    Atomics.wait(cell, 0, 0, wait);
    return undefined;
  };
}

/**
 * Marks the start or the end of the timed part of a client's run on stdout,
 * so that the runner can read both processes' CPU time there.
 *
 * @param {"start" | "end"} phase
 * @returns {void}
 */
export function markTimed(phase) {
  console.log(`TIMED ${phase}`);
}

/**
 * Prints the client's one result line.
 *
 * @param {object} result
 * @returns {void}
 */
export function printResult(result) {
  console.log(JSON.stringify(result));
}

/**
 * Prints the server's readiness line.
 *
 * @param {string} address
 * @returns {void}
 */
export function printReady(address) {
  console.log(`READY ${address}`);
}
