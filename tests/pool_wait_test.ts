// ampe.waitGet: waiting for a message to come back to the pool, instead of polling it (spec §12).
import { describe as suite, test } from "node:test";
import assert from "node:assert/strict";
import {
  AllocationStrategy,
  type Ampe,
  AmpeError,
  AmpeStatus,
  type ChannelGroup,
  Message,
  OpCode,
  WAIT_INFINITE,
} from "../mod.ts";
import {
  addresses,
  establish,
  expectMsg,
  recv,
  TRANSPORTS,
  withEngines,
} from "./_support/scenario.ts";
import { skipFor } from "./_support/host.ts";
import { eventually, sleep } from "./_support/wait.ts";

const ONE = { initialPoolMsgs: 1, maxPoolMsgs: 1 };

function isShutdown(err: unknown): boolean {
  return err instanceof AmpeError && err.status === AmpeStatus.shutdownStarted;
}

suite("ampe.waitGet", () => {
  test("resolves at once with an idle message", async () => {
    await withEngines([{ initialPoolMsgs: 2, maxPoolMsgs: 2 }], async (rtr) => {
      const ampe = rtr.ampe();
      const m = await ampe.waitGet(0);
      assert.ok(m instanceof Message);
      assert.equal(rtr.stats().pool.free, 1);
      assert.equal(rtr.stats().pool.refusals, 0, "a wait is not a refused get");
      ampe.put(m);
    });
  });

  test("waits on an empty pool until a message is put back; waiters are served in order", async () => {
    await withEngines([ONE], async (rtr) => {
      const ampe = rtr.ampe();
      const held = ampe.get(AllocationStrategy.poolOnly)!;
      held.body.append("dirty");
      const order: string[] = [];
      const first = ampe.waitGet(WAIT_INFINITE).then((m) => {
        order.push("first");
        return m;
      });
      const second = ampe.waitGet(WAIT_INFINITE).then((m) => {
        order.push("second");
        return m;
      });
      await sleep(50);
      assert.deepEqual(order, [], "nothing to hand out yet");
      ampe.put(held);
      const a = await first;
      assert.ok(a !== null);
      assert.equal(a.body.byteLength, 0, "the message comes reset");
      assert.deepEqual(order, ["first"]);
      ampe.put(a);
      const b = await second;
      assert.ok(b !== null);
      assert.deepEqual(order, ["first", "second"]);
      assert.equal(rtr.stats().pool.inUse, 1);
      ampe.put(b);
      assert.equal(rtr.stats().pool.free, 1);
    });
  });

  test("a timeout resolves null and leaves later puts in the pool", async () => {
    await withEngines([ONE], async (rtr) => {
      const ampe = rtr.ampe();
      const held = ampe.get(AllocationStrategy.poolOnly)!;
      assert.equal(await ampe.waitGet(0), null);
      assert.equal(await ampe.waitGet(30), null);
      ampe.put(held);
      assert.equal(rtr.stats().pool.free, 1, "the expired wait took nothing");
    });
  });

  test("an abort rejects with the signal's reason and takes nothing", async () => {
    await withEngines([ONE], async (rtr) => {
      const ampe = rtr.ampe();
      const held = ampe.get(AllocationStrategy.poolOnly)!;
      const controller = new AbortController();
      const waiting = ampe.waitGet(WAIT_INFINITE, { signal: controller.signal });
      controller.abort(new Error("stop waiting"));
      await assert.rejects(waiting, /stop waiting/);
      await assert.rejects(
        ampe.waitGet(WAIT_INFINITE, { signal: controller.signal }),
        /stop waiting/,
        "an aborted signal refuses a wait that would have to wait",
      );
      ampe.put(held);
      assert.equal(rtr.stats().pool.free, 1);
      const m = await ampe.waitGet(WAIT_INFINITE, { signal: controller.signal });
      assert.ok(m !== null, "an idle message is handed out even with an aborted signal");
      ampe.put(m);
    });
  });

  test("destroying the engine rejects pending and later waits with shutdownStarted", async () => {
    await withEngines([ONE], async (rtr) => {
      const ampe = rtr.ampe();
      ampe.get(AllocationStrategy.poolOnly);
      const pending = ampe.waitGet(WAIT_INFINITE);
      const rejected = assert.rejects(pending, isShutdown);
      await rtr.destroy();
      await rejected;
      await assert.rejects(ampe.waitGet(0), isShutdown);
    });
  });

  test("bad arguments are refused with notAllowed", async () => {
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe();
      const notAllowed = (err: unknown) =>
        err instanceof AmpeError && err.status === AmpeStatus.notAllowed;
      const bad: [unknown, unknown][] = [
        [-1, undefined],
        [Number.NaN, undefined],
        ["10", undefined],
        [10, "options"],
        [10, { signal: "not a signal" }],
      ];
      for (const [timeout, opts] of bad) {
        await assert.rejects(
          // deno-lint-ignore no-explicit-any
          ampe.waitGet(timeout as any, opts as any),
          notAllowed,
          `waitGet(${String(timeout)}, ${JSON.stringify(opts)})`,
        );
      }
      assert.equal(rtr.stats().pool.free, 16, "nothing was taken");
    });
  });
});

/**
 * Posts `count` Requests of `size` bytes on C, taking every message from the
 * pool and waiting for one with waitGet when it is empty; returns how many
 * times it waited. `state.waiting` is true while it waits.
 */
async function stream(
  ampe: Ampe,
  g: ChannelGroup,
  C: number,
  count: number,
  size: number,
  state: { waiting: boolean; posted: number },
): Promise<number> {
  const body = new Uint8Array(size);
  let waits = 0;
  for (let i = 1; i <= count; i++) {
    let m = ampe.get(AllocationStrategy.poolOnly);
    if (m === null) {
      waits++;
      state.waiting = true;
      m = await ampe.waitGet(WAIT_INFINITE);
      state.waiting = false;
    }
    assert.ok(m !== null);
    m.bhdr.proto.opCode = OpCode.Request;
    m.bhdr.channelNumber = C;
    m.bhdr.messageId = BigInt(i);
    body[0] = i & 0xff;
    m.body.append(body);
    g.post(m);
    state.posted = i;
  }
  return waits;
}

/** Receives `count` Requests on gs in order (pool_empty notices go back); checks ids and first bytes. */
async function drainInOrder(ampe: Ampe, g: ChannelGroup, count: number): Promise<number> {
  let poolEmpty = 0;
  for (let i = 1; i <= count;) {
    const m = await recv(g);
    if (m.isFromEngine() && m.bhdr.status === AmpeStatus.poolEmpty) {
      poolEmpty++;
      ampe.put(m);
      continue;
    }
    expectMsg(m, { op: OpCode.Request, origin: "A", status: 0, mid: BigInt(i) });
    assert.equal(m.body.bytes()[0], i & 0xff, `body of message ${i}`);
    ampe.put(m);
    i++;
  }
  return poolEmpty;
}

for (const t of TRANSPORTS) {
  suite(`a sender that waits for its pool over ${t}`, skipFor(t), () => {
    test("written messages come back to the waiting sender; all arrive in order", async () => {
      await withEngines([{}, { initialPoolMsgs: 4, maxPoolMsgs: 4 }], async (rs, rc) => {
        const as = rs.ampe(), ac = rc.ampe();
        const gs = as.create(), gc = ac.create();
        const { C } = await establish(as, gs, ac, gc, await addresses(t));
        const state = { waiting: false, posted: 0 };
        const [waits] = await Promise.all([
          stream(ac, gc, C, 300, 1000, state),
          drainInOrder(as, gs, 300),
        ]);
        assert.ok(waits > 0, "a pool of 4 ran dry at least once");
        await eventually(() => rc.stats().pool.free === 4, undefined, "every message back");
        assert.equal(rc.stats().pool.inUse, 0);
      });
    });

    test("while the peer does not read, the sender waits in waitGet, then resumes", async () => {
      await withEngines([{ initialPoolMsgs: 2, maxPoolMsgs: 2 }, {
        initialPoolMsgs: 8,
        maxPoolMsgs: 8,
      }], async (rs, rc) => {
        const as = rs.ampe(), ac = rc.ampe();
        const gs = as.create(), gc = ac.create();
        const { C } = await establish(as, gs, ac, gc, await addresses(t));
        const count = 400; // 24 MB: more than the sockets hold
        const state = { waiting: false, posted: 0 };
        const sending = stream(ac, gc, C, count, 60_000, state);
        sending.catch(() => {}); // awaited below; a failed assertion must not leave it unhandled
        // The receiver takes 2 messages and stops reading: the sockets fill up, and then the
        // engine has nothing to give back.
        let posted = -1;
        for (const end = Date.now() + 5_000; posted !== state.posted || !state.waiting;) {
          assert.ok(Date.now() < end, `the sender never stopped (${state.posted} posted)`);
          posted = state.posted;
          await sleep(200);
        }
        assert.ok(posted < count, "the sockets held everything: send more to fill them");
        await sleep(300);
        assert.ok(state.waiting, "still waiting: the socket took nothing more");
        assert.equal(state.posted, posted, "nothing was posted while the socket was full");
        const poolEmpty = await drainInOrder(as, gs, count);
        assert.ok(poolEmpty >= 1, "the receiver ran out of messages while it did not read");
        assert.ok((await sending) >= 1);
        await eventually(() => rc.stats().pool.free === 8, undefined, "every message back");
      });
    });
  });
}
