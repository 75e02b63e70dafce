/**
 * Awaiting responses with `group.request`: listen and connect by awaiting the
 * engine's answers, two requests in flight on one channel (answered out of
 * order), a Signal that stays in the receive queue, a timeout, and a request
 * rejected because the server went away.
 *
 * @module
 */

import {
  AllocationStrategy,
  AmpeError,
  type ChannelGroup,
  type Message,
  OpCode,
  Reactor,
  statusName,
  TCPClientAddress,
  TCPServerAddress,
} from "../mod.ts";
import { findFreeTcpPort } from "../testing.ts";
import { next, show } from "./pair.ts";

await using rtr = await Reactor.create();
const ampe = rtr.ampe();
const server = ampe.create();
const client = ampe.create();
const port = await findFreeTcpPort();

// #region connect
// A WelcomeRequest resolves with the WelcomeResponse once the engine listens,
// a HelloRequest with the server's HelloResponse; a failure rejects.
const welcome = ampe.get(AllocationStrategy.always)!;
new TCPServerAddress("127.0.0.1", port).format(welcome);
ampe.put(await server.request(welcome, 1000));

const hello = ampe.get(AllocationStrategy.always)!;
new TCPClientAddress("127.0.0.1", port).format(hello);
const connected = client.request(hello, 1000);
const helloIn = await next(server); // the server accepts as usual
const serverChannel = helloIn.bhdr.channelNumber;
helloIn.bhdr.proto.opCode = OpCode.HelloResponse;
server.post(helloIn);
const accepted = await connected;
const channel = accepted.bhdr.channelNumber;
ampe.put(accepted);
// #endregion connect

/** A Request with `text` on the client's channel. */
function question(text: string): Message {
  const msg = ampe.get(AllocationStrategy.always)!;
  msg.bhdr.channelNumber = channel;
  msg.body.append(text);
  return msg;
}

/** The server side: answers the next `count` requests in reverse order, after a Signal. */
async function answerReversed(group: ChannelGroup, count: number): Promise<void> {
  const requests: Message[] = [];
  for (let i = 0; i < count; i++) requests.push(await next(group));
  const news = ampe.get(AllocationStrategy.always)!;
  news.bhdr.proto.opCode = OpCode.Signal;
  news.bhdr.channelNumber = serverChannel;
  news.body.append("news");
  group.post(news); // not an answer: it goes to the client's queue
  for (const request of requests.reverse()) {
    const text = request.body.text();
    request.bhdr.proto.opCode = OpCode.Response; // same channel, same message id
    request.body.set(`${text}=${text === "2+2" ? 4 : 9}`);
    group.post(request);
  }
}

// #region concurrent
const serving = answerReversed(server, 2);
const answers = await Promise.all([
  client.request(question("2+2"), 1000),
  client.request(question("3*3"), 1000),
]);
console.log(`answers: ${answers.map((msg) => msg.body.text()).join(", ")}`);
for (const msg of answers) ampe.put(msg);
await serving;

// Everything that is not an awaited response stays in the queue, in order.
const other = await next(client);
console.log(`still queued: ${show(other)}`);
ampe.put(other);
// #endregion concurrent

// #region failures
try {
  await client.request(question("never answered"), 100);
} catch (err) {
  if (!(err instanceof AmpeError)) throw err;
  console.log(`timed out: ${err.code} (${statusName(err.status)})`);
}
ampe.put(await next(server)); // the unanswered request

const pending = client.request(question("too late"), 1000);
ampe.put(await next(server)); // it got there...
await ampe.destroy(server); // ...and the server goes away: its connection closes abortively
try {
  await pending;
} catch (err) {
  if (!(err instanceof AmpeError)) throw err;
  const why = err.reason === undefined ? "" : ` (reason ${err.reason})`;
  console.log(`server gone: ${err.code}${why}`);
}
ampe.put(await next(client)); // the channel_closed Signal is still delivered
// #endregion failures
