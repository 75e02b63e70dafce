/**
 * A multi-homed server: one channel group listens on TCP and on a Unix
 * domain socket at once; clients of both arrive in the same receive queue.
 * The client's `~connect_to` header (sent with its HelloRequest) tells which
 * way it came.
 *
 * @module
 */

import {
  AllocationStrategy,
  type ChannelGroup,
  OpCode,
  Reactor,
  TCPClientAddress,
  TCPServerAddress,
  UDSClientAddress,
  UDSServerAddress,
} from "../mod.ts";
import { findFreeTcpPort, tempUdsPath } from "../testing.ts";
import { next } from "./pair.ts";

await using rtr = await Reactor.create();
const ampe = rtr.ampe();
const port = await findFreeTcpPort();
const path = tempUdsPath();

// #region listen
const serverGroup = ampe.create();
for (const address of [new TCPServerAddress("127.0.0.1", port), new UDSServerAddress(path)]) {
  const welcome = ampe.get(AllocationStrategy.always)!;
  address.format(welcome);
  serverGroup.post(welcome);
  const listening = await next(serverGroup);
  if (listening.bhdr.status !== 0) {
    throw new Error(`cannot listen: status ${listening.bhdr.status}`);
  }
  ampe.put(listening);
}
// #endregion listen

// #region serve
async function serve(requests: number): Promise<void> {
  const transportOf = new Map<number, string>(); // channel -> "tcp" or "uds"
  while (requests > 0) {
    const msg = await next(serverGroup);
    const ch = msg.bhdr.channelNumber;
    if (msg.bhdr.proto.opCode === OpCode.HelloRequest) {
      transportOf.set(ch, msg.thdrs.get("~connect_to")?.split("|")[0] ?? "?");
      msg.bhdr.proto.opCode = OpCode.HelloResponse;
      serverGroup.post(msg);
    } else if (msg.bhdr.proto.opCode === OpCode.Request) {
      msg.bhdr.proto.opCode = OpCode.Response;
      msg.body.set(`${msg.body.text()}, you came over ${transportOf.get(ch)}`);
      serverGroup.post(msg);
      requests--;
    } else {
      ampe.put(msg);
    }
  }
}
// #endregion serve

async function ask(group: ChannelGroup, name: string): Promise<string> {
  const hello = ampe.get(AllocationStrategy.always)!;
  (name === "tcp client" ? new TCPClientAddress("127.0.0.1", port) : new UDSClientAddress(path))
    .format(hello);
  const ch = group.post(hello).channelNumber;
  ampe.put(await next(group)); // HelloResponse
  const request = ampe.get(AllocationStrategy.always)!;
  request.bhdr.channelNumber = ch;
  request.body.append(`hello from the ${name}`);
  group.post(request);
  const reply = await next(group);
  const text = reply.body.text();
  ampe.put(reply);
  return text;
}

const serving = serve(2);
const tcpGroup = ampe.create();
const udsGroup = ampe.create();
for (const text of await Promise.all([ask(tcpGroup, "tcp client"), ask(udsGroup, "uds client")])) {
  console.log(text);
}
await serving;
