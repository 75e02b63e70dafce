/**
 * The demo behind `npm run demo`: one server and several clients in one
 * process exchange requests, progress signals and a streamed reply over TCP
 * on 127.0.0.1, then the clients pipeline echo requests for about a second
 * and the demo prints the throughput. Runs unchanged on Deno and Bun.
 *
 * Deno: `deno run --allow-ffi --allow-read --allow-env scripts/demo.ts`
 * Bun:  `bun scripts/demo.ts`
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
  MoreMessagesFlag,
  OpCode,
  Reactor,
  statusName,
  TCPClientAddress,
  TCPServerAddress,
} from "../mod.ts";
import { findFreeTcpPort } from "../testing.ts";

const CLIENTS = 4;
const PAYLOAD_BYTES = 256;
const WINDOW = 32; // requests in flight per client during the throughput run
const RUN_MS = 1000;

const runtime = typeof process.versions.bun === "string"
  ? `Bun ${process.versions.bun}`
  : `Deno ${process.versions.deno ?? "?"}`;

await using rtr = await Reactor.create({ initialPoolMsgs: 256, maxPoolMsgs: 1024 });
const ampe = rtr.ampe();
const port = await findFreeTcpPort();
console.log(`tofu demo on ${runtime}, ${process.platform}-${process.arch}, backend ${rtr.backend}`);

async function next(group: ChannelGroup): Promise<Message> {
  const msg = await group.waitReceive(10_000);
  if (msg === null) throw new Error("The demo got no message within 10 s");
  return msg;
}

function isClosed(msg: Message): boolean {
  return msg.bhdr.proto.opCode === OpCode.Signal && msg.bhdr.status === AmpeStatus.channelClosed;
}

/** The server: accepts everyone, echoes requests, runs "job" and "stream" requests. */
async function serve(group: ChannelGroup): Promise<void> {
  for await (const msg of group) {
    const { channelNumber: ch, messageId: id } = msg.bhdr;
    switch (msg.bhdr.proto.opCode) {
      case OpCode.HelloRequest:
        msg.bhdr.proto.opCode = OpCode.HelloResponse;
        group.post(msg);
        break;
      case OpCode.ByeRequest:
        msg.bhdr.proto.opCode = OpCode.ByeResponse;
        group.post(msg);
        break;
      case OpCode.Request: {
        const kind = msg.thdrs.get("Kind");
        if (kind === "job") {
          for (const step of ["parsing", "rendering", "packing"]) {
            group.post(reply(ampe, OpCode.Signal, ch, id, `progress: ${step}`));
          }
          msg.body.set(`done: ${msg.body.text()}`);
        } else if (kind === "stream") {
          const parts = Number(msg.thdrs.get("Parts") ?? 3);
          for (let i = 1; i < parts; i++) {
            const part = reply(ampe, OpCode.Response, ch, id, `part ${i}/${parts}`);
            part.bhdr.proto.more = MoreMessagesFlag.more;
            group.post(part);
          }
          msg.body.set(`part ${parts}/${parts}`);
        } else if (kind === "hello") {
          msg.body.set(`welcome, ${msg.body.text()}`);
        }
        msg.bhdr.proto.opCode = OpCode.Response; // the last (or only) answer: same id
        group.post(msg);
        break;
      }
      default: // engine notices (a closed channel, ...): nothing to do here
        ampe.put(msg);
    }
  }
}

function reply(ampe: Ampe, opCode: OpCode, ch: number, id: bigint, text: string): Message {
  const msg = ampe.get(AllocationStrategy.always)!;
  msg.bhdr.proto.opCode = opCode;
  msg.bhdr.channelNumber = ch;
  msg.bhdr.messageId = id;
  msg.body.append(text);
  return msg;
}

/** A connected client: its group and channel. */
interface Client {
  readonly name: string;
  readonly group: ChannelGroup;
  readonly ch: number;
}

async function connect(name: string): Promise<Client> {
  const group = ampe.create();
  const hello = ampe.get(AllocationStrategy.always)!;
  new TCPClientAddress("127.0.0.1", port).format(hello);
  const ch = group.post(hello).channelNumber;
  const answer = await next(group);
  const status = answer.bhdr.status;
  ampe.put(answer);
  if (status !== AmpeStatus.success) {
    throw new Error(`${name} cannot connect: ${statusName(status)}`);
  }
  return { name, group, ch };
}

function request(client: Client, kind: string, body: string, parts?: number): bigint {
  const msg = ampe.get(AllocationStrategy.always)!;
  msg.bhdr.channelNumber = client.ch;
  msg.thdrs.append("Kind", kind);
  if (parts !== undefined) msg.thdrs.append("Parts", String(parts));
  msg.body.append(body);
  return client.group.post(msg).messageId;
}

// The server listens, then every client connects.
const serverGroup = ampe.create();
const welcome = ampe.get(AllocationStrategy.always)!;
new TCPServerAddress("127.0.0.1", port).format(welcome);
serverGroup.post(welcome);
const listening = await next(serverGroup);
if (listening.bhdr.status !== AmpeStatus.success) {
  throw new Error(`The server cannot listen on port ${port}: ${statusName(listening.bhdr.status)}`);
}
ampe.put(listening);
console.log(`server listening on 127.0.0.1:${port}`);
const serving = serve(serverGroup);

const clients = await Promise.all(
  Array.from({ length: CLIENTS }, (_, i) => connect(`client ${i + 1}`)),
);
console.log(`${clients.length} clients connected`);

// 1. Request and response, from every client.
for (const client of clients) {
  request(client, "hello", client.name);
  const answer = await next(client.group);
  console.log(`${client.name} <- Response "${answer.body.text()}"`);
  ampe.put(answer);
}

// 2. Signals: progress reports tied to a request by its message id.
{
  const client = clients[0]!;
  const id = request(client, "job", "render");
  for (;;) {
    const msg = await next(client.group);
    const last = msg.bhdr.proto.opCode === OpCode.Response;
    const kind = last ? "Response" : "Signal";
    const about = msg.bhdr.messageId === id ? `for request ${id}` : "for another request";
    console.log(`${client.name} <- ${kind} "${msg.body.text()}" ${about}`);
    ampe.put(msg);
    if (last) break;
  }
}

// 3. A streamed reply: every part but the last has the `more` flag.
{
  const client = clients[1]!;
  request(client, "stream", "file", 4);
  for (;;) {
    const msg = await next(client.group);
    const more = msg.hasMore();
    console.log(`${client.name} <- Response "${msg.body.text()}"${more ? " (more)" : " (last)"}`);
    ampe.put(msg);
    if (!more) break;
  }
}

// 4. Throughput: every client keeps WINDOW echo requests in flight for RUN_MS.
const payload = "x".repeat(PAYLOAD_BYTES);
async function pump(client: Client, until: number): Promise<number> {
  let inFlight = 0;
  let done = 0;
  const send = () => {
    const msg = ampe.get(AllocationStrategy.always)!;
    msg.bhdr.channelNumber = client.ch;
    msg.body.append(payload);
    client.group.post(msg);
    inFlight++;
  };
  while (inFlight < WINDOW) send();
  while (inFlight > 0) {
    ampe.put(await next(client.group));
    inFlight--;
    done++;
    if (performance.now() < until) send();
  }
  return done;
}
const started = performance.now();
const counts = await Promise.all(clients.map((c) => pump(c, started + RUN_MS)));
const seconds = (performance.now() - started) / 1000;
const total = counts.reduce((a, b) => a + b, 0);
const perSecond = Math.round(total / seconds);
const mbPerSecond = (total * PAYLOAD_BYTES * 2) / seconds / 1e6;
console.log(
  `throughput: ${perSecond.toLocaleString("en-US")} request/response pairs per second ` +
    `(${total.toLocaleString("en-US")} round trips of ${PAYLOAD_BYTES}-byte bodies, ` +
    `${CLIENTS} clients x ${WINDOW} in flight, ${mbPerSecond.toFixed(1)} MB/s of bodies, ` +
    `${seconds.toFixed(2)} s)`,
);

// Goodbye: each client leaves gracefully, then the engine stops.
for (const client of clients) {
  const bye = ampe.get(AllocationStrategy.always)!;
  bye.bhdr.proto.opCode = OpCode.ByeRequest;
  bye.bhdr.channelNumber = client.ch;
  client.group.post(bye);
  for (let closed = false; !closed;) {
    const msg = await next(client.group);
    closed = isClosed(msg);
    ampe.put(msg);
  }
}
console.log(`${clients.length} clients said bye; stopping the engine`);
await rtr.destroy();
await serving; // the server's loop ends when the engine is destroyed
console.log("done");
