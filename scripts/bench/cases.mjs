// Plain JavaScript so that Node 20 runs it; JSDoc carries the types, which this lint rule cannot read.
// deno-lint-ignore-file explicit-module-boundary-types
/**
 * The benchmark cases: {ping-pong, stream} x {TCP, UDS} x {64 B, 4 KiB}
 * bodies; paced 64 B ping-pong at 1 000 and 10 000 round trips/s over TCP
 * and UDS (a realistic load: latency and CPU per round trip, not
 * throughput); saturated 64 B ping-pong on one TCP channel beside 0 and 1000
 * idle ones (the cost of idle channels per backend, tofu only); plus the
 * idle-engine measurement, with their message counts
 * for a full run and for the short smoke run (`--quick`).
 *
 * @module
 */

/**
 * @typedef {object} BenchCase
 * @property {string} name e.g. `pingpong-tcp-64`, `stream-uds-4k`, `idle`
 * @property {"pingpong" | "stream" | "paced" | "crowd" | "idle"} mode
 * @property {string} peerMode the mode argument of the peers (`paced1000` for a paced case)
 * @property {number} rate offered round trips/s of a paced case (0 otherwise)
 * @property {"tcp" | "uds" | ""} transport
 * @property {number} size body bytes
 * @property {string} sizeLabel `64 B` or `4 KiB`
 * @property {number} count timed round trips or messages (idle: seconds measured)
 * @property {number} warmup untimed round trips or messages before them
 */

/** Message counts of a full run (the figures) and of a smoke run. */
const COUNTS = {
  full: {
    pingpong: { count: 20_000, warmup: 2_000 },
    stream64: { count: 1_000_000, warmup: 100_000 },
    stream4k: { count: 200_000, warmup: 20_000 },
    paced1k: { count: 5_000, warmup: 20_000 },
    paced10k: { count: 20_000, warmup: 20_000 },
    crowd: { count: 20_000, warmup: 2_000 },
    idleSeconds: 5,
  },
  quick: {
    pingpong: { count: 1_000, warmup: 200 },
    stream64: { count: 50_000, warmup: 5_000 },
    stream4k: { count: 10_000, warmup: 1_000 },
    paced1k: { count: 300, warmup: 400 },
    paced10k: { count: 1_000, warmup: 400 },
    crowd: { count: 500, warmup: 100 },
    idleSeconds: 1,
  },
};

const SIZES = [
  { key: "64", size: 64, label: "64 B" },
  { key: "4k", size: 4096, label: "4 KiB" },
];

/**
 * Every case, in the order they run.
 *
 * @param {boolean} quick smoke counts instead of the full ones
 * @returns {BenchCase[]}
 */
export function allCases(quick) {
  const counts = quick ? COUNTS.quick : COUNTS.full;
  /** @type {BenchCase[]} */
  const cases = [];
  for (const mode of /** @type {const} */ (["pingpong", "stream"])) {
    for (const { key, size, label } of SIZES) {
      for (const transport of /** @type {const} */ (["tcp", "uds"])) {
        const n = mode === "pingpong"
          ? counts.pingpong
          : size === 64
          ? counts.stream64
          : counts.stream4k;
        cases.push({
          name: `${mode}-${transport}-${key}`,
          mode,
          peerMode: mode,
          rate: 0,
          transport,
          size,
          sizeLabel: label,
          ...n,
        });
      }
    }
  }
  for (const [key, rate] of /** @type {const} */ ([["1k", 1_000], ["10k", 10_000]])) {
    for (const transport of /** @type {const} */ (["tcp", "uds"])) {
      cases.push({
        name: `paced${key}-${transport}-64`,
        mode: "paced",
        peerMode: `paced${rate}`,
        rate,
        transport,
        size: 64,
        sizeLabel: "64 B",
        ...(rate === 1_000 ? counts.paced1k : counts.paced10k),
      });
    }
  }
  for (const idle of [0, 1000]) {
    cases.push({
      name: `crowd${idle}-tcp-64`,
      mode: "crowd",
      peerMode: `crowd${idle}`,
      rate: 0,
      transport: "tcp",
      size: 64,
      sizeLabel: "64 B",
      ...counts.crowd,
    });
  }
  cases.push({
    name: "idle",
    mode: "idle",
    peerMode: "idle",
    rate: 0,
    transport: "",
    size: 0,
    sizeLabel: "",
    count: counts.idleSeconds,
    warmup: 0,
  });
  return cases;
}

/**
 * True when `name` matches `filter`: every dash-separated part of the filter
 * is a part of the name, or the start of one before its number (`stream`
 * matches all streaming cases, `uds-64` both 64-byte UDS cases, `paced` every
 * paced case and `paced1k` those at 1 000/s, `pingpong-tcp-4k` exactly one).
 *
 * @param {string} filter
 * @param {string} name
 * @returns {boolean}
 */
export function caseMatches(filter, name) {
  const parts = name.split("-");
  return filter.split("-").every((part) =>
    parts.some((p) => p === part || (p.startsWith(part) && /^\d+k?$/.test(p.slice(part.length))))
  );
}

/**
 * True when `contender` can run `kase`: the paced cases need a client that
 * paces, which the programs on the JavaScript runtimes have (the C and
 * ZeroMQ peers only do saturated ping-pong and streaming); the crowd cases
 * are tofu's own; a contender with `onlyCrowd` (tofu on another backend) or
 * `streamOnly` (tofu with the batch receive) runs nothing else.
 *
 * @param {{ id: string, runtime: string, onlyCrowd?: boolean, streamOnly?: boolean }} contender
 * @param {BenchCase} kase
 * @returns {boolean}
 */
export function runsCase(contender, kase) {
  if (contender.onlyCrowd === true) return kase.mode === "crowd";
  if (contender.streamOnly === true) return kase.mode === "stream";
  if (kase.mode === "idle" || kase.mode === "crowd") return contender.id.startsWith("tofu-");
  if (kase.mode !== "paced") return true;
  return contender.runtime !== "c" && !contender.id.startsWith("zeromq");
}
