/**
 * Idle cost of an engine: one engine with a listener and one connected
 * client that exchange nothing; prints the process CPU time
 * (`process.cpuUsage()`, user + system) over the measured interval as a
 * percentage of one core. With `--baseline` the same process runs without
 * an engine, to show what the runtime alone costs.
 *
 * Run: `deno run -A scripts/bench/tofu_idle.ts [--baseline] [seconds]` or
 * `bun scripts/bench/tofu_idle.ts [--baseline] [seconds]`. Prints one JSON line.
 *
 * @module
 */

import process from "node:process";
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
} from "../../mod.ts";
import { findFreeTcpPort } from "../../testing.ts";

const SETUP_MS = 10_000;

async function next(g: ChannelGroup, what: string): Promise<Message> {
  const m = await g.waitReceive(SETUP_MS);
  if (m === null) throw new Error(`No ${what} within ${SETUP_MS} ms`);
  if (m.bhdr.status !== AmpeStatus.success) {
    throw new Error(`${what} failed with status ${m.bhdr.status}`);
  }
  return m;
}

/** Listener and connected client on one engine; resolves once the channel is open. */
async function connectPair(ampe: Ampe): Promise<void> {
  const server = ampe.create();
  const client = ampe.create();
  const port = await findFreeTcpPort();
  const welcome = ampe.get(AllocationStrategy.always)!;
  new TCPServerAddress("127.0.0.1", port).format(welcome);
  server.post(welcome);
  ampe.put(await next(server, "WelcomeResponse"));
  const hello = ampe.get(AllocationStrategy.always)!;
  new TCPClientAddress("127.0.0.1", port).format(hello);
  client.post(hello);
  const request = await next(server, "HelloRequest");
  request.bhdr.proto.opCode = OpCode.HelloResponse;
  server.post(request);
  ampe.put(await next(client, "HelloResponse"));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const args = process.argv.slice(2);
const baseline = args.includes("--baseline");
const secondsArg = args.find((a) => a !== "--baseline");
const seconds = secondsArg === undefined ? 5 : Number(secondsArg);
if (!(seconds > 0)) {
  throw new Error(`The interval must be a positive number of seconds, got "${secondsArg}"`);
}

const rtr = baseline ? null : await Reactor.create();
if (rtr !== null) await connectPair(rtr.ampe());
await sleep(200); // let start-up work (JIT, workers) settle before measuring
const before = process.cpuUsage();
const t0 = performance.now();
await sleep(seconds * 1000);
const used = process.cpuUsage(before);
const wallMs = performance.now() - t0;
await rtr?.destroy();
const cpuMs = (used.user + used.system) / 1000;
console.log(JSON.stringify({
  mode: "idle",
  baseline,
  seconds: wallMs / 1000,
  cpuMs,
  cpuPercent: (cpuMs / wallMs) * 100,
}));
