/**
 * Your first client: connects to `first_server.ts`, sends three requests,
 * prints the answers, then leaves politely (ByeRequest, ByeResponse).
 *
 * Run: `deno run --allow-ffi --allow-read --allow-env examples/first_client.ts <port>`
 * or `bun examples/first_client.ts <port>`, with the port the server printed.
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
  TCPClientAddress,
} from "../mod.ts";

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error("usage: first_client.ts <port>");
  process.exit(2);
}

// #region connect
await using rtr = await Reactor.create();
const ampe = rtr.ampe();
const group = ampe.create();

const hello = ampe.get(AllocationStrategy.always)!;
new TCPClientAddress("127.0.0.1", port).format(hello);
const { channelNumber: ch } = group.post(hello); // the channel exists from now on

const answer = (await group.waitReceive(5000))!;
if (answer.bhdr.proto.opCode !== OpCode.HelloResponse || answer.bhdr.status !== 0) {
  // connect_failed, invalid_address, ...: the engine closes the channel after this
  console.error(`cannot connect to port ${port}: ${statusName(answer.bhdr.status)}`);
  process.exit(1);
}
ampe.put(answer);
console.log(`connected on channel ${ch}`);
// #endregion connect

// #region requests
for (const word of ["tofu", "is", "tasty"]) {
  const request = ampe.get(AllocationStrategy.always)!;
  request.bhdr.channelNumber = ch;
  request.body.append(word);
  const { messageId } = group.post(request); // the engine numbers it

  const response = (await group.waitReceive(5000))!;
  // The server answered with the same message id: that is how replies are matched.
  if (response.bhdr.messageId !== messageId) throw new Error("an answer to another request");
  console.log(`${word} -> ${response.body.text()}`);
  ampe.put(response);
}
// #endregion requests

// #region bye
const bye = ampe.get(AllocationStrategy.always)!;
bye.bhdr.proto.opCode = OpCode.ByeRequest;
bye.bhdr.channelNumber = ch;
group.post(bye);
for (;;) {
  const msg = (await group.waitReceive(5000))!;
  const { opCode } = msg.bhdr.proto;
  const closed = opCode === OpCode.Signal && msg.bhdr.status === AmpeStatus.channelClosed;
  ampe.put(msg);
  if (opCode === OpCode.ByeResponse) console.log("the server said bye");
  if (closed) break; // the engine closed the channel after the ByeResponse
}
console.log("disconnected");
// #endregion bye
