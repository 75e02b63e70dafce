/**
 * Your first server: listens on TCP, accepts every client, answers each
 * request with the request's text in upper case, and answers a client's
 * ByeRequest with a ByeResponse.
 *
 * Run: `deno run --allow-ffi --allow-read --allow-env examples/first_server.ts [port] [clients]`
 * or `bun examples/first_server.ts [port] [clients]`. It prints the port it
 * listens on (a free one when `port` is 0 or missing) and exits after
 * `clients` clients have left (it runs until killed without it).
 *
 * @module
 */

import process from "node:process";
import {
  AllocationStrategy,
  AmpeStatus,
  OpCode,
  Reactor,
  statusName,
  TCPServerAddress,
} from "../mod.ts";
import { findFreeTcpPort } from "../testing.ts";

const requestedPort = Number(process.argv[2] ?? 0);
const maxClients = Number(process.argv[3] ?? Infinity);

// #region listen
await using rtr = await Reactor.create();
const ampe = rtr.ampe();
const group = ampe.create();

const port = requestedPort > 0 ? requestedPort : await findFreeTcpPort();
const welcome = ampe.get(AllocationStrategy.always)!;
new TCPServerAddress("127.0.0.1", port).format(welcome);
group.post(welcome);

const listening = (await group.waitReceive(5000))!;
if (listening.bhdr.status !== AmpeStatus.success) {
  console.error(`cannot listen on port ${port}: ${statusName(listening.bhdr.status)}`);
  process.exit(1);
}
ampe.put(listening);
console.log(`listening on 127.0.0.1:${port}`);
// #endregion listen

// #region serve
const clients = new Set<number>(); // channels that said hello
let left = 0;
while (left < maxClients) {
  const msg = (await group.waitReceive(Infinity))!;
  const { channelNumber: ch, status } = msg.bhdr;
  switch (msg.bhdr.proto.opCode) {
    case OpCode.HelloRequest: // a new client: accept it by answering with the same message
      clients.add(ch);
      console.log(`client ${ch} connected`);
      msg.bhdr.proto.opCode = OpCode.HelloResponse;
      group.post(msg);
      break;
    // #region answer
    case OpCode.Request: { // answer on the same channel, with the same message id
      const text = msg.body.text();
      msg.bhdr.proto.opCode = OpCode.Response;
      msg.body.set(text.toUpperCase());
      group.post(msg);
      break;
    }
    // #endregion answer
    case OpCode.ByeRequest: // the client wants to leave: agree
      msg.bhdr.proto.opCode = OpCode.ByeResponse;
      group.post(msg);
      break;
    case OpCode.Signal:
      // The engine's last word on a channel: it is closed. Unknown channels
      // (a peer that left before saying hello) are ignored.
      if (status === AmpeStatus.channelClosed && clients.delete(ch)) {
        console.log(`client ${ch} left`);
        left++;
      }
      ampe.put(msg);
      break;
    default:
      ampe.put(msg);
  }
}
console.log(`served ${left} client(s), stopping`);
// #endregion serve
