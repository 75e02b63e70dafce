/**
 * Benchmark peer on tofu, through the public API exactly as an application
 * uses it: `get` / `post` / `waitReceive` / `put` for every message. Runs
 * unchanged on Deno and Bun.
 *
 * - ping-pong: the client posts one Request and awaits the Response; the
 *   server answers by turning the received message into a Response and
 *   posting it back (the echo idiom);
 * - stream: the client posts its messages back to back; the only flow
 *   control is the pool (spec §12): it takes messages with `poolOnly`, the
 *   engine returns each one to the pool once it is written, and when the
 *   pool is empty the client waits for one with `waitGet`. The server receives
 *   every message with `waitReceive` and `put`s it back, and answers one
 *   Response after the warm-up and one after the last message. With
 *   `TOFU_BENCH_RECEIVE=batch` the server receives with `receiveBatch`
 *   instead, still checking and putting back every message.
 *
 * In streaming, both peers report the bytes they allocate per message in the
 * timed phase (see `alloc_stats.mjs`).
 *
 * Run: `deno run -A scripts/bench/tofu_peer.ts <args>` or
 * `bun scripts/bench/tofu_peer.ts <args>` (arguments: see `peer_args.mjs`).
 *
 * @module
 */

import process from "node:process";
import v8 from "node:v8";
import {
  AllocationStrategy,
  type Ampe,
  AmpeStatus,
  type ChannelGroup,
  type Message,
  OpCode,
  type Options,
  Reactor,
  TCPClientAddress,
  TCPServerAddress,
  UDSClientAddress,
  UDSServerAddress,
  WAIT_INFINITE,
} from "../../mod.ts";
import {
  markTimed,
  pacer,
  parsePeerArgs,
  type PeerOptions,
  pingPongResult,
  printReady,
  printResult,
  streamResult,
} from "./peer_args.mjs";

/** The server's pool: it can take this many messages per read burst before it starves. */
const SERVER_POOL = 4096;
/**
 * A streaming client's pool is what it has in flight, sized by bytes as
 * docs/patterns.md advises: about this many, at most SERVER_POOL messages.
 * More only moves the messages out of the CPU cache (4 KiB bodies: 512
 * messages stream faster than 4096).
 */
const IN_FLIGHT_BYTES = 2 * 1024 * 1024;
/** Profiling aid (scripts/bench/profile.mjs): another spin budget; never set for measurements. */
const spinMicros = process.env.TOFU_BENCH_SPIN_MICROS;

/** Engine options with a pool of `messages`. */
function options(messages: number): Options {
  const pool = { initialPoolMsgs: messages, maxPoolMsgs: messages };
  return spinMicros === undefined ? pool : { ...pool, spinMicros: Number(spinMicros) };
}

/** The client's pool for bodies of `size` bytes. */
function clientPool(size: number): number {
  return Math.max(64, Math.min(SERVER_POOL, Math.floor(IN_FLIGHT_BYTES / (16 + size))));
}
const SETUP_MS = 10_000;
/** How the streaming server receives: one `waitReceive` per message, or `receiveBatch`. */
const RECEIVE = process.env.TOFU_BENCH_RECEIVE === "batch" ? "batch" : "wait";
/** Most messages one `receiveBatch` returns. */
const BATCH_MAX = 1024;

// V8 counts the bytes it allocates; JSC does not (the runner reads Bun's GC log instead).
const allocatedBytes = typeof process.versions.deno === "string"
  ? () => (v8.getHeapStatistics() as { total_allocated_bytes?: number }).total_allocated_bytes
  : () => undefined;
let allocatedAtStart: number | undefined;

/** Marks the start of the timed phase for the allocation count (`alloc_stats.mjs`). */
function allocStart(): void {
  allocatedAtStart = allocatedBytes();
  console.error("TOFU-ALLOC start");
}

/** Marks its end, after `messages` messages. */
function allocEnd(messages: number): void {
  const now = allocatedBytes();
  const bytes = now === undefined || allocatedAtStart === undefined ? "-" : now - allocatedAtStart;
  console.error(`TOFU-ALLOC end ${messages} ${bytes}`);
}

/** The next message of `g` that is not a pool_empty notice (those go back to the pool). */
async function receive(ampe: Ampe, g: ChannelGroup, timeoutMs = WAIT_INFINITE): Promise<Message> {
  for (;;) {
    const m = await g.waitReceive(timeoutMs);
    if (m === null) throw new Error(`Nothing arrived within ${timeoutMs} ms`);
    if (m.isFromEngine() && m.bhdr.status === AmpeStatus.poolEmpty) {
      ampe.put(m);
      continue;
    }
    return m;
  }
}

function failure(what: string, m: Message): Error {
  const h = m.bhdr;
  return new Error(
    `${what}: got opCode ${h.proto.opCode}, status ${h.status}, origin ${h.proto.origin} on channel ${h.channelNumber}`,
  );
}

async function serve(opts: PeerOptions): Promise<void> {
  await using rtr = await Reactor.create(options(SERVER_POOL));
  const ampe = rtr.ampe();
  const g = ampe.create();
  const welcome = ampe.get(AllocationStrategy.always)!;
  const address = opts.transport === "tcp"
    ? new TCPServerAddress("127.0.0.1", opts.port)
    : new UDSServerAddress(opts.address);
  address.format(welcome);
  g.post(welcome);
  const listening = await receive(ampe, g, SETUP_MS);
  if (listening.bhdr.status !== AmpeStatus.success) throw failure("Cannot listen", listening);
  ampe.put(listening);
  printReady(opts.address);

  const pingPong = opts.mode !== "stream";
  const total = opts.warmup + opts.count;
  let seen = 0;
  /** Handles one received message; true when the run is over. */
  const handle = (m: Message): boolean => {
    const h = m.bhdr;
    if (m.isFromEngine()) {
      const status = h.status;
      ampe.put(m);
      // Otherwise the client went away (its channel closed): the run is over.
      return status !== AmpeStatus.poolEmpty;
    }
    const op = h.proto.opCode;
    if (op === OpCode.HelloRequest) {
      h.proto.opCode = OpCode.HelloResponse;
      g.post(m);
      return false;
    }
    if (op !== OpCode.Request) throw failure("Expected a Request", m);
    if (pingPong) {
      seen++;
      h.proto.opCode = OpCode.Response;
      g.post(m);
      return false;
    }
    if (seen === opts.warmup) allocStart();
    seen++;
    const channel = h.channelNumber;
    ampe.put(m);
    if (seen === total) allocEnd(opts.count);
    if ((seen === opts.warmup && opts.warmup > 0) || seen === total) {
      const ack = ampe.get(AllocationStrategy.always)!;
      ack.bhdr.proto.opCode = OpCode.Response;
      ack.bhdr.channelNumber = channel;
      ack.bhdr.messageId = BigInt(seen); // a Response needs a message id
      g.post(ack);
    }
    return false;
  };
  if (RECEIVE === "batch") {
    for (;;) {
      const batch = await g.receiveBatch(BATCH_MAX, WAIT_INFINITE);
      for (let i = 0; i < batch.length; i++) {
        if (handle(batch[i]!)) {
          for (let k = i + 1; k < batch.length; k++) ampe.put(batch[k]!);
          return;
        }
      }
    }
  }
  // One waitReceive per message, awaited right here (no async helper: that would add promises).
  for (;;) {
    const m = await g.waitReceive(WAIT_INFINITE);
    if (m !== null && handle(m)) return;
  }
}

async function runClient(opts: PeerOptions): Promise<void> {
  await using rtr = await Reactor.create(options(clientPool(opts.size)));
  const ampe = rtr.ampe();
  const g = ampe.create();
  const hello = ampe.get(AllocationStrategy.always)!;
  const address = opts.transport === "tcp"
    ? new TCPClientAddress("127.0.0.1", opts.port)
    : new UDSClientAddress(opts.address);
  address.format(hello);
  const channel = g.post(hello).channelNumber;
  const welcome = await receive(ampe, g, SETUP_MS);
  if (
    welcome.bhdr.proto.opCode !== OpCode.HelloResponse || welcome.bhdr.status !== AmpeStatus.success
  ) {
    throw failure("Cannot connect", welcome);
  }
  ampe.put(welcome);
  const body = new Uint8Array(opts.size).fill(0x61);
  await openIdleChannels(ampe, g, opts);
  const client = { ampe, g, channel, body, opts };
  printResult(opts.mode === "stream" ? await stream(client) : await pingPong(client));
}

/** Crowd mode: opens `opts.idle` more channels to the server that stay idle for the whole run. */
async function openIdleChannels(ampe: Ampe, g: ChannelGroup, opts: PeerOptions): Promise<void> {
  for (let i = 0; i < opts.idle; i++) {
    const hello = ampe.get(AllocationStrategy.always)!;
    const address = opts.transport === "tcp"
      ? new TCPClientAddress("127.0.0.1", opts.port)
      : new UDSClientAddress(opts.address);
    address.format(hello);
    g.post(hello);
  }
  for (let i = 0; i < opts.idle; i++) {
    const welcome = await receive(ampe, g, SETUP_MS);
    if (welcome.bhdr.status !== AmpeStatus.success) {
      throw failure("Cannot open an idle channel", welcome);
    }
    ampe.put(welcome);
  }
}

interface Client {
  ampe: Ampe;
  g: ChannelGroup;
  channel: number;
  body: Uint8Array;
  opts: PeerOptions;
}

async function pingPong({ ampe, g, channel, body, opts }: Client): Promise<object> {
  const { warmup, count, size, mode, rate } = opts;
  const latencies = new Float64Array(count);
  const pace = mode === "paced" ? pacer(rate, warmup) : () => undefined;
  let start = performance.now();
  for (let i = 0; i < warmup + count; i++) {
    if (i === warmup) {
      markTimed("start");
      start = performance.now();
    }
    const paced = pace();
    if (paced !== undefined) await paced;
    const t0 = performance.now();
    const m = ampe.get(AllocationStrategy.always)!;
    m.bhdr.proto.opCode = OpCode.Request;
    m.bhdr.channelNumber = channel;
    m.body.append(body);
    g.post(m);
    const reply = await receive(ampe, g);
    if (reply.bhdr.proto.opCode !== OpCode.Response || reply.isFromEngine()) {
      throw failure("Expected a Response", reply);
    }
    if (reply.body.byteLength !== size) throw failure(`Expected a ${size}-byte body`, reply);
    ampe.put(reply);
    if (i >= warmup) latencies[i - warmup] = performance.now() - t0;
  }
  markTimed("end");
  return pingPongResult(
    latencies,
    (performance.now() - start) / 1000,
    mode === "stream" ? "pingpong" : mode,
  );
}

async function stream(client: Client): Promise<object> {
  const { warmup, count, size } = client.opts;
  if (warmup > 0) await streamPhase(client, warmup);
  allocStart();
  markTimed("start");
  const start = performance.now();
  await streamPhase(client, count);
  const seconds = (performance.now() - start) / 1000;
  markTimed("end");
  allocEnd(count);
  return streamResult(count, size, seconds);
}

/** Posts `n` messages, taking them from the pool only, then awaits the server's Response. */
async function streamPhase({ ampe, g, channel, body }: Client, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const m = ampe.get(AllocationStrategy.poolOnly) ?? (await ampe.waitGet(WAIT_INFINITE))!;
    m.bhdr.proto.opCode = OpCode.Request;
    m.bhdr.channelNumber = channel;
    m.body.append(body);
    g.post(m);
  }
  const ack = await receive(ampe, g);
  if (ack.bhdr.proto.opCode !== OpCode.Response || ack.isFromEngine()) {
    throw failure("Expected the Response", ack);
  }
  ampe.put(ack);
}

const opts = parsePeerArgs(process.argv.slice(2));
// Profiling aid (scripts/bench/profile.mjs): count native calls; never set for measurements.
if (process.env.TOFU_BENCH_COUNT_CALLS === "1") {
  (await import("./native_call_counter.ts")).countNativeCalls();
}
await (opts.role === "server" ? serve(opts) : runClient(opts));
