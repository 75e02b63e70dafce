/**
 * How long one wake-up takes, mechanism by mechanism, on the runtime that
 * runs this script: a native `send` on one end of a loopback TCP connection,
 * then the time until JavaScript learns that the other end is readable.
 *
 * - `runtime socket`: the other end is the runtime's own socket
 *   (`Deno.connect` / `Bun.connect`); its read resolves. This is the floor:
 *   the runtime's event loop watches the socket itself.
 * - `waiter`: the other end is a tofu socket in a poller whose waiter thread
 *   is armed; its thread-safe callback runs (`tofu_waiter_start`).
 * - `park`: the same poller parked the old way (a Deno nonblocking call, or a
 *   Bun Worker posting back); its promise resolves.
 *
 * Each is measured `--rounds` times (default 3000) with a 300 µs pause before
 * each send, so that every wake-up finds its thread asleep; p50 and p90 in
 * µs. Run: `deno run -A scripts/bench/wake_latency.ts` or
 * `bun scripts/bench/wake_latency.ts`.
 *
 * @module
 */

import process from "node:process";
import { BackendId, loadNative, type Native } from "../../ffi/mod.ts";

const encoder = new TextEncoder();
const rounds = Number(process.argv[process.argv.indexOf("--rounds") + 1]) || 3000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A loopback TCP pair of tofu sockets: [the end that sends, the end that reads]. */
async function tofuPair(native: Native): Promise<[number, number, number]> {
  const listener = native.tcpListen(encoder.encode("127.0.0.1"), 0, 4);
  const sender = native.tcpConnect(encoder.encode("127.0.0.1"), native.localPort(listener));
  const accepted = new Int32Array(1);
  while (native.accept(listener, accepted) < 1) await sleep(1);
  return [listener, sender, accepted[0]!];
}

/** p50 and p90 of `samples` (ms) in µs. */
function summary(name: string, samples: number[]): string {
  const sorted = samples.slice().sort((a, b) => a - b);
  const at = (p: number) => (sorted[Math.floor(sorted.length * p)]! * 1000).toFixed(1);
  return `${name.padEnd(16)} p50 ${at(0.5).padStart(6)} µs   p90 ${at(0.9).padStart(6)} µs`;
}

/** Times `rounds` wake-ups: `arm` returns the promise of the next one. */
async function measure(
  native: Native,
  sender: number,
  reader: number,
  arm: () => Promise<unknown>,
  drain: () => unknown,
): Promise<number[]> {
  const byte = new Uint8Array(1);
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const woken = arm();
    await sleep(0.3);
    const start = performance.now();
    native.send(sender, byte, 0, 1);
    await woken;
    samples.push(performance.now() - start);
    drain();
    void reader;
  }
  return samples;
}

/** The floor: the runtime's own socket, read by its own event loop. */
async function runtimeSocket(native: Native): Promise<number[]> {
  const listener = native.tcpListen(encoder.encode("127.0.0.1"), 0, 4);
  const port = native.localPort(listener);
  const accepted = new Int32Array(1);
  const byte = new Uint8Array(1);
  const samples: number[] = [];
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (g.Deno !== undefined) {
    const conn = await g.Deno.connect({ hostname: "127.0.0.1", port });
    while (native.accept(listener, accepted) < 1) await sleep(1);
    const buf = new Uint8Array(64);
    for (let i = 0; i < rounds; i++) {
      const read = conn.read(buf);
      await sleep(0.3);
      const start = performance.now();
      native.send(accepted[0]!, byte, 0, 1);
      await read;
      samples.push(performance.now() - start);
    }
    conn.close();
  } else {
    let resolve = () => {};
    const socket = await g.Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: { data: () => resolve() },
    });
    while (native.accept(listener, accepted) < 1) await sleep(1);
    for (let i = 0; i < rounds; i++) {
      const read = new Promise<void>((r) => resolve = r);
      await sleep(0.3);
      const start = performance.now();
      native.send(accepted[0]!, byte, 0, 1);
      await read;
      samples.push(performance.now() - start);
    }
    socket.end();
  }
  native.close(accepted[0]!, true);
  native.close(listener, true);
  return samples;
}

const native = loadNative();
const runtime = (globalThis as { Deno?: unknown }).Deno !== undefined ? "Deno" : "Bun";
console.log(`wake-up latency on ${runtime}, ${rounds} rounds each`);
console.log(summary("runtime socket", await runtimeSocket(native)));

const [listener, sender, reader] = await tofuPair(native);
const poller = native.pollerCreate(BackendId.default);
native.pollerRegister(poller, reader, 1, 1);
const events = new Int32Array(16);
const sink = new Uint8Array(64);
const drain = () => {
  native.pollerWait(poller, events, 0);
  native.recv(reader, sink, 0, sink.length);
};

let ready = () => {};
if (native.waiterStart(poller, () => ready()) === 0) {
  const arm = () => {
    const woken = new Promise<void>((r) => ready = r);
    native.waiterArm(poller);
    return woken;
  };
  console.log(summary("waiter", await measure(native, sender, reader, arm, drain)));
} else {
  console.log("waiter           not available here (only on the main thread)");
}
const park = () => native.pollerPark(poller, -1);
console.log(summary("park", await measure(native, sender, reader, park, drain)));

native.close(sender, true);
native.close(reader, true);
native.close(listener, true);
native.pollerDestroy(poller);
await native.waiterStopped(poller);
native.unload();
