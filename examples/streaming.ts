/**
 * Streaming with `more`: the server answers one request with several
 * Responses; every part but the last has `more` set. The engine never
 * interprets the flag: it is a convention between the two apps.
 *
 * @module
 */

import { AllocationStrategy, MoreMessagesFlag, OpCode, Reactor } from "../mod.ts";
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
