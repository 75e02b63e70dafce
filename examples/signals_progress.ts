/**
 * Signals with progress: the client asks for a long job; the server reports
 * progress with Signals that carry the request's message id, then sends the
 * Response. The client tells them apart by opCode and matches them by id.
 *
 * @module
 */

import { AllocationStrategy, OpCode, Reactor } from "../mod.ts";
import { connectPair, next } from "./pair.ts";

await using rtr = await Reactor.create();
const ampe = rtr.ampe();
const serverGroup = ampe.create();
const clientGroup = ampe.create();
const { server, client } = await connectPair(ampe, serverGroup, clientGroup);

// #region server
async function serveOneJob(): Promise<void> {
  const request = await next(serverGroup);
  const id = request.bhdr.messageId;
  for (const percent of [25, 50, 75]) {
    const progress = ampe.get(AllocationStrategy.always)!;
    progress.bhdr.proto.opCode = OpCode.Signal;
    progress.bhdr.channelNumber = server;
    progress.bhdr.messageId = id; // ties the signal to the request
    progress.thdrs.append("Progress", `${percent}%`);
    serverGroup.post(progress);
  }
  request.bhdr.proto.opCode = OpCode.Response; // reuse the request: same channel and id
  request.body.set(`done: ${request.body.text()}`);
  serverGroup.post(request);
}
// #endregion server

// #region client
const job = ampe.get(AllocationStrategy.always)!;
job.bhdr.channelNumber = client;
job.body.append("render the movie");
const { messageId } = clientGroup.post(job);
const serving = serveOneJob();

for (;;) {
  const msg = await next(clientGroup);
  const { opCode } = msg.bhdr.proto;
  if (msg.bhdr.messageId !== messageId) throw new Error("a message about another job");
  if (opCode === OpCode.Signal) console.log(`progress ${msg.thdrs.get("Progress")}`);
  const finished = opCode === OpCode.Response;
  if (finished) console.log(msg.body.text());
  ampe.put(msg);
  if (finished) break;
}
await serving;
// #endregion client
