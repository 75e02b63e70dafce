/**
 * Reading a message: `console.log(msg)` shows what arrived (header by name,
 * text headers, the start of the body); a `switch` on the opCode narrows to
 * each literal and lets the compiler check that every opCode is handled; a
 * misuse of the API throws an `AmpeError` whose status says what was wrong.
 *
 * @module
 */

import {
  AllocationStrategy,
  AmpeError,
  AmpeStatus,
  type Message,
  OpCode,
  Reactor,
  statusName,
} from "../mod.ts";
import { connectPair, next } from "./pair.ts";

await using rtr = await Reactor.create();
const ampe = rtr.ampe();
const server = ampe.create();
const client = ampe.create();
const pair = await connectPair(ampe, server, client);

const request = ampe.get(AllocationStrategy.always)!;
request.bhdr.channelNumber = pair.client;
request.thdrs.append("Method", "sum");
request.body.append("[1, 2, 3]");
const { messageId } = client.post(request); // a bigint: match the answer with it
console.log(`posted request ${messageId}n`);

// #region reading
const msg = await next(server);
console.log(msg); // the header by name, the text headers, the start of the body

/** What the server does with each kind of message: the switch covers every opCode. */
function describe(msg: Message): string {
  const op = msg.bhdr.proto.opCode;
  switch (op) {
    case OpCode.Request:
      return `a request for ${msg.thdrs.get("Method")} on channel ${msg.bhdr.channelNumber}`;
    case OpCode.Response:
    case OpCode.Signal:
      return `a ${op === OpCode.Response ? "response" : "signal"} (${statusName(msg.bhdr.status)})`;
    case OpCode.HelloRequest:
    case OpCode.HelloResponse:
    case OpCode.ByeRequest:
    case OpCode.ByeResponse:
    case OpCode.ByeSignal:
    case OpCode.WelcomeRequest:
    case OpCode.WelcomeResponse:
      return "a channel message";
    default: {
      const never: never = op; // a new opCode would be a compile error here
      return `opCode ${never}`;
    }
  }
}
console.log(describe(msg));
// #endregion reading

// The status is a literal union too: compare it with AmpeStatus, no casts.
if (msg.bhdr.status === AmpeStatus.success) {
  msg.bhdr.proto.opCode = OpCode.Response;
  msg.body.set("6");
  server.post(msg);
}
const answer = await next(client);
console.log(`answer to ${answer.bhdr.messageId}n: ${answer.body.text()}`);
ampe.put(answer);

// #region misuse
// A wrong argument is an AmpeError with a status, never a TypeError or RangeError.
for (
  const misuse of [
    () => ampe.get("sometimes" as AllocationStrategy),
    () => request.body.append("too late"), // posted: the object was handed over
    () => client.waitReceive(-1),
  ]
) {
  try {
    await misuse();
  } catch (error) {
    if (!(error instanceof AmpeError)) throw error;
    console.log(`AmpeError ${statusName(error.status)}: ${error.message}`);
  }
}
// #endregion misuse
