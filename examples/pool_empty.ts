/**
 * Handling pool_empty: receiving takes messages from the engine's pool. An
 * app that keeps received messages (here: it holds a batch before working on
 * it) can drain the pool; the engine then stops reading that channel (no
 * data is lost, TCP pushes back on the sender) and sends a pool_empty Signal.
 * Putting messages back resumes reading, in order.
 *
 * @module
 */

import { AllocationStrategy, AmpeStatus, type Message, OpCode, Reactor } from "../mod.ts";
import { connectPair, next } from "./pair.ts";

// Two engines: a tiny pool on the receiving one, so that it runs dry quickly.
await using receiver = await Reactor.create({ initialPoolMsgs: 2, maxPoolMsgs: 2 });
await using sender = await Reactor.create();
const ampe = receiver.ampe();
const serverGroup = ampe.create();
const clientGroup = sender.ampe().create();
const { client } = await connectPair(ampe, serverGroup, clientGroup, sender.ampe());

const TOTAL = 12;
for (let i = 1; i <= TOTAL; i++) {
  const msg = sender.ampe().get(AllocationStrategy.always)!;
  msg.bhdr.proto.opCode = OpCode.Signal;
  msg.bhdr.channelNumber = client;
  msg.body.append(String(i));
  clientGroup.post(msg);
}

// #region pool-empty
const held: Message[] = []; // received, not yet handed back to the pool
const seen: number[] = [];
let poolEmptySignals = 0;
while (seen.length < TOTAL) {
  const msg = await next(serverGroup);
  if (msg.isFromEngine() && msg.bhdr.status === AmpeStatus.poolEmpty) {
    poolEmptySignals++;
    ampe.put(msg); // the signal itself joins the pool
    for (const m of held.splice(0)) ampe.put(m); // finish the batch: give buffers back
    continue;
  }
  seen.push(Number(msg.body.text()));
  held.push(msg);
}
for (const m of held.splice(0)) ampe.put(m);
// #endregion pool-empty

const inOrder = seen.every((value, i) => value === i + 1);
console.log(`received ${seen.length} messages in order: ${inOrder}`);
console.log(`pool_empty signals: ${poolEmptySignals > 0 ? "at least one" : "none"}`);
