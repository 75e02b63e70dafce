/**
 * How long one wake-up takes, and what it costs, mechanism by mechanism, on
 * the runtime that runs this script (Linux). Another process (Node) sends an
 * 8-byte `CLOCK_MONOTONIC` stamp over loopback TCP every millisecond, so that
 * every wake-up finds the receiving threads asleep, as at a paced load; the
 * receiver reads the same clock once JavaScript learns of the data.
 *
 * - `runtime socket`: the runtime's own socket (`Deno.listen` / `Bun.listen`)
 *   read by its own event loop. This is the floor.
 * - `kernel`: a tofu socket in a poller with the kernel wake
 *   (`tofu_ring_start`): the kernel tells the runtime's event loop.
 * - `thread`: the same with the native waiter thread and its thread-safe
 *   callback (`tofu_waiter_start`).
 * - `park`: the park run off the JS thread (a Deno nonblocking call, a Bun
 *   worker that posts back).
 *
 * Prints p50 and p90 latency (µs) and the receiving process's CPU per wake-up
 * (µs). Run: `deno run -A scripts/bench/wake_latency.ts [--rounds N]` or
 * `bun scripts/bench/wake_latency.ts [--rounds N]`.
 *
 * @module
 */

import process from "node:process";
import { spawn } from "node:child_process";
import { BackendId, loadNative, type Native } from "../../ffi/mod.ts";

const rounds = Number(process.argv[process.argv.indexOf("--rounds") + 1]) || 2000;
const WARMUP = 200;
const encoder = new TextEncoder();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** CLOCK_MONOTONIC in ns, as the sender stamps it (Node's hrtime); the runtimes' own hrtime starts at 0. */
const monotonicNs: () => bigint = (() => {
  const CLOCK_MONOTONIC = 1;
  const ts = new BigInt64Array(2);
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  let call: (clock: number, out: BigInt64Array) => number;
  if (g.Deno !== undefined) {
    const lib = g.Deno.dlopen("libc.so.6", {
      clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
    });
    call = lib.symbols.clock_gettime;
  } else {
    // deno-lint-ignore no-explicit-any
    const ffi = (import.meta as ImportMeta & { require(id: string): any }).require("bun:ffi");
    call = ffi.dlopen("libc.so.6", {
      clock_gettime: { args: ["i32", "ptr"], returns: "i32" },
    }).symbols.clock_gettime;
  }
  return () => {
    call(CLOCK_MONOTONIC, ts);
    return ts[0]! * 1_000_000_000n + ts[1]!;
  };
})();

/** Starts the sender (Node): one stamp per millisecond to `port` until the receiver hangs up. */
function startSender(port: number): void {
  const script = `
    const s = require("node:net").connect(${port}, "127.0.0.1", () => {
      s.setNoDelay(true);
      const tick = () => {
        if (s.destroyed) return;
        const b = Buffer.alloc(8);
        b.writeBigInt64LE(process.hrtime.bigint());
        s.write(b);
        setTimeout(tick, 1);
      };
      setTimeout(tick, 20);
    });
    s.on("error", () => process.exit(0));
    s.on("close", () => process.exit(0));`;
  spawn("node", ["-e", script], { stdio: "inherit" });
}

/** Collects latencies of the stamps `onStamp` is given; resolves with p50, p90 and CPU per wake. */
function collector(): {
  onStamp(stamp: bigint): void;
  done: Promise<string>;
} {
  const samples: number[] = [];
  let cpuAtStart: ReturnType<typeof process.cpuUsage> | undefined;
  let finish = (_: string) => {};
  const done = new Promise<string>((resolve) => finish = resolve);
  return {
    onStamp(stamp) {
      const us = Number(monotonicNs() - stamp) / 1000;
      if (samples.length === WARMUP && cpuAtStart === undefined) cpuAtStart = process.cpuUsage();
      samples.push(us);
      if (samples.length < rounds + WARMUP) return;
      const cpu = process.cpuUsage(cpuAtStart);
      const timed = samples.slice(WARMUP).sort((a, b) => a - b);
      const at = (p: number) => timed[Math.floor(timed.length * p)]!.toFixed(1).padStart(6);
      const perWake = ((cpu.user + cpu.system) / rounds).toFixed(1).padStart(6);
      finish(`p50 ${at(0.5)} µs   p90 ${at(0.9)} µs   cpu ${perWake} µs per wake-up`);
    },
    done,
  };
}

/** The last stamp in a chunk of 8-byte stamps. */
function lastStamp(bytes: Uint8Array, length: number): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset + length - 8, 8).getBigInt64(0, true);
}

/** The floor: the runtime's own socket, read by its own event loop. */
async function runtimeSocket(): Promise<string> {
  const c = collector();
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (g.Deno !== undefined) {
    const listener = g.Deno.listen({ hostname: "127.0.0.1", port: 0 });
    startSender(listener.addr.port);
    const conn = await listener.accept();
    listener.close();
    const buf = new Uint8Array(64);
    let done = false;
    c.done.then(() => {
      done = true;
      conn.close();
    });
    try {
      while (!done) {
        const n = await conn.read(buf);
        if (n === null) break;
        if (n >= 8) c.onStamp(lastStamp(buf, n));
      }
    } catch {
      // Closed once done.
    }
  } else {
    const server = g.Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data: (_: unknown, d: Uint8Array) => d.length >= 8 && c.onStamp(lastStamp(d, d.length)),
      },
    });
    startSender(server.port);
    await c.done;
    server.stop(true);
  }
  return c.done;
}

/** A tofu socket accepted from the sender, in a fresh poller. */
async function tofuReceiver(
  native: Native,
): Promise<{ poller: number; reader: number; close(): void }> {
  const listener = native.tcpListen(encoder.encode("127.0.0.1"), 0, 4);
  startSender(native.localPort(listener));
  const accepted = new Int32Array(1);
  while (native.accept(listener, accepted) < 1) await sleep(1);
  native.close(listener, true);
  const reader = accepted[0]!;
  const poller = native.pollerCreate(BackendId.default);
  native.pollerRegister(poller, reader, 1, 1);
  return {
    poller,
    reader,
    close() {
      native.pollerDestroy(poller);
      native.close(reader, true);
    },
  };
}

/** Reads what arrived and hands its last stamp on; false once the sender is gone. */
function readStamps(
  native: Native,
  poller: number,
  reader: number,
  onStamp: (s: bigint) => void,
): boolean {
  const events = new Int32Array(16);
  const buf = new Uint8Array(256);
  native.pollerWait(poller, events, 0);
  const n = native.recv(reader, buf, 0, buf.length);
  if (n >= 8) onStamp(lastStamp(buf, n));
  return n !== 0;
}

/** A tofu mechanism: `start` makes it call `ready` after each `arm`. */
async function tofuWake(
  native: Native,
  start: (poller: number, ready: () => void) => boolean,
  arm: (poller: number) => void,
): Promise<string> {
  const c = collector();
  const r = await tofuReceiver(native);
  const ready = () => {
    if (readStamps(native, r.poller, r.reader, c.onStamp)) arm(r.poller);
  };
  if (!start(r.poller, ready)) {
    r.close();
    return "not available here";
  }
  arm(r.poller);
  const line = await c.done;
  r.close();
  await native.waiterStopped(r.poller);
  return line;
}

async function tofuPark(native: Native): Promise<string> {
  const c = collector();
  const r = await tofuReceiver(native);
  let open = true;
  (async () => {
    while (open) {
      await native.pollerPark(r.poller, -1);
      if (open) open = readStamps(native, r.poller, r.reader, c.onStamp);
    }
  })();
  const line = await c.done;
  open = false;
  r.close();
  return line;
}

const native = loadNative();
const runtime = (globalThis as { Deno?: unknown }).Deno !== undefined ? "Deno" : "Bun";
console.log(`wake-up latency on ${runtime}: ${rounds} stamps, 1 ms apart, from another process`);
console.log(`runtime socket   ${await runtimeSocket()}`);
console.log(`kernel           ${await tofuWake(
  native,
  (p, ready) => native.kernelWakeStart(p, ready) === 0,
  (p) => native.kernelWakeArm(p),
)}`);
console.log(`thread           ${await tofuWake(
  native,
  (p, ready) => native.waiterStart(p, ready) === 0,
  (p) => native.waiterArm(p),
)}`);
console.log(`park             ${await tofuPark(native)}`);
native.unload();
