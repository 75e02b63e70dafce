// Pool exhaustion and receive backpressure S-094…S-098 (spec §12, [N10]), with real slow consumers.
import { describe as suite, test } from "node:test";
import assert from "node:assert/strict";
import { type Ampe, AmpeStatus, type ChannelGroup, Message, OpCode } from "../mod.ts";
import {
  addresses,
  connect,
  establish,
  expectMsg,
  listen,
  postNew,
  recv,
  TRANSPORTS,
  withEngines,
} from "./_support/scenario.ts";
import { skipFor } from "./_support/host.ts";
import { sleep } from "./_support/wait.ts";

function postRequests(
  ampe: Ampe,
  g: ChannelGroup,
  ch: number,
  count: number,
  bodyBytes = 100,
): void {
  const body = new Uint8Array(bodyBytes).fill(0x5a);
  for (let i = 1; i <= count; i++) {
    postNew(ampe, g, (m) => {
      m.bhdr.channelNumber = ch;
      m.bhdr.messageId = BigInt(i);
      m.body.append(body);
    });
  }
}

/** Receives until `count` Requests came in; returns their ids in arrival order and the pool_empty count. */
async function drain(
  ampe: Ampe,
  g: ChannelGroup,
  count: number,
  onPoolEmpty: (m: Message) => void = (m) => ampe.put(m),
): Promise<{ mids: number[]; poolEmpty: number }> {
  const mids: number[] = [];
  let poolEmpty = 0;
  while (mids.length < count) {
    const m = await recv(g);
    if (m.isFromEngine() && m.bhdr.status === AmpeStatus.poolEmpty) {
      expectMsg(m, { op: OpCode.Signal, origin: "E", mid: 0n });
      poolEmpty++;
      onPoolEmpty(m);
      continue;
    }
    expectMsg(m, { op: OpCode.Request, origin: "A", status: 0 });
    mids.push(Number(m.bhdr.messageId));
    ampe.put(m);
  }
  return { mids, poolEmpty };
}

const inOrder = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

for (const t of TRANSPORTS) {
  suite(`pool and backpressure over ${t}`, skipFor(t), () => {
    test("S-094 no pool_empty when the pool is ample (handleConnect with E(24,32))", async () => {
      await withEngines([{ initialPoolMsgs: 24, maxPoolMsgs: 32 }], async (rtr) => {
        const ampe = rtr.ampe();
        const g = ampe.create();
        const a = await addresses(t);
        await listen(ampe, g, a.server);
        const { C, H } = connect(ampe, g, a.client);
        const seen: number[] = [];
        const hello = await recv(g);
        seen.push(hello.bhdr.status);
        hello.bhdr.proto.opCode = OpCode.HelloResponse;
        g.post(hello);
        const reply = await recv(g);
        expectMsg(reply, { op: OpCode.HelloResponse, ch: C, mid: H });
        seen.push(reply.bhdr.status);
        ampe.put(reply);
        postRequests(ampe, g, C, 20);
        for (let i = 0; i < 20; i++) {
          const m = await recv(g);
          seen.push(m.bhdr.status);
          ampe.put(m);
        }
        assert.ok(!seen.includes(AmpeStatus.poolEmpty), `statuses seen: ${seen}`);
      });
    });

    test("S-095 backpressure without loss: a paused consumer on E(2,2) gets all 50 in order", async () => {
      await withEngines([{ initialPoolMsgs: 2, maxPoolMsgs: 2 }, {}], async (rs, rc) => {
        const as = rs.ampe(), ac = rc.ampe();
        const gs = as.create(), gc = ac.create();
        const { C } = await establish(as, gs, ac, gc, await addresses(t));
        postRequests(ac, gc, C, 50); // posts never fail
        await sleep(1000); // the server app does not read for 1 s
        const { mids, poolEmpty } = await drain(as, gs, 50);
        assert.deepEqual(mids, inOrder(50));
        assert.ok(poolEmpty >= 1, "at least one pool_empty while starved");
        // After draining and a quiet second, no further pool_empty ([N10]: no flood, no busy loop).
        await sleep(1000);
        assert.equal(await gs.waitReceive(0), null);
      });
    });

    test("S-096 self-healing with the smallest pool E(1,1): continuous drain, all in order", async () => {
      await withEngines([{ initialPoolMsgs: 1, maxPoolMsgs: 1 }, {}], async (rs, rc) => {
        const as = rs.ampe(), ac = rc.ampe();
        const gs = as.create(), gc = ac.create();
        const { C } = await establish(as, gs, ac, gc, await addresses(t));
        postRequests(ac, gc, C, 50);
        const { mids } = await drain(as, gs, 50);
        assert.deepEqual(mids, inOrder(50));
      });
    });

    test("S-097 the app refills the pool on pool_empty", async () => {
      await withEngines([{ initialPoolMsgs: 1, maxPoolMsgs: 1 }, {}], async (rs, rc) => {
        const as = rs.ampe(), ac = rc.ampe();
        const gs = as.create(), gc = ac.create();
        const { C } = await establish(as, gs, ac, gc, await addresses(t));
        postRequests(ac, gc, C, 50);
        await sleep(200);
        const { mids } = await drain(as, gs, 50, (m) => {
          as.put(m);
          as.put(Message.create());
          as.put(Message.create());
        });
        assert.deepEqual(mids, inOrder(50));
      });
    });

    test("S-098 the engine stops reading when the pool is empty, then resumes", async () => {
      await withEngines([{ initialPoolMsgs: 2, maxPoolMsgs: 2 }, {}], async (rs, rc) => {
        const as = rs.ampe(), ac = rc.ampe();
        const gs = as.create(), gc = ac.create();
        const { C } = await establish(as, gs, ac, gc, await addresses(t));
        postRequests(ac, gc, C, 50);
        await sleep(1000);
        const held: Message[] = [];
        for (let m = await gs.waitReceive(0); m !== null; m = await gs.waitReceive(0)) held.push(m);
        const requests = held.filter((m) => m.bhdr.proto.opCode === OpCode.Request);
        assert.ok(
          requests.length <= 3,
          `engine read ${requests.length} requests with nothing put back`,
        );
        assert.ok(requests.length >= 1, "something was received before the pool ran dry");
        const first = requests.map((m) => Number(m.bhdr.messageId));
        for (const m of held) as.put(m);
        const rest = await drain(as, gs, 50 - requests.length);
        assert.deepEqual([...first, ...rest.mids], inOrder(50));
      });
    });
  });
}
