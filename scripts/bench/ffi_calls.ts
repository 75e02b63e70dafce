/**
 * Measures the cost of the native boundary on the running runtime:
 *   - one trivial FFI call (`tofu_abi_version`);
 *   - one `pollerWait` with timeout 0 and nothing ready;
 *   - one park/wake round trip: a park is pending in native code, JS wakes the
 *     poller, and the time until the park's promise resolves is taken;
 *   - one park that returns at once (a wake is already pending): the fixed
 *     cost of going off the JS thread and back.
 * Each figure is the median of several runs.
 *
 * Run: `deno run -A scripts/bench/ffi_calls.ts` or `bun scripts/bench/ffi_calls.ts`
 * (the library comes from `TOFU_NATIVE_LIB` or the prebuilt one).
 *
 * @module
 */

import process from "node:process";
import { BackendId, loadNative } from "../../ffi/mod.ts";

const RUNS = 7;
const CALLS = 1_000_000;
const WAITS = 200_000;
const ROUND_TRIPS = 300;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

/** Median over RUNS of the mean time per iteration of `body`, in nanoseconds. */
function perCallNs(iterations: number, body: () => void): number[] {
  const runs: number[] = [];
  body(); // let the JIT see the call site once before timing
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now();
    for (let i = 0; i < iterations; i++) body();
    runs.push(((performance.now() - start) * 1e6) / iterations);
  }
  return runs;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const native = loadNative();
const poller = native.pollerCreate(BackendId.default);
if (poller < 0) throw new Error(`The poller could not be created: code ${poller}`);
const events = new Int32Array(128);

const runtime = typeof process.versions.bun === "string"
  ? `bun ${process.versions.bun}`
  : `deno ${process.versions.deno}`;
console.log(`runtime: ${runtime}; library: ${native.path}`);

let sink = 0;
const callRuns = perCallNs(CALLS, () => {
  sink += native.abiVersion();
});
const waitRuns = perCallNs(WAITS, () => {
  sink += native.pollerWait(poller, events, 0);
});

// Park/wake: the park must be blocked in native code before the wake, so
// give it a moment, then time wake -> promise resolved.
const roundTripRuns: number[] = [];
const samples: number[] = [];
await native.pollerPark(poller, 0); // starts the Bun worker outside the timing
for (let run = 0; run < RUNS; run++) {
  const runSamples: number[] = [];
  for (let i = 0; i < ROUND_TRIPS / RUNS; i++) {
    const parked = native.pollerPark(poller, 5000);
    await sleep(1);
    const start = performance.now();
    native.pollerWake(poller);
    const result = await parked;
    runSamples.push((performance.now() - start) * 1000);
    if (result !== 1) throw new Error(`A woken park resolved ${result}, expected 1`);
    native.pollerWait(poller, events, 0); // consume the wake
  }
  roundTripRuns.push(median(runSamples));
  samples.push(...runSamples);
}

// Park with something already pending: call -> resolved.
const immediateRuns: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const runSamples: number[] = [];
  for (let i = 0; i < 300; i++) {
    native.pollerWake(poller);
    const start = performance.now();
    await native.pollerPark(poller, 5000);
    runSamples.push((performance.now() - start) * 1000);
    native.pollerWait(poller, events, 0);
  }
  immediateRuns.push(median(runSamples));
}

native.pollerDestroy(poller);
native.unload();

const fmt = (n: number, unit: string) => `${n.toFixed(1)} ${unit}`;
console.log(
  `FFI call (tofu_abi_version): median ${fmt(median(callRuns), "ns")} per call ` +
    `(runs: ${callRuns.map((n) => n.toFixed(1)).join(", ")})`,
);
console.log(
  `pollerWait(timeout 0), nothing ready: median ${fmt(median(waitRuns), "ns")} per call ` +
    `(runs: ${waitRuns.map((n) => n.toFixed(0)).join(", ")})`,
);
console.log(
  `park/wake round trip (wake -> promise resolved): median ${fmt(median(samples), "µs")}, ` +
    `p90 ${fmt(percentile(samples, 0.9), "µs")}, p99 ${fmt(percentile(samples, 0.99), "µs")} ` +
    `(run medians: ${
      roundTripRuns.map((n) => n.toFixed(0)).join(", ")
    }; ${samples.length} samples)`,
);
console.log(
  `park that returns at once (call -> resolved): median ${fmt(median(immediateRuns), "µs")} ` +
    `(run medians: ${immediateRuns.map((n) => n.toFixed(0)).join(", ")})`,
);
if (sink < 0) console.log(sink);
