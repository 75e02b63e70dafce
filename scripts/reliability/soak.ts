/**
 * Soak: streams between two tofu engines for a while and samples RSS, open
 * descriptors and throughput every few seconds; all must stay flat.
 *
 * Usage (Deno or Bun):
 *
 *   deno run -A --v8-flags=--expose-gc scripts/reliability/soak.ts [--seconds 600] [--interval 5] [--out file.csv]
 *   bun scripts/reliability/soak.ts --seconds 60
 *
 * Traffic: 8 long-lived channels (4 TCP, 4 UDS) keep 16 requests each in
 * flight (bodies of 0 B to 8 KiB, every response checked), and every sample
 * period 20 short-lived connections open, exchange, and close (half with
 * ByeRequest/ByeResponse, half by destroying their group).
 *
 * Writes one CSV row per sample (default `.ci/out/soak-<runtime>.csv`) and
 * checks, after a warm-up of min(30 s, half the run):
 * - RSS at the end <= RSS after the warm-up x 1.5 + 20 MB;
 * - open descriptors at the end = after the warm-up;
 * - every sample's throughput within a factor of 3 of the median.
 * Prints the samples and a closing `N passed, M failed` line; exits 1 on a
 * failed check. `scripts/reliability/soak_plot.ts` draws the CSV files.
 *
 * @module
 */

import process from "node:process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  AllocationStrategy,
  type Ampe,
  AmpeStatus,
  type ChannelGroup,
  type Message,
  OpCode,
  Reactor,
  TCPClientAddress,
  TCPServerAddress,
  UDSClientAddress,
  UDSServerAddress,
} from "../../mod.ts";
import { findFreeTcpPort, tempUdsPath } from "../../testing.ts";
import {
  collectGarbage,
  nativeHandleCount,
  openFds,
  rssBytes,
  runtimeName,
  SOCKET_FDS,
} from "../../tests/_support/resources.ts";
import { sleep } from "../../tests/_support/wait.ts";

interface Args {
  seconds: number;
  interval: number;
  out: string;
}

function parseArgs(argv: string[]): Args {
  const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
  const args: Args = {
    seconds: 600,
    interval: 5,
    out: join(root, ".ci", "out", `soak-${runtimeName()}.csv`),
  };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${name} needs a value`);
    if (name === "--out") {
      args.out = value;
      continue;
    }
    const n = Number(value);
    if (!(n > 0)) throw new Error(`${name} needs a positive number, got "${value}"`);
    if (name === "--seconds") args.seconds = n;
    else if (name === "--interval") args.interval = n;
    else throw new Error(`Unknown argument "${name}": expected --seconds, --interval or --out`);
  }
  return args;
}

const WAIT_MS = 10_000;
const STEADY_CHANNELS = 8;
const IN_FLIGHT = 16;
const CHURN_PER_PERIOD = 20;
const BODY_SIZES = [0, 100, 1000, 8000];

async function next(g: ChannelGroup, what: string): Promise<Message> {
  const m = await g.waitReceive(WAIT_MS);
  if (m === null) throw new Error(`No ${what} within ${WAIT_MS} ms`);
  return m;
}

/** The server app: accepts hellos, echoes requests, answers ByeRequests, until its group is destroyed. */
async function serve(ampe: Ampe, g: ChannelGroup): Promise<void> {
  for (;;) {
    let m: Message;
    try {
      const got = await g.waitReceive(Infinity);
      if (got === null) continue;
      m = got;
    } catch {
      return;
    }
    const op = m.bhdr.proto.opCode;
    if (m.isFromEngine()) {
      ampe.put(m);
      continue;
    }
    const reply = op === OpCode.HelloRequest
      ? OpCode.HelloResponse
      : op === OpCode.Request
      ? OpCode.Response
      : op === OpCode.ByeRequest
      ? OpCode.ByeResponse
      : -1;
    if (reply === -1) {
      ampe.put(m);
      continue;
    }
    m.bhdr.proto.opCode = reply;
    g.post(m);
  }
}

async function connect(
  ampe: Ampe,
  g: ChannelGroup,
  addr: TCPClientAddress | UDSClientAddress,
): Promise<number> {
  const hello = ampe.get(AllocationStrategy.always)!;
  addr.format(hello);
  const C = g.post(hello).channelNumber;
  for (;;) {
    const m = await next(g, "HelloResponse");
    const ok = m.bhdr.proto.opCode === OpCode.HelloResponse && m.bhdr.channelNumber === C;
    const status = m.bhdr.status;
    ampe.put(m);
    if (status === AmpeStatus.poolEmpty) continue;
    if (!ok || status !== 0) throw new Error(`Connect failed with status ${status}`);
    return C;
  }
}

/** Keeps IN_FLIGHT requests on channel C until `stop.now`; counts checked round trips. */
async function steady(
  ampe: Ampe,
  g: ChannelGroup,
  C: number,
  counter: { n: number },
  stop: { now: boolean },
): Promise<void> {
  let sent = 0n;
  let received = 0n;
  const post = () => {
    sent++;
    const m = ampe.get(AllocationStrategy.always)!;
    m.bhdr.channelNumber = C;
    m.bhdr.messageId = sent;
    const size = BODY_SIZES[Number(sent % BigInt(BODY_SIZES.length))]!;
    if (size > 0) m.body.append(new Uint8Array(size).fill(Number(sent & 0xffn)));
    g.post(m);
  };
  for (let i = 0; i < IN_FLIGHT; i++) post();
  while (received < sent) {
    const m = await next(g, `Response on channel ${C}`);
    if (m.isFromEngine()) {
      const status = m.bhdr.status;
      ampe.put(m);
      if (status === AmpeStatus.poolEmpty) continue;
      throw new Error(`Channel ${C}: engine message with status ${status}`);
    }
    received++;
    const size = BODY_SIZES[Number(received % BigInt(BODY_SIZES.length))]!;
    const body = m.body.bytes();
    if (
      m.bhdr.proto.opCode !== OpCode.Response || m.bhdr.messageId !== received ||
      body.length !== size ||
      (size > 0 && body[size - 1] !== Number(received & 0xffn))
    ) {
      throw new Error(`Channel ${C}: bad response ${m.bhdr.messageId} (expected ${received})`);
    }
    ampe.put(m);
    counter.n++;
    if (!stop.now) post();
  }
}

/** Opens CHURN_PER_PERIOD connections, exchanges one request on each, and closes them. */
async function churn(
  ampe: Ampe,
  addrs: (TCPClientAddress | UDSClientAddress)[],
  round: number,
): Promise<void> {
  const g = ampe.create();
  const channels: number[] = [];
  for (let i = 0; i < CHURN_PER_PERIOD; i++) {
    channels.push(await connect(ampe, g, addrs[i % addrs.length]!));
  }
  for (const C of channels) {
    const m = ampe.get(AllocationStrategy.always)!;
    m.bhdr.channelNumber = C;
    m.body.append("churn");
    g.post(m);
  }
  for (let got = 0; got < channels.length;) {
    const m = await next(g, "churn Response");
    if (m.bhdr.proto.opCode === OpCode.Response) got++;
    ampe.put(m);
  }
  if (round % 2 === 0) {
    // Graceful: ByeRequest, the server's ByeResponse closes each channel.
    for (const C of channels) {
      const bye = ampe.get(AllocationStrategy.always)!;
      bye.bhdr.proto.opCode = OpCode.ByeRequest;
      bye.bhdr.channelNumber = C;
      g.post(bye);
    }
    for (let closed = 0; closed < channels.length;) {
      const m = await next(g, "churn close");
      if (
        m.isFromEngine() && m.bhdr.proto.opCode === OpCode.Signal &&
        m.bhdr.status === AmpeStatus.channelClosed
      ) {
        closed++;
      }
      ampe.put(m);
    }
  }
  await ampe.destroy(g);
}

interface Sample {
  t: number;
  rss: number;
  heap: number;
  fds: number;
  sockets: number;
  handles: number;
  perSecond: number;
}

const args = parseArgs(process.argv.slice(2));
const runtime = runtimeName();
// Deno's RSS steps up once in the first 10-30 s of heavy traffic (native memory; the JS heap stays
// flat), then stays flat: the baseline is taken after that.
const warmUp = Math.min(30, args.seconds / 2);
console.log(
  `soak (${runtime}): ${args.seconds} s, a sample every ${args.interval} s, warm-up ${warmUp} s, CSV ${args.out}`,
);

// max = initial: the pools do not slowly fill up to a larger cap, so a growing curve means a leak.
const POOL = { initialPoolMsgs: 256, maxPoolMsgs: 256 };
const server = await Reactor.create(POOL);
const client = await Reactor.create(POOL);
const samples: Sample[] = [];
try {
  const sa = server.ampe(), ca = client.ampe();
  const gs = sa.create();
  const port = await findFreeTcpPort();
  const path = tempUdsPath();
  for (const addr of [new TCPServerAddress("127.0.0.1", port), new UDSServerAddress(path)]) {
    const w = sa.get(AllocationStrategy.always)!;
    addr.format(w);
    gs.post(w);
    const r = await next(gs, "WelcomeResponse");
    if (r.bhdr.status !== 0) throw new Error(`Listen failed with status ${r.bhdr.status}`);
    sa.put(r);
  }
  const serving = serve(sa, gs);
  const addrs = [new TCPClientAddress("127.0.0.1", port), new UDSClientAddress(path)];
  const counter = { n: 0 };
  const stop = { now: false };
  const loops: Promise<void>[] = [];
  for (let i = 0; i < STEADY_CHANNELS; i++) {
    const g = ca.create();
    const C = await connect(ca, g, addrs[i % 2]!);
    loops.push(steady(ca, g, C, counter, stop));
  }
  const started = performance.now();
  let lastAt = started;
  let lastCount = 0;
  for (let round = 0; performance.now() - started < args.seconds * 1000; round++) {
    await churn(ca, addrs, round);
    const wait = started + (round + 1) * args.interval * 1000 - performance.now();
    if (wait > 0) await sleep(wait);
    collectGarbage();
    const now = performance.now();
    const s: Sample = {
      t: (now - started) / 1000,
      rss: rssBytes(),
      heap: process.memoryUsage().heapUsed,
      fds: openFds(),
      sockets: openFds(SOCKET_FDS),
      handles: nativeHandleCount(),
      perSecond: ((counter.n - lastCount) * 2) / ((now - lastAt) / 1000),
    };
    lastAt = now;
    lastCount = counter.n;
    samples.push(s);
    console.log(
      `t=${s.t.toFixed(0).padStart(4)} s  rss ${(s.rss / 1e6).toFixed(1)} MB  heap ${
        (s.heap / 1e6).toFixed(1)
      } MB  fds ${s.fds}  sockets ${s.sockets}  handles ${s.handles}  ${
        Math.round(s.perSecond)
      } msg/s`,
    );
  }
  stop.now = true;
  await Promise.all(loops);
  await sa.destroy(gs);
  await serving;
} finally {
  await client.destroy();
  await server.destroy();
}

mkdirSync(dirname(args.out), { recursive: true });
writeFileSync(
  args.out,
  "t_s,rss_mb,heap_mb,fds,sockets,handles,msgs_per_s\n" +
    samples.map((s) =>
      [
        s.t.toFixed(1),
        (s.rss / 1e6).toFixed(2),
        (s.heap / 1e6).toFixed(2),
        s.fds,
        s.sockets,
        s.handles,
        s.perSecond.toFixed(0),
      ]
        .join(",")
    ).join("\n") + "\n",
);

// ---- flatness checks ----
const afterWarmUp = samples.find((s) => s.t >= warmUp) ?? samples[0]!;
const end = samples.at(-1)!;
const steadyRates = samples.filter((s) => s.t >= warmUp).map((s) => s.perSecond).sort((a, b) =>
  a - b
);
const median = steadyRates[Math.floor(steadyRates.length / 2)] ?? 0;
const checks: [string, boolean][] = [
  [
    `RSS at the end ${(end.rss / 1e6).toFixed(1)} MB <= ${
      (afterWarmUp.rss / 1e6).toFixed(1)
    } MB x 1.5 + 20 MB`,
    end.rss <= afterWarmUp.rss * 1.5 + 20 * 1024 * 1024,
  ],
  [
    `descriptors at the end ${end.fds} = after the warm-up ${afterWarmUp.fds}`,
    end.fds === afterWarmUp.fds,
  ],
  [
    `throughput within 3x of its median ${Math.round(median)} msg/s (min ${
      Math.round(steadyRates[0] ?? 0)
    }, max ${Math.round(steadyRates.at(-1) ?? 0)})`,
    median > 0 && steadyRates.every((r) => r >= median / 3 && r <= median * 3),
  ],
];
for (const [what, ok] of checks) console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
const failed = checks.filter(([, ok]) => !ok).length;
console.log(`soak-${runtime}: ${checks.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
