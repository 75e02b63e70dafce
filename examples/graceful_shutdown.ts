/**
 * Graceful shutdown of a server with connected clients: stop accepting
 * (close the listener), say bye to every client and wait until each channel
 * is closed, then destroy the group and the engine. Nothing in flight is
 * lost: a ByeRequest is sent after everything posted before it.
 *
 * @module
 */

import {
  AllocationStrategy,
  type Ampe,
  type ChannelGroup,
  OpCode,
  Reactor,
  TCPClientAddress,
  TCPServerAddress,
} from "../mod.ts";
import { findFreeTcpPort } from "../testing.ts";
import { isClosed, next } from "./pair.ts";

const CLIENTS = 3;
const rtr = await Reactor.create();
const ampe = rtr.ampe();
const serverGroup = ampe.create();
const port = await findFreeTcpPort();

const welcome = ampe.get(AllocationStrategy.always)!;
new TCPServerAddress("127.0.0.1", port).format(welcome);
const listener = serverGroup.post(welcome).channelNumber;
ampe.put(await next(serverGroup));

/** A client that answers the server's ByeRequest and reports when its channel closes. */
async function runClient(ampe: Ampe, group: ChannelGroup): Promise<string> {
  const hello = ampe.get(AllocationStrategy.always)!;
  new TCPClientAddress("127.0.0.1", port).format(hello);
  group.post(hello);
  for (;;) {
    const msg = await next(group);
    if (msg.bhdr.proto.opCode === OpCode.ByeRequest) {
      msg.bhdr.proto.opCode = OpCode.ByeResponse; // agree: the server closes after it
      group.post(msg);
      continue;
    }
    const closed = isClosed(msg);
    ampe.put(msg);
    if (closed) return "closed by the server";
  }
}
const clientGroups = Array.from({ length: CLIENTS }, () => ampe.create());
const clientsDone = Promise.all(clientGroups.map((g) => runClient(ampe, g)));

const connected = new Set<number>();
while (connected.size < CLIENTS) {
  const msg = await next(serverGroup);
  if (msg.bhdr.proto.opCode === OpCode.HelloRequest) {
    connected.add(msg.bhdr.channelNumber);
    msg.bhdr.proto.opCode = OpCode.HelloResponse;
    serverGroup.post(msg);
  } else {
    ampe.put(msg);
  }
}
console.log(`${connected.size} clients connected`);

// #region shutdown
// 1. Stop accepting: ByeSignal on the listener closes it at once.
const stop = ampe.get(AllocationStrategy.always)!;
stop.bhdr.proto.opCode = OpCode.ByeSignal;
stop.bhdr.channelNumber = listener;
serverGroup.post(stop);

// 2. Say bye on every connection; each closes after the client's ByeResponse.
for (const ch of connected) {
  const bye = ampe.get(AllocationStrategy.always)!;
  bye.bhdr.proto.opCode = OpCode.ByeRequest;
  bye.bhdr.channelNumber = ch;
  serverGroup.post(bye);
}

// 3. Wait for the closing Signal of the listener and of every connection.
const open = new Set([listener, ...connected]);
while (open.size > 0) {
  const msg = await next(serverGroup);
  if (isClosed(msg)) open.delete(msg.bhdr.channelNumber);
  ampe.put(msg);
}
console.log("listener and all connections closed");

// 4. Free the group, then the engine (destroy also closes anything left, abortively).
await ampe.destroy(serverGroup);
// #endregion shutdown

for (const result of await clientsDone) console.log(`client: ${result}`);
await rtr.destroy();
console.log("engine destroyed");
