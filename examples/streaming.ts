/**
 * Streaming, two ways. With `more`: the server answers one request with
 * several Responses; every part but the last has `more` set (the engine never
 * interprets the flag: it is a convention between the two apps). In bulk: the
 * client posts as fast as the pool lets it and the server takes whatever has
 * arrived at once with `receiveBatch`.
 *
 * @module
 */

import {
  AllocationStrategy,
  MoreMessagesFlag,
  OpCode,
  Reactor,
  WAIT_INFINITE,
  WAIT_SECOND,
} from "../mod.ts";
import { connectPair, next } from "./pair.ts";

await using rtr = await Reactor.create();
const ampe = rtr.ampe();
const serverGroup = ampe.create();
const clientGroup = ampe.create();
const { server, client } = await connectPair(ampe, serverGroup, clientGroup);

// #region server
async function streamReply(parts: number): Promise<void> {
  const request = await next(serverGroup);
  const id = request.bhdr.messageId;
  ampe.put(request);
  for (let i = 1; i <= parts; i++) {
    const part = ampe.get(AllocationStrategy.always)!;
    part.bhdr.proto.opCode = OpCode.Response;
    part.bhdr.channelNumber = server;
    part.bhdr.messageId = id;
    part.bhdr.proto.more = i < parts ? MoreMessagesFlag.more : MoreMessagesFlag.last;
    part.body.append(`chunk ${i} of ${parts}`);
    serverGroup.post(part);
  }
}
// #endregion server

// #region client
const request = ampe.get(AllocationStrategy.always)!;
request.bhdr.channelNumber = client;
request.body.append("send me the file");
clientGroup.post(request);
const streaming = streamReply(4);

const chunks: string[] = [];
for (;;) {
  const part = await next(clientGroup);
  chunks.push(part.body.text());
  const last = !part.hasMore();
  ampe.put(part);
  if (last) break;
}
console.log(`received ${chunks.length} chunks: ${chunks.join(", ")}`);
await streaming;
// #endregion client

// #region bulk
// The sender has its own engine, as it would in its own process: its pool is the stream's flow
// control, apart from the receiver's. Size it by bytes in flight: 1024 x 1 KiB is 1 MiB.
await using senderRtr = await Reactor.create({ initialPoolMsgs: 1024, maxPoolMsgs: 1024 });
const sender = senderRtr.ampe();
const bulkIn = ampe.create();
const bulkOut = sender.create();
const bulk = await connectPair(ampe, bulkIn, bulkOut, sender);

/** Receives `count` data messages, many per await; returns their body bytes and the awaits. */
async function receiveAll(count: number): Promise<{ bytes: number; batches: number }> {
  let bytes = 0;
  let batches = 0;
  for (let received = 0; received < count;) {
    const batch = await bulkIn.receiveBatch(256, 5 * WAIT_SECOND);
    if (batch.length === 0) throw new Error("the stream stalled");
    batches++;
    for (const msg of batch) {
      if (msg.isFromApplication()) {
        bytes += msg.body.byteLength;
        received++;
      }
      ampe.put(msg); // data and engine notices (pool_empty) alike go back to the pool
    }
  }
  return { bytes, batches };
}

const receiving = receiveAll(10_000);
const chunk = new Uint8Array(1024).fill(0x2a);
for (let i = 0; i < 10_000; i++) {
  // From the pool only: when every message is in flight, wait until the engine has written
  // one and gives it back.
  const msg = sender.get(AllocationStrategy.poolOnly) ?? (await sender.waitGet(WAIT_INFINITE))!;
  msg.bhdr.proto.opCode = OpCode.Signal;
  msg.bhdr.channelNumber = bulk.client;
  msg.body.set(chunk);
  bulkOut.post(msg);
}
const { bytes, batches } = await receiving;
console.log(
  `streamed 10000 messages (${bytes} bytes) with ${batches < 10_000 ? "fewer" : "as many"} awaits`,
);
// #endregion bulk
