// Closing scenarios S-081…S-092 (spec §10.5–§10.9, §11, [N3], [N5], [N6], [N7]).
import { describe as suite, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import {
  type Ampe,
  AmpeStatus,
  type ChannelGroup,
  CloseReason,
  type Message,
  OpCode,
  whyOf,
} from "../mod.ts";
import { Interest, loadNative, NativeError } from "../ffi/mod.ts";
import {
  addresses,
  connect,
  establish,
  expectClosed,
  expectMsg,
  expectNext,
  listen,
  none,
  postNew,
  recv,
  TRANSPORTS,
  withEngines,
  withPair,
} from "./_support/scenario.ts";
import { skipFor, UDS_SKIP } from "./_support/host.ts";

function post(ampe: Ampe, g: ChannelGroup, op: OpCode, ch: number, mid = 0n, body = ""): bigint {
  return postNew(ampe, g, (m) => {
    m.bhdr.proto.opCode = op;
    if (op === OpCode.ByeSignal) m.bhdr.proto.oob = 1;
    m.bhdr.channelNumber = ch;
    m.bhdr.messageId = mid;
    if (body.length > 0) m.body.append(body);
  }).mid;
}

/** Answers a received ByeRequest with the same message as ByeResponse. */
function answerBye(g: ChannelGroup, m: Message): void {
  m.bhdr.proto.opCode = OpCode.ByeResponse;
  g.post(m);
}

for (const t of TRANSPORTS) {
  suite(`closing over ${t}`, skipFor(t), () => {
    test("S-081 graceful close, client-initiated; later posts on C are rejected [N3]", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C, S, H }) => {
        const B = post(ac, gc, OpCode.ByeRequest, C);
        answerBye(
          gs,
          expectMsg(await recv(gs), {
            op: OpCode.ByeRequest,
            origin: "A",
            status: 0,
            ch: S,
            mid: B,
          }),
        );
        await expectNext(ac, gc, { op: OpCode.ByeResponse, origin: "A", status: 0, ch: C, mid: B });
        await expectClosed(ac, gc, C, H);
        await expectClosed(as, gs, S, H);
        await none(gc);
        await none(gs);
        const late = ac.get("always")!;
        late.bhdr.channelNumber = C;
        assert.throws(() => gc.post(late), {
          name: "AmpeError",
          status: AmpeStatus.invalidChannelNumber,
        });
        ac.put(late);
      });
    });

    test("S-082 graceful close, server-initiated", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C, S, H }) => {
        const B = post(as, gs, OpCode.ByeRequest, S);
        answerBye(
          gc,
          expectMsg(await recv(gc), {
            op: OpCode.ByeRequest,
            origin: "A",
            status: 0,
            ch: C,
            mid: B,
          }),
        );
        await expectNext(as, gs, { op: OpCode.ByeResponse, origin: "A", status: 0, ch: S, mid: B });
        await expectClosed(as, gs, S, H);
        await expectClosed(ac, gc, C, H);
      });
    });

    test("S-083 ByeRequest goes after everything posted before it", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C, S }) => {
        for (const mid of [1n, 2n, 3n]) post(ac, gc, OpCode.Request, C, mid);
        const B = post(ac, gc, OpCode.ByeRequest, C);
        for (const mid of [1n, 2n, 3n]) {
          await expectNext(as, gs, { op: OpCode.Request, ch: S, mid });
        }
        await expectNext(as, gs, { op: OpCode.ByeRequest, ch: S, mid: B });
      });
    });

    test("S-084 posts after an own ByeRequest are held and come back at close", async () => {
      await withPair(t, async ({ ac, gs, gc, C, S, H }) => {
        const B = post(ac, gc, OpCode.ByeRequest, C);
        post(ac, gc, OpCode.Request, C, 4n);
        const bye = expectMsg(await recv(gs), { op: OpCode.ByeRequest, ch: S, mid: B });
        await none(gs); // R4 never arrives
        answerBye(gs, bye);
        await expectNext(ac, gc, { op: OpCode.ByeResponse, origin: "A", status: 0, ch: C, mid: B });
        await expectNext(ac, gc, {
          op: OpCode.Request,
          origin: "E",
          status: AmpeStatus.channelClosed,
          ch: C,
          mid: 4n,
        });
        await expectClosed(ac, gc, C, H);
      });
    });

    test("S-085 posts after an own ByeResponse are held and come back exactly once", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C, S, H }) => {
        const B = post(ac, gc, OpCode.ByeRequest, C);
        const bye = expectMsg(await recv(gs), { op: OpCode.ByeRequest, ch: S, mid: B });
        answerBye(gs, bye);
        post(as, gs, OpCode.Request, S, 5n);
        await expectNext(ac, gc, { op: OpCode.ByeResponse, ch: C, mid: B });
        await expectClosed(ac, gc, C, H);
        await none(gc); // R5 never arrives
        const first = await recv(gs);
        let signal = first;
        if (first.bhdr.proto.opCode === OpCode.Request) {
          expectMsg(first, { origin: "E", ch: S, mid: 5n });
          assert.ok(
            [AmpeStatus.peerDisconnected, AmpeStatus.channelClosed].includes(
              first.bhdr.status as 17 | 22,
            ),
            `status ${first.bhdr.status}`,
          );
          as.put(first);
          signal = await recv(gs);
        }
        expectMsg(signal, {
          op: OpCode.Signal,
          origin: "E",
          status: AmpeStatus.channelClosed,
          ch: S,
          mid: H,
        });
        as.put(signal);
        if (first === signal) {
          await expectNext(as, gs, { op: OpCode.Request, origin: "E", ch: S, mid: 5n });
        }
        await none(gs);
      });
    });

    test("S-086 ByeSignal aborts: bundle on the closing side, channel_closed on the peer", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C, S, H }) => {
        const b = post(ac, gc, OpCode.ByeSignal, C);
        await expectNext(ac, gc, {
          op: OpCode.ByeSignal,
          origin: "E",
          status: AmpeStatus.channelClosed,
          ch: C,
          mid: b,
        });
        await expectClosed(ac, gc, C, H);
        await none(gc);
        await expectClosed(as, gs, S, H);
        await none(gs);
        // S-089 [N3]: the closed channel no longer takes posts; the caller keeps the message.
        const late = ac.get("always")!;
        late.bhdr.channelNumber = C;
        assert.throws(() => gc.post(late), {
          name: "AmpeError",
          status: AmpeStatus.invalidChannelNumber,
        });
        assert.equal(late.bhdr.channelNumber, C);
        ac.put(late);
      });
    });

    test("S-087 ByeSignal returns the unsent tail; nothing is both delivered and returned", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C, S, H }) => {
        const body = new Uint8Array(60000).fill(1);
        for (let i = 1; i <= 400; i++) {
          postNew(ac, gc, (m) => {
            m.bhdr.channelNumber = C;
            m.bhdr.messageId = BigInt(i);
            m.body.append(body);
          });
        }
        const b = post(ac, gc, OpCode.ByeSignal, C);
        await expectNext(ac, gc, {
          op: OpCode.ByeSignal,
          origin: "E",
          status: AmpeStatus.channelClosed,
          ch: C,
          mid: b,
        });
        const returned: number[] = [];
        for (;;) {
          const m = await recv(gc);
          if (m.bhdr.proto.opCode === OpCode.Signal) {
            expectMsg(m, { origin: "E", status: AmpeStatus.channelClosed, ch: C, mid: H });
            ac.put(m);
            break;
          }
          expectMsg(m, {
            op: OpCode.Request,
            origin: "E",
            status: AmpeStatus.channelClosed,
            ch: C,
          });
          returned.push(Number(m.bhdr.messageId));
          ac.put(m);
        }
        assert.ok(returned.length >= 1, "some messages were still unsent");
        const j = returned[0]!;
        assert.deepEqual(
          returned,
          Array.from({ length: 401 - j }, (_, k) => j + k),
          "a contiguous tail j..400",
        );
        // The server drains: a contiguous prefix 1..i with i < j, pool_empty Signals, then channel_closed.
        let expected = 1;
        for (;;) {
          const m = await recv(gs);
          if (m.isFromEngine() && m.bhdr.status === AmpeStatus.poolEmpty) {
            as.put(m);
            continue;
          }
          if (m.bhdr.proto.opCode === OpCode.Signal) {
            expectMsg(m, { origin: "E", status: AmpeStatus.channelClosed, ch: S, mid: H });
            as.put(m);
            break;
          }
          expectMsg(m, { op: OpCode.Request, origin: "A", ch: S, mid: BigInt(expected) });
          expected++;
          as.put(m);
        }
        assert.ok(
          expected - 1 < j,
          `delivered prefix 1..${expected - 1} overlaps the returned tail from ${j}`,
        );
      }, { initialPoolMsgs: 4, maxPoolMsgs: 4 });
    });

    test("S-088 peer engine destroyed: channel_closed on the survivor", async () => {
      await withEngines([{}], async (rc) => {
        const ac = rc.ampe();
        const gc = ac.create();
        const a = await addresses(t);
        let C = 0, H = 0n;
        await withEngines([{}], async (rs) => {
          const as = rs.ampe();
          const gs = as.create();
          ({ C, H } = await establish(as, gs, ac, gc, a));
        }); // the server engine is destroyed here
        await expectClosed(ac, gc, C, H);
        await none(gc);
      });
    });

    test("S-088b peer group destroyed: channel_closed on the survivor, nothing on the destroyed group", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C, H }) => {
        await as.destroy(gs);
        await expectClosed(ac, gc, C, H);
        await assert.rejects(gs.waitReceive(100), {
          name: "AmpeError",
          status: AmpeStatus.shutdownStarted,
        });
      });
    });

    test("S-090 [N7] simultaneous ByeRequest: both sides close within 5 s", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C, S, H }) => {
        post(ac, gc, OpCode.ByeRequest, C);
        post(as, gs, OpCode.ByeRequest, S);
        const side = async (ampe: Ampe, g: ChannelGroup, ch: number) => {
          let responses = 0;
          for (;;) {
            const m = await recv(g);
            const op = m.bhdr.proto.opCode;
            if (op === OpCode.ByeRequest && m.isFromApplication()) {
              // The peer's ByeResponse may already have closed this channel (it was queued
              // behind this ByeRequest): then the answer is rejected, as for any closed channel.
              try {
                answerBye(g, m);
              } catch (err) {
                assert.equal((err as { status?: number }).status, AmpeStatus.invalidChannelNumber);
                ampe.put(m);
              }
              continue;
            }
            if (op === OpCode.ByeResponse && m.isFromApplication()) responses++;
            const done = op === OpCode.Signal && m.bhdr.status === AmpeStatus.channelClosed;
            if (done) expectMsg(m, { origin: "E", ch, mid: H });
            ampe.put(m);
            if (done) break;
          }
          assert.ok(responses <= 1, `at most one ByeResponse, got ${responses}`);
        };
        await Promise.all([side(ac, gc, C), side(as, gs, S)]);
      });
    });

    test("S-092 group destroy with live channels: peers see channel_closed, the address is free", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C, H }) => {
        await as.destroy(gs);
        await as.destroy(gs); // S-023: a second destroy is a no-op
        await expectClosed(ac, gc, C, H);
      });
    });
  });
}

test("S-092 group destroy: the listener is gone (connect fails, UDS file removed)", {
  skip: UDS_SKIP,
}, async () => {
  await withEngines([{}, {}], async (rs, rc) => {
    for (const t of TRANSPORTS) {
      const as = rs.ampe(), ac = rc.ampe();
      const gs = as.create(), gc = ac.create();
      const a = await addresses(t);
      await establish(as, gs, ac, gc, a);
      await as.destroy(gs);
      if (t === "uds") assert.equal(existsSync(a.path), false);
      const { C: C2, H: H2 } = connect(ac, gc, a.client);
      let m = await recv(gc);
      if (m.bhdr.proto.opCode === OpCode.Signal) {
        ac.put(m); // the old channel's close
        m = await recv(gc);
      }
      const reason = t === "tcp" ? AmpeStatus.connectFailed : AmpeStatus.udsPathNotFound;
      expectMsg(m, { op: OpCode.HelloResponse, origin: "E", status: reason, ch: C2, mid: H2 });
      ac.put(m);
      await expectNext(ac, gc, {
        op: OpCode.Signal,
        status: AmpeStatus.channelClosed,
        ch: C2,
        mid: H2,
      });
      await ac.destroy(gc);
    }
  });
});

suite("a refused interest update", () => {
  test(
    "closes the channel: its unsent messages come back communication_failed, then channel_closed",
    async () => {
      // The engines share this instance of the real library; only the client's first
      // read+write interest update is refused, as an OS would refuse it.
      const native = loadNative();
      const real = native.pollerModify;
      let refused = 0;
      native.pollerModify = (poller, sock, token, interest) => {
        if ((interest & Interest.write) !== 0 && refused === 0) {
          refused++;
          return NativeError.badHandle;
        }
        return real.call(native, poller, sock, token, interest);
      };
      try {
        // The server never reads its group: its 2-message pool starves, and the client's
        // writes block, so the client's channel needs write interest.
        await withPair("tcp", async ({ ac, gc, C, H }) => {
          const body = new Uint8Array(60 * 1024);
          for (let i = 0; i < 200; i++) {
            postNew(ac, gc, (m) => {
              m.bhdr.proto.opCode = OpCode.Request;
              m.bhdr.channelNumber = C;
              m.body.append(body);
            });
          }
          let returned = 0;
          for (;;) {
            const m = await recv(gc);
            if (m.bhdr.status === AmpeStatus.channelClosed) {
              expectMsg(m, { op: OpCode.Signal, origin: "E", ch: C, mid: H }, "channel_closed");
              assert.equal(whyOf(m).reason, CloseReason.pollerFailed, "~reason");
              ac.put(m);
              break;
            }
            expectMsg(
              m,
              { op: OpCode.Request, origin: "E", status: AmpeStatus.communicationFailed, ch: C },
              "an unsent Request",
            );
            returned++;
            ac.put(m);
          }
          assert.equal(refused, 1, "the refusal happened");
          assert.ok(returned > 0, "the messages still queued came back");
        }, { initialPoolMsgs: 2, maxPoolMsgs: 2 });
      } finally {
        delete (native as { pollerModify?: unknown }).pollerModify;
        native.unload();
      }
    },
  );
});

suite("mid0 of a client channel (spec §10.5)", () => {
  for (const t of TRANSPORTS) {
    test(
      `${t}: a HelloResponse with another id makes that id the one its channel_closed Signal carries`,
      skipFor(t),
      async () => {
        await withEngines([{}, {}], async (rs, rc) => {
          const as = rs.ampe(), ac = rc.ampe();
          const gs = as.create(), gc = ac.create();
          const addr = await addresses(t);
          await listen(as, gs, addr.server);
          const { C, H } = connect(ac, gc, addr.client);
          const hello = expectMsg(await recv(gs), { op: OpCode.HelloRequest, mid: H }, "Hello");
          hello.bhdr.proto.opCode = OpCode.HelloResponse;
          hello.bhdr.messageId = H + 100n;
          gs.post(hello);
          const answer = expectMsg(
            await recv(gc),
            { op: OpCode.HelloResponse, origin: "A", status: 0, ch: C, mid: H + 100n },
            "HelloResponse",
          );
          ac.put(answer);
          postNew(ac, gc, (m) => {
            m.bhdr.proto.opCode = OpCode.ByeSignal;
            m.bhdr.channelNumber = C;
          });
          const bye = expectMsg(
            await recv(gc),
            { op: OpCode.ByeSignal, origin: "E", status: AmpeStatus.channelClosed, ch: C },
            "the ByeSignal back",
          );
          ac.put(bye);
          await expectClosed(ac, gc, C, H + 100n, "channel_closed with the received id");
        });
      },
    );
  }
});
