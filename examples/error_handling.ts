/**
 * Errors come two ways. A post that is wrong in itself throws an AmpeError
 * at once, and the caller keeps the message. Everything that happens later
 * (a refused connect, an address in use, a lost peer) arrives as a message
 * whose status says what went wrong, followed by the channel's closing Signal.
 *
 * @module
 */

import {
  AllocationStrategy,
  AmpeError,
  AmpeStatus,
  type Message,
  Reactor,
  statusName,
  TCPClientAddress,
  TCPServerAddress,
} from "../mod.ts";
import { findFreeTcpPort } from "../testing.ts";
import { isClosed, next, show } from "./pair.ts";

await using rtr = await Reactor.create();
const ampe = rtr.ampe();
const group = ampe.create();

// #region sync
const request = ampe.get(AllocationStrategy.always)!;
request.body.append("to nobody"); // no channel number: post cannot route it
try {
  group.post(request);
} catch (error) {
  if (!(error instanceof AmpeError)) throw error;
  console.log(`post threw ${error.code} (status ${statusName(error.status)})`);
  ampe.put(request); // a failed post leaves the message with the caller
}
// #endregion sync

// #region handed-over
const used = ampe.get(AllocationStrategy.always)!;
ampe.put(used); // handed over: the object is dead from now on
try {
  used.body.append("too late");
} catch (error) {
  if (!(error instanceof AmpeError) || error.status !== AmpeStatus.nullMessage) throw error;
  console.log(`a handed-over message throws ${error.code}`);
}
// #endregion handed-over

// #region async
/** Posts a Hello/WelcomeRequest and prints what comes back until the channel closes. */
async function report(what: string, request: Message): Promise<number> {
  group.post(request);
  const answer = await next(group);
  const status = answer.bhdr.status;
  console.log(`${what}: ${show(answer)}`);
  ampe.put(answer);
  if (status !== AmpeStatus.success) {
    // After a failure the engine always sends the channel's closing Signal.
    for (let closed = false; !closed;) {
      const msg = await next(group);
      closed = isClosed(msg);
      ampe.put(msg);
    }
  }
  return status;
}

const port = await findFreeTcpPort(); // nothing listens there yet
const hello = ampe.get(AllocationStrategy.always)!;
new TCPClientAddress("127.0.0.1", port).format(hello);
await report("connect to a closed port", hello);

const first = ampe.get(AllocationStrategy.always)!;
new TCPServerAddress("127.0.0.1", port).format(first);
await report("listen", first);
const second = ampe.get(AllocationStrategy.always)!;
new TCPServerAddress("127.0.0.1", port).format(second);
await report("listen on the same port again", second);
// #endregion async
