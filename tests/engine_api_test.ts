// Engine lifecycle (S-018…S-023), post() validation (S-024…S-035) and receiver (S-036…S-039).
import { describe as suite, test } from "node:test";
import assert from "node:assert/strict";
import {
  AllocationStrategy,
  AmpeError,
  AmpeStatus,
  type Message,
  OpCode,
  Reactor,
  TCPClientAddress,
  TCPServerAddress,
  WAIT_INFINITE,
} from "../mod.ts";
import {
  addresses,
  establish,
  expectMsg,
  expectNext,
  listen,
  postNew,
  recv,
  withEngines,
} from "./_support/scenario.ts";
import { skipFor } from "./_support/host.ts";
import { sleep } from "./_support/wait.ts";

function ampeError(status: number) {
  return (err: unknown) => {
    assert.ok(err instanceof AmpeError, `expected AmpeError, got ${err}`);
    assert.equal(err.status, status, `status of ${err.message}`);
    return true;
  };
}

suite("engine lifecycle", () => {
  test("S-018 pool options are normalised", async () => {
    const cases: [number | undefined, number | undefined, number][] = [
      [undefined, undefined, 16],
      [0, 0, 16],
      [1, 1, 1],
      [32, 8, 32],
    ];
    for (const [initialPoolMsgs, maxPoolMsgs, expected] of cases) {
      const options = {
        ...(initialPoolMsgs === undefined ? {} : { initialPoolMsgs }),
        ...(maxPoolMsgs === undefined ? {} : { maxPoolMsgs }),
      };
      await withEngines([options], (rtr) => {
        const ampe = rtr.ampe();
        const got: Message[] = [];
        for (
          let m = ampe.get(AllocationStrategy.poolOnly);
          m !== null;
          m = ampe.get(AllocationStrategy.poolOnly)
        ) {
          got.push(m);
        }
        assert.equal(got.length, expected, `options ${JSON.stringify(options)}`);
        for (const m of got) ampe.put(m);
        return Promise.resolve();
      });
    }
    await withEngines([{ initialPoolMsgs: 2, maxPoolMsgs: 2 }], (rtr) => {
      const ampe = rtr.ampe();
      const four = [1, 2, 3, 4].map(() => ampe.get(AllocationStrategy.always)!);
      for (const m of four) ampe.put(m);
      assert.notEqual(ampe.get(AllocationStrategy.poolOnly), null);
      assert.notEqual(ampe.get(AllocationStrategy.poolOnly), null);
      assert.equal(ampe.get(AllocationStrategy.poolOnly), null, "the pool keeps at most 2 idle");
      return Promise.resolve();
    });
  });

  test("S-019 smallest pool and S-020 LIFO", async () => {
    await withEngines([{ initialPoolMsgs: 1, maxPoolMsgs: 1 }], (rtr) => {
      const ampe = rtr.ampe();
      const m1 = ampe.get(AllocationStrategy.always);
      assert.notEqual(m1, null);
      assert.equal(ampe.get(AllocationStrategy.poolOnly), null);
      const m3 = ampe.get(AllocationStrategy.always);
      assert.notEqual(m3, null);
      ampe.put(m1);
      ampe.put(null);
      ampe.put(m3);
      assert.notEqual(ampe.get(AllocationStrategy.poolOnly), null);
      assert.equal(ampe.get(AllocationStrategy.poolOnly), null);
      return Promise.resolve();
    });
    await withEngines([{ initialPoolMsgs: 2, maxPoolMsgs: 8 }], (rtr) => {
      const ampe = rtr.ampe();
      while (ampe.get(AllocationStrategy.poolOnly) !== null) { /* empty the pool */ }
      const a = ampe.get(AllocationStrategy.always)!, b = ampe.get(AllocationStrategy.always)!;
      a.bhdr.messageId = 1n;
      b.bhdr.messageId = 2n;
      ampe.put(a);
      ampe.put(b);
      // Reset on put (S-011), so identity is not observable; the count and order of reuse is.
      assert.notEqual(ampe.get(AllocationStrategy.poolOnly), null);
      assert.notEqual(ampe.get(AllocationStrategy.poolOnly), null);
      assert.equal(ampe.get(AllocationStrategy.poolOnly), null);
      return Promise.resolve();
    });
  });

  test("S-021 create/destroy loops", async () => {
    for (let i = 0; i < 5; i++) {
      const a = await Reactor.create();
      await a.destroy();
      const b = await Reactor.create();
      b.ampe();
      await b.destroy();
      const c = await Reactor.create();
      const g = c.ampe().create();
      await c.ampe().destroy(g);
      await c.destroy();
      await c.destroy(); // idempotent
    }
  });

  test("S-022 [N11] calls after engine destroy fail with shutdownStarted; put drops", async () => {
    const rtr = await Reactor.create();
    const ampe = rtr.ampe();
    const g = ampe.create();
    const kept = ampe.get(AllocationStrategy.always)!;
    // Expected before destroying: destroy may take event-loop turns (a wake
    // socket or a waiter thread to close), and the wait rejects at its start.
    const pending = assert.rejects(
      g.waitReceive(WAIT_INFINITE),
      ampeError(AmpeStatus.shutdownStarted),
    );
    await rtr.destroy();
    await pending;
    await assert.rejects(g.waitReceive(1000), ampeError(AmpeStatus.shutdownStarted));
    const m = kept;
    new TCPClientAddress("127.0.0.1", 7099).format(m);
    assert.throws(() => g.post(m), ampeError(AmpeStatus.shutdownStarted));
    assert.throws(() => g.updateReceiver(null), ampeError(AmpeStatus.shutdownStarted));
    assert.throws(() => ampe.create(), ampeError(AmpeStatus.shutdownStarted));
    assert.throws(() => ampe.get(AllocationStrategy.always), ampeError(AmpeStatus.shutdownStarted));
    ampe.put(m); // no error
  });

  test("S-023 [N15] group double destroy is a no-op; the destroyed group rejects", async () => {
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      await ampe.destroy(g);
      await ampe.destroy(g);
      await assert.rejects(g.waitReceive(0), ampeError(AmpeStatus.shutdownStarted));
      assert.throws(() => g.updateReceiver(null), ampeError(AmpeStatus.shutdownStarted));
    });
  });

  test("Reactor.create rejects an unknown backend with a clear error", async () => {
    // deno-lint-ignore no-explicit-any
    await assert.rejects(Reactor.create({ backend: "select" as any }), (err: unknown) => {
      assert.ok(err instanceof AmpeError);
      assert.match(err.message, /select/);
      assert.match(err.message, /available/);
      return true;
    });
  });

  test("rtr.backend names the poller in use", async () => {
    await withEngines([{}], (rtr) => {
      assert.ok(["epoll", "kqueue", "poll", "wsapoll", "afd"].includes(rtr.backend), rtr.backend);
      return Promise.resolve();
    });
  });
});

suite("post() validation", () => {
  test("S-024…S-028, S-030, S-033: synchronous errors; the caller keeps the message", async () => {
    await withEngines([{ initialPoolMsgs: 1, maxPoolMsgs: 1 }], (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      const check = (build: (m: Message) => void, status: number, what: string) => {
        const m = ampe.get(AllocationStrategy.always)!;
        build(m);
        assert.throws(() => g.post(m), ampeError(status), what);
        assert.equal(
          m.bhdr.status,
          status === AmpeStatus.invalidOpCode ? m.bhdr.status : status,
          what,
        );
        ampe.put(m); // still owned by the caller: put works
      };
      check(() => {}, AmpeStatus.invalidChannelNumber, "S-024 pool message as is");
      check(
        (m) => (m.bhdr.proto.opCode = OpCode.ByeRequest),
        AmpeStatus.invalidChannelNumber,
        "S-025",
      );
      check(
        (m) => (m.bhdr.proto.opCode = OpCode.HelloRequest),
        AmpeStatus.wrongAddress,
        "S-026 hello",
      );
      check(
        (m) => (m.bhdr.proto.opCode = OpCode.WelcomeRequest),
        AmpeStatus.wrongAddress,
        "S-026 welcome",
      );
      check(
        (m) => (m.bhdr.proto.opCode = OpCode.Response),
        AmpeStatus.invalidMessageId,
        "S-027 response",
      );
      check(
        (m) => {
          m.bhdr.proto.opCode = OpCode.HelloResponse;
          m.bhdr.channelNumber = 123;
        },
        AmpeStatus.invalidMessageId,
        "S-027 hello response",
      );
      check(
        (m) => {
          m.bhdr.proto.opCode = OpCode.ByeResponse;
          m.bhdr.channelNumber = 123;
        },
        AmpeStatus.invalidMessageId,
        "S-027 bye response",
      );
      check(
        (m) => {
          new TCPClientAddress("127.0.0.1", 7099).format(m);
          m.bhdr.proto.more = 1;
        },
        AmpeStatus.invalidMoreUsage,
        "S-028 hello + more",
      );
      check(
        (m) => {
          m.bhdr.proto.opCode = OpCode.ByeSignal;
          m.bhdr.channelNumber = 5;
          m.bhdr.proto.more = 1;
        },
        AmpeStatus.invalidMoreUsage,
        "S-028 bye signal + more",
      );
      check(
        (m) => (m.bhdr.proto.more = 1),
        AmpeStatus.invalidChannelNumber,
        "S-028 request ch 0 + more",
      );
      check((m) => (m.bhdr.proto.opCode = 12 as OpCode), AmpeStatus.invalidOpCode, "S-030");
      assert.throws(
        () => g.post(null as unknown as Message),
        ampeError(AmpeStatus.nullMessage),
        "S-033",
      );
      return Promise.resolve();
    });
  });

  test("S-029 size limits: 65 535 bytes pass, one more is rejected", async () => {
    await withEngines([{}, {}], async (rs, rc) => {
      const as = rs.ampe(), ac = rc.ampe();
      const gs = as.create(), gc = ac.create();
      const { C } = await establish(as, gs, ac, gc, await addresses("tcp"));
      const m = ac.get(AllocationStrategy.always)!;
      m.bhdr.channelNumber = C;
      m.body.append(new Uint8Array(65535));
      assert.throws(() => m.body.append("x"), ampeError(AmpeStatus.invalidBodyLen));
      m.thdrs.append("h", "v".repeat(65531));
      assert.throws(() => m.thdrs.append("a", "b"), ampeError(AmpeStatus.invalidHeadersLen));
      gc.post(m);
      const got = await expectNext(as, gs, { op: OpCode.Request }, "max", true);
      assert.equal(got.bhdr.thl, 65535);
      assert.equal(got.bhdr.bl, 65535);
      as.put(got);
    });
  });

  test("S-031 unknown channel and a channel of another group", async () => {
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe();
      const g1 = ampe.create(), g2 = ampe.create();
      const m = ampe.get(AllocationStrategy.always)!;
      m.bhdr.channelNumber = 4242;
      assert.throws(() => g1.post(m), ampeError(AmpeStatus.invalidChannelNumber));
      const { L } = await listen(ampe, g1, (await addresses("tcp")).server);
      m.bhdr.channelNumber = L;
      assert.throws(() => g2.post(m), ampeError(AmpeStatus.invalidMessageChannelGroup));
      ampe.put(m);
    });
  });

  test("S-034 [N9] Hello/WelcomeRequest with a channel number is rejected; the channel keeps working", async () => {
    await withEngines([{}, {}], async (rs, rc) => {
      const as = rs.ampe(), ac = rc.ampe();
      const gs = as.create(), gc = ac.create();
      const a = await addresses("tcp");
      const { C, S } = await establish(as, gs, ac, gc, a);
      const m = ac.get(AllocationStrategy.always)!;
      a.client.format(m);
      m.bhdr.channelNumber = C;
      assert.throws(() => gc.post(m), ampeError(AmpeStatus.invalidChannelNumber));
      ac.put(m);
      postNew(ac, gc, (r) => {
        r.bhdr.channelNumber = C;
        r.bhdr.messageId = 9n;
      });
      await expectNext(as, gs, { op: OpCode.Request, ch: S, mid: 9n });
    });
  });

  test("S-035 [N9] the app may not post a WelcomeResponse", async () => {
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      const { L } = await listen(
        ampe,
        g,
        new TCPServerAddress("127.0.0.1", (await addresses("tcp")).port),
      );
      const m = ampe.get(AllocationStrategy.always)!;
      m.bhdr.proto.opCode = OpCode.WelcomeResponse;
      m.bhdr.channelNumber = L;
      m.bhdr.messageId = 1n;
      assert.throws(() => g.post(m), ampeError(AmpeStatus.notAllowed));
      ampe.put(m);
    });
  });

  test("a posted message is consumed: every later use throws nullMessage", async () => {
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      const m = ampe.get(AllocationStrategy.always)!;
      new TCPClientAddress("127.0.0.1", (await addresses("tcp")).port).format(m);
      g.post(m);
      assert.throws(() => m.bhdr.channelNumber, ampeError(AmpeStatus.nullMessage));
      assert.throws(() => m.body.append("x"), ampeError(AmpeStatus.nullMessage));
      assert.throws(() => g.post(m), ampeError(AmpeStatus.nullMessage));
      assert.throws(() => ampe.put(m), ampeError(AmpeStatus.nullMessage));
      const put = ampe.get(AllocationStrategy.always)!;
      ampe.put(put);
      assert.throws(() => put.thdrs.append("a", "b"), ampeError(AmpeStatus.nullMessage));
      // A consumed handle never shows a recycled message's content.
      const reused = ampe.get(AllocationStrategy.poolOnly)!;
      reused.body.append("secret");
      assert.throws(() => put.body.bytes(), ampeError(AmpeStatus.nullMessage));
      ampe.put(reused);
    });
  });
});

suite("updateReceiver and waitReceive", () => {
  test("S-036 updateReceiver recipe", async () => {
    await withEngines([{ initialPoolMsgs: 16, maxPoolMsgs: 32 }], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      assert.equal(await g.waitReceive(0.0001), null);
      g.updateReceiver(null);
      const sig = expectMsg(await g.waitReceive(0.0001), {
        op: OpCode.Signal,
        origin: "E",
        status: AmpeStatus.receiverUpdate,
        ch: 0,
        mid: 0n,
      });
      sig.bhdr.proto.opCode = OpCode.Request;
      sig.bhdr.status = 0;
      sig.bhdr.messageId = 1n;
      g.updateReceiver(sig);
      assert.throws(() => sig.bhdr.status, ampeError(AmpeStatus.nullMessage), "consumed");
      const back = expectMsg(await g.waitReceive(0.0001), {
        op: OpCode.Request,
        origin: "A",
        status: AmpeStatus.receiverUpdate,
        ch: 0,
        mid: 1n,
      });
      ampe.put(back);
    });
  });

  test("S-037 a pending wait is woken by updateReceiver", async () => {
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      const waiting = g.waitReceive(WAIT_INFINITE);
      await sleep(100);
      g.updateReceiver();
      const m = await waiting;
      expectMsg(m, {
        op: OpCode.Signal,
        origin: "E",
        status: AmpeStatus.receiverUpdate,
        ch: 0,
        mid: 0n,
      });
      ampe.put(m);
    });
  });

  test("S-038 FIFO order and payload preservation", async () => {
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      const m1 = ampe.get(AllocationStrategy.always)!;
      m1.bhdr.channelNumber = 9;
      m1.bhdr.messageId = 1n;
      m1.body.append("x");
      const m2 = ampe.get(AllocationStrategy.always)!;
      m2.bhdr.messageId = 2n;
      g.updateReceiver(m1);
      g.updateReceiver(m2);
      g.updateReceiver();
      const r1 = expectMsg(await recv(g), {
        ch: 9,
        mid: 1n,
        status: AmpeStatus.receiverUpdate,
        origin: "A",
      });
      assert.equal(r1.body.text(), "x");
      ampe.put(r1);
      await expectNext(ampe, g, { mid: 2n, status: AmpeStatus.receiverUpdate });
      await expectNext(ampe, g, {
        op: OpCode.Signal,
        origin: "E",
        status: AmpeStatus.receiverUpdate,
      });
    });
  });

  test("S-039 timeouts: 0 returns at once, a short wait returns null, a queued message comes with 0", async () => {
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      assert.equal(await g.waitReceive(0), null);
      const t0 = Date.now();
      assert.equal(await g.waitReceive(200), null);
      assert.ok(Date.now() - t0 >= 150, "waited about the timeout");
      g.updateReceiver();
      const m = await g.waitReceive(0);
      assert.notEqual(m, null);
      ampe.put(m);
    });
  });

  test("waitReceive rejects a bad timeout and honours an abort signal", async () => {
    await withEngines([{}], async (rtr) => {
      const g = rtr.ampe().create();
      await assert.rejects(g.waitReceive(-1), ampeError(AmpeStatus.notAllowed));
      await assert.rejects(g.waitReceive(Number.NaN), ampeError(AmpeStatus.notAllowed));
      const ac = new AbortController();
      const pending = g.waitReceive(WAIT_INFINITE, { signal: ac.signal });
      ac.abort(new Error("stop"));
      await assert.rejects(pending, /stop/);
      const pre = new AbortController();
      pre.abort(new Error("already"));
      await assert.rejects(g.waitReceive(1000, { signal: pre.signal }), /already/);
    });
  });

  test("tryReceive hands over queued messages without waiting", async () => {
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      assert.equal(g.tryReceive(), null);
      for (let i = 1; i <= 3; i++) {
        const m = ampe.get(AllocationStrategy.always)!;
        m.bhdr.messageId = BigInt(i);
        g.updateReceiver(m);
      }
      const seen: bigint[] = [];
      for (let m = g.tryReceive(); m !== null; m = g.tryReceive()) {
        seen.push(m.bhdr.messageId);
        ampe.put(m);
      }
      assert.deepEqual(seen, [1n, 2n, 3n]);
      await ampe.destroy(g);
      assert.throws(() => g.tryReceive(), ampeError(AmpeStatus.shutdownStarted));
    });
  });

  test("receiveBatch hands over what is queued, up to max, in order, with one promise", async () => {
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      assert.deepEqual(await g.receiveBatch(8, 0), []);
      for (let i = 1; i <= 5; i++) {
        const m = ampe.get(AllocationStrategy.always)!;
        m.bhdr.messageId = BigInt(i);
        g.updateReceiver(m);
      }
      const first = await g.receiveBatch(3, 0);
      assert.deepEqual(first.map((m) => m.bhdr.messageId), [1n, 2n, 3n]);
      const rest = await g.receiveBatch(100, WAIT_INFINITE);
      assert.deepEqual(rest.map((m) => m.bhdr.messageId), [4n, 5n]);
      for (const m of [...first, ...rest]) ampe.put(m);
      assert.throws(() => first[0]!.bhdr, ampeError(AmpeStatus.nullMessage));
    });
  });

  test("receiveBatch waits for the first message, times out with [], validates and rejects like waitReceive", async () => {
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      const t0 = Date.now();
      assert.deepEqual(await g.receiveBatch(4, 200), []);
      assert.ok(Date.now() - t0 >= 150, "waited about the timeout");
      const waiting = g.receiveBatch(4, WAIT_INFINITE);
      await sleep(50);
      g.updateReceiver();
      g.updateReceiver();
      const got = await waiting;
      assert.equal(got.length, 2, "the wait took what was queued behind the first message");
      for (const m of got) {
        expectMsg(m, { op: OpCode.Signal, origin: "E", status: AmpeStatus.receiverUpdate });
        ampe.put(m);
      }
      for (const bad of [0, -1, 1.5, Number.NaN]) {
        await assert.rejects(
          g.receiveBatch(bad, 0),
          ampeError(AmpeStatus.notAllowed),
          `max ${bad}`,
        );
      }
      await assert.rejects(g.receiveBatch(1, -1), ampeError(AmpeStatus.notAllowed));
      const ac = new AbortController();
      const pending = g.receiveBatch(4, WAIT_INFINITE, { signal: ac.signal });
      ac.abort(new Error("stop"));
      await assert.rejects(pending, /stop/);
      const blocked = g.receiveBatch(4, WAIT_INFINITE);
      await ampe.destroy(g);
      await assert.rejects(blocked, ampeError(AmpeStatus.shutdownStarted));
      await assert.rejects(g.receiveBatch(4, 0), ampeError(AmpeStatus.shutdownStarted));
    });
  });

  for (const transport of ["tcp", "uds"] as const) {
    test(
      `receiveBatch receives a stream over ${transport} in order, every message whole`,
      skipFor(transport),
      async () => {
        const addr = await addresses(transport);
        await withEngines([{ initialPoolMsgs: 64, maxPoolMsgs: 64 }, {}], async (rs, rc) => {
          const ampeS = rs.ampe();
          const ampeC = rc.ampe();
          const gs = ampeS.create();
          const gc = ampeC.create();
          const { C, S } = await establish(ampeS, gs, ampeC, gc, addr);
          const total = 2000;
          for (let i = 1; i <= total; i++) {
            const m = ampeC.get(AllocationStrategy.always)!;
            m.bhdr.proto.opCode = OpCode.Signal;
            m.bhdr.channelNumber = C;
            m.body.append(`message ${i}`);
            gc.post(m);
          }
          let next = 1;
          let batches = 0;
          while (next <= total) {
            const batch = await gs.receiveBatch(256, 5000);
            assert.ok(batch.length > 0 && batch.length <= 256, `batch of ${batch.length}`);
            batches++;
            for (const m of batch) {
              if (m.isFromEngine()) {
                // pool_empty: the server's small pool made the engine wait for puts
                assert.equal(m.bhdr.status, AmpeStatus.poolEmpty);
              } else {
                assert.equal(m.bhdr.channelNumber, S);
                assert.equal(m.body.text(), `message ${next}`);
                next++;
              }
              ampeS.put(m);
            }
          }
          assert.ok(batches < total, `${batches} batches for ${total} messages`);
        });
      },
    );
  }

  test("async iteration ends when the loop breaks, and later iterations still see new messages", async () => {
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      for (let i = 1; i <= 4; i++) {
        const m = ampe.get(AllocationStrategy.always)!;
        m.bhdr.messageId = BigInt(i);
        g.updateReceiver(m);
      }
      const seen: bigint[] = [];
      for await (const m of g) {
        seen.push(m.bhdr.messageId);
        ampe.put(m);
        if (seen.length === 2) break;
      }
      for await (const m of g) {
        seen.push(m.bhdr.messageId);
        ampe.put(m);
        if (seen.length === 4) break;
      }
      assert.deepEqual(seen, [1n, 2n, 3n, 4n]);
    });
  });

  test("async iteration yields every message and ends when the group is destroyed", async () => {
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      for (let i = 1; i <= 3; i++) {
        const m = ampe.get(AllocationStrategy.always)!;
        m.bhdr.messageId = BigInt(i);
        g.updateReceiver(m);
      }
      const seen: bigint[] = [];
      for await (const m of g) {
        seen.push(m.bhdr.messageId);
        ampe.put(m);
        if (seen.length === 3) setTimeout(() => void ampe.destroy(g), 10);
      }
      assert.deepEqual(seen, [1n, 2n, 3n]);
    });
  });
});
