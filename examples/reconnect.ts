/**
 * A reconnect loop: tofu never reconnects by itself. A failed connect comes
 * back as a HelloResponse with a failure status, followed by the channel's
 * closing Signal; the app waits and posts a new HelloRequest (a new channel).
 * Here the server only starts listening before the third attempt.
 *
 * @module
 */

import {
  AllocationStrategy,
  type Ampe,
  type ChannelGroup,
  OpCode,
  Reactor,
  statusName,
  TCPClientAddress,
  TCPServerAddress,
} from "../mod.ts";
import { findFreeTcpPort } from "../testing.ts";
import { isClosed, next } from "./pair.ts";

await using rtr = await Reactor.create();
const ampe = rtr.ampe();
const port = await findFreeTcpPort();
const serverGroup = ampe.create();
const clientGroup = ampe.create();

function startServer(): void {
  const welcome = ampe.get(AllocationStrategy.always)!;
  new TCPServerAddress("127.0.0.1", port).format(welcome);
  serverGroup.post(welcome);
  // The server group accepts every hello (its loop runs beside the client's).
  void (async () => {
    for await (const msg of serverGroup) {
      if (msg.bhdr.proto.opCode !== OpCode.HelloRequest) {
        ampe.put(msg);
        continue;
      }
      msg.bhdr.proto.opCode = OpCode.HelloResponse;
      serverGroup.post(msg);
    }
  })();
}

// #region reconnect
/** Connects, retrying with a growing delay; resolves with the connected channel. */
async function connectWithRetry(
  ampe: Ampe,
  group: ChannelGroup,
  address: TCPClientAddress,
  attempts: number,
  beforeAttempt: (attempt: number) => void = () => {},
): Promise<number> {
  let delayMs = 50;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    beforeAttempt(attempt);
    const hello = ampe.get(AllocationStrategy.always)!;
    address.format(hello);
    const ch = group.post(hello).channelNumber;

    const answer = await next(group);
    const status = answer.bhdr.status;
    ampe.put(answer);
    if (status === 0) {
      console.log(`attempt ${attempt}: connected on channel ${ch}`);
      return ch;
    }
    console.log(`attempt ${attempt}: ${statusName(status)}, retrying in ${delayMs} ms`);
    // The failed channel's last message is its channel_closed Signal.
    for (let closed = false; !closed;) {
      const msg = await next(group);
      closed = isClosed(msg);
      ampe.put(msg);
    }
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    delayMs = Math.min(delayMs * 2, 1000);
  }
  throw new Error(`cannot connect after ${attempts} attempts`);
}
// #endregion reconnect

const address = new TCPClientAddress("127.0.0.1", port);
await connectWithRetry(ampe, clientGroup, address, 5, (attempt) => {
  if (attempt === 3) startServer();
});
