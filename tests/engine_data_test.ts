// Data exchange scenarios S-068…S-078 (spec §10.4), over TCP and UDS.
import { describe as suite, test } from "node:test";
import assert from "node:assert/strict";
import { type Ampe, AmpeStatus, type ChannelGroup, type Message, OpCode } from "../mod.ts";
import { expectMsg, expectNext, postNew, recv, TRANSPORTS, withPair } from "./_support/scenario.ts";
import { skipFor } from "./_support/host.ts";

for (const t of TRANSPORTS) {
  suite(`data over ${t}`, skipFor(t), () => {
    test("S-068 request/response echo keeps headers and body", async () => {
      await withPair(t, async ({ ac, gs, gc, C, S }) => {
        postNew(ac, gc, (m) => {
          m.bhdr.channelNumber = C;
          m.bhdr.messageId = 42n;
          m.thdrs.append("Content-Type", "application/json");
          m.body.append("{}");
        });
        const req = expectMsg(await recv(gs), {
          op: OpCode.Request,
          origin: "A",
          status: 0,
          ch: S,
          mid: 42n,
        });
        assert.equal(req.thdrs.get("Content-Type"), "application/json");
        assert.equal(req.body.text(), "{}");
        req.bhdr.proto.opCode = OpCode.Response;
        req.body.reset();
        req.body.append("ok");
        gs.post(req);
        const res = await expectNext(
          ac,
          gc,
          { op: OpCode.Response, origin: "A", status: 0, ch: C, mid: 42n },
          "response",
          true,
        );
        assert.equal(res.thdrs.get("Content-Type"), "application/json");
        assert.equal(res.body.text(), "ok");
        ac.put(res);
      });
    });

    test("S-069 signals both ways", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C, S }) => {
        postNew(ac, gc, (m) => {
          m.bhdr.proto.opCode = OpCode.Signal;
          m.bhdr.channelNumber = C;
          m.bhdr.messageId = 5n;
          m.body.append("p50");
        });
        const s = await expectNext(
          as,
          gs,
          { op: OpCode.Signal, origin: "A", status: 0, ch: S, mid: 5n },
          "signal",
          true,
        );
        assert.equal(s.body.text(), "p50");
        as.put(s);
        postNew(as, gs, (m) => {
          m.bhdr.proto.opCode = OpCode.Signal;
          m.bhdr.channelNumber = S;
          m.bhdr.messageId = 6n;
        });
        await expectNext(ac, gc, { op: OpCode.Signal, origin: "A", status: 0, ch: C, mid: 6n });
      });
    });

    test("S-070 client streaming with the more flag", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C, S }) => {
        for (let i = 0; i < 5; i++) {
          postNew(ac, gc, (m) => {
            m.bhdr.channelNumber = C;
            m.bhdr.messageId = 777n;
            m.bhdr.proto.more = i < 4 ? 1 : 0;
            m.body.append(String(i));
          });
        }
        for (let i = 0; i < 5; i++) {
          const m = await expectNext(
            as,
            gs,
            { op: OpCode.Request, ch: S, mid: 777n },
            `part ${i}`,
            true,
          );
          assert.equal(m.bhdr.proto.more, i < 4 ? 1 : 0);
          assert.equal(m.body.text(), String(i));
          as.put(m);
        }
        postNew(as, gs, (m) => {
          m.bhdr.proto.opCode = OpCode.Response;
          m.bhdr.channelNumber = S;
          m.bhdr.messageId = 777n;
        });
        await expectNext(ac, gc, { op: OpCode.Response, origin: "A", ch: C, mid: 777n });
      });
    });

    test("S-071 server streaming and S-072 progress signals arrive in order", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C, S }) => {
        for (const more of [1, 1, 0] as const) {
          postNew(as, gs, (m) => {
            m.bhdr.proto.opCode = OpCode.Response;
            m.bhdr.channelNumber = S;
            m.bhdr.messageId = 9n;
            m.bhdr.proto.more = more;
          });
        }
        for (const more of [1, 1, 0] as const) {
          const m = await expectNext(
            ac,
            gc,
            { op: OpCode.Response, ch: C, mid: 9n },
            "stream",
            true,
          );
          assert.equal(m.bhdr.proto.more, more);
          ac.put(m);
        }
        for (let i = 0; i < 10; i++) {
          postNew(as, gs, (m) => {
            m.bhdr.proto.opCode = OpCode.Signal;
            m.bhdr.channelNumber = S;
            m.bhdr.messageId = 10n;
            m.body.append(`${i * 10}%`);
          });
        }
        postNew(as, gs, (m) => {
          m.bhdr.proto.opCode = OpCode.Response;
          m.bhdr.channelNumber = S;
          m.bhdr.messageId = 10n;
          m.body.append("done");
        });
        for (let i = 0; i < 10; i++) {
          const m = await expectNext(
            ac,
            gc,
            { op: OpCode.Signal, ch: C, mid: 10n },
            `progress ${i}`,
            true,
          );
          assert.equal(m.body.text(), `${i * 10}%`);
          ac.put(m);
        }
        const done = await expectNext(
          ac,
          gc,
          { op: OpCode.Response, ch: C, mid: 10n },
          "done",
          true,
        );
        assert.equal(done.body.text(), "done");
        ac.put(done);
      });
    });

    test("S-073 both sides post a Request at the same time", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C, S }) => {
        postNew(ac, gc, (m) => {
          m.bhdr.channelNumber = C;
          m.bhdr.messageId = 1n;
        });
        postNew(as, gs, (m) => {
          m.bhdr.channelNumber = S;
          m.bhdr.messageId = 2n;
        });
        await expectNext(as, gs, { op: OpCode.Request, ch: S, mid: 1n });
        await expectNext(ac, gc, { op: OpCode.Request, ch: C, mid: 2n });
      });
    });

    test("S-074 maximum sizes: 65 535 bytes of headers and of body arrive intact", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C, S }) => {
        const body = new Uint8Array(65535);
        for (let i = 0; i < body.length; i++) body[i] = i % 251;
        const value = "v".repeat(65531);
        postNew(ac, gc, (m) => {
          m.bhdr.channelNumber = C;
          m.thdrs.append("h", value);
          m.body.append(body);
        });
        const m = await expectNext(as, gs, { op: OpCode.Request, ch: S }, "big", true);
        assert.equal(m.bhdr.thl, 65535);
        assert.equal(m.bhdr.bl, 65535);
        assert.equal(m.thdrs.get("h"), value);
        assert.deepEqual(m.body.bytes(), body);
        as.put(m);
      });
    });

    test("mixed sizes around the gather threshold, with text headers, arrive intact after the socket filled up", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C, S }) => {
        // Bodies from 1 KiB leave from their own storage, smaller ones are copied; 8 MB in
        // all, posted before the server reads, so writes come back short and resume mid-piece.
        const sizes = [0, 10, 1023, 1024, 1500, 4096, 20000, 65535];
        const total = 240;
        const bodyOf = (n: number) => {
          const b = new Uint8Array(sizes[n % sizes.length]!);
          for (let i = 0; i < b.length; i++) b[i] = (n * 31 + i) & 0xff;
          return b;
        };
        for (let n = 0; n < total; n++) {
          postNew(ac, gc, (m) => {
            m.bhdr.channelNumber = C;
            m.bhdr.messageId = BigInt(n + 1);
            if (n % 3 === 0) m.thdrs.append("n", String(n));
            m.body.append(bodyOf(n));
          });
        }
        for (let n = 0; n < total; n++) {
          const m = await recv(gs);
          if (m.isFromEngine() && m.bhdr.status === AmpeStatus.poolEmpty) {
            as.put(m);
            n--;
            continue;
          }
          expectMsg(m, { op: OpCode.Request, ch: S, mid: BigInt(n + 1) }, `message ${n}`);
          assert.equal(m.thdrs.get("n"), n % 3 === 0 ? String(n) : undefined, `headers of ${n}`);
          assert.deepEqual(m.body.bytes(), bodyOf(n), `body of ${n}`);
          as.put(m);
        }
      });
    });

    test("received bodies read in place stay intact while kept, whatever arrives after them", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C, S }) => {
        // Bodies from 65 bytes borrow the engine's read buffers; keeping messages must keep
        // their bodies (reads go elsewhere, then to a scratch buffer and copies).
        const total = 3000;
        const bodyOf = (n: number) => {
          const b = new Uint8Array(65 + (n * 977) % 5000);
          for (let i = 0; i < b.length; i++) b[i] = (n * 13 + i) & 0xff;
          return b;
        };
        const kept: Message[] = [];
        let sent = 0;
        for (let n = 0; n < total; n++) {
          postNew(ac, gc, (m) => {
            m.bhdr.channelNumber = C;
            m.bhdr.messageId = BigInt(n + 1);
            m.body.append(bodyOf(n));
          });
          sent++;
          if (sent % 200 === 0) await new Promise((r) => setTimeout(r, 1)); // spread the reads
        }
        for (let n = 0; n < total;) {
          const m = await recv(gs);
          if (m.isFromEngine() && m.bhdr.status === AmpeStatus.poolEmpty) {
            as.put(m);
            continue;
          }
          expectMsg(m, { op: OpCode.Request, ch: S, mid: BigInt(n + 1) }, `message ${n}`);
          kept.push(m);
          n++;
        }
        for (let n = 0; n < total; n++) {
          assert.deepEqual(kept[n]!.body.bytes(), bodyOf(n), `kept body ${n}`);
        }
        // Changing one received body leaves the others (maybe from the same read) alone.
        const a = kept[0]!;
        const b = kept[1]!;
        a.body.append("!");
        assert.deepEqual(a.body.bytes(), new Uint8Array([...bodyOf(0), 0x21]));
        assert.deepEqual(b.body.bytes(), bodyOf(1));
        const copy = b.clone();
        as.put(b);
        assert.deepEqual(copy.body.bytes(), bodyOf(1), "a clone owns its body");
        // Echoed straight back, a body read in place goes out intact.
        const echo = kept[2]!;
        echo.bhdr.proto.opCode = OpCode.Response;
        gs.post(echo);
        const back = await expectNext(
          ac,
          gc,
          { op: OpCode.Response, ch: C, mid: 3n },
          "echo",
          true,
        );
        assert.deepEqual(back.body.bytes(), bodyOf(2));
        ac.put(back);
        as.put(a);
        for (const m of kept.slice(3)) as.put(m);
        as.put(copy);
      }, { initialPoolMsgs: 4000, maxPoolMsgs: 4000 }); // room to keep every message
    });

    test("S-075 an empty message stays empty", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C, S }) => {
        postNew(ac, gc, (m) => {
          m.bhdr.channelNumber = C;
        });
        const m = await expectNext(as, gs, { op: OpCode.Request, ch: S }, "empty", true);
        assert.equal(m.bhdr.thl, 0);
        assert.equal(m.bhdr.bl, 0);
        assert.equal(m.body.bytes().length, 0);
        assert.equal([...m.thdrs].length, 0);
        as.put(m);
      });
    });

    test("S-076 ordering under volume: 1000 requests and 1000 responses in order", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C }) => {
        const payload = new Uint8Array(32).fill(7);
        for (let i = 1; i <= 1000; i++) {
          postNew(ac, gc, (m) => {
            m.bhdr.channelNumber = C;
            m.bhdr.messageId = BigInt(i);
            m.body.append(payload);
          });
        }
        // 1000 messages in flight outrun the default pool (16): pool_empty Signals may come in
        // between; the app puts them back, which refills the pool (spec §12).
        const next = async (g: ChannelGroup, ampe: Ampe) => {
          for (;;) {
            const m = await recv(g);
            if (m.isFromEngine() && m.bhdr.status === AmpeStatus.poolEmpty) ampe.put(m);
            else return m;
          }
        };
        // Both apps read at the same time, as real peers do: a client that stops reading
        // would (correctly) stall the server once its socket buffers are full.
        const server = async () => {
          for (let i = 1; i <= 1000; i++) {
            const m = expectMsg(await next(gs, as), {
              op: OpCode.Request,
              status: 0,
              mid: BigInt(i),
            }, `request ${i}`);
            m.bhdr.proto.opCode = OpCode.Response;
            gs.post(m);
          }
        };
        const client = async () => {
          for (let i = 1; i <= 1000; i++) {
            const m = expectMsg(await next(gc, ac), {
              op: OpCode.Response,
              status: 0,
              ch: C,
              mid: BigInt(i),
            }, `response ${i}`);
            ac.put(m);
          }
        };
        await Promise.all([server(), client()]);
      });
    });

    test("S-077 arbitrary message ids are preserved end to end", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C, S }) => {
        for (const mid of [0xFFFFFFFFFFFFFFFFn, 1n, 0x1_0000_0000n]) {
          postNew(ac, gc, (m) => {
            m.bhdr.channelNumber = C;
            m.bhdr.messageId = mid;
          });
          await expectNext(as, gs, { op: OpCode.Request, ch: S, mid });
        }
      });
    });

    test("S-078 auto ids: two posts with mid 0 get consecutive ids", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C, S }) => {
        const a = postNew(ac, gc, (m) => {
          m.bhdr.channelNumber = C;
        });
        const b = postNew(ac, gc, (m) => {
          m.bhdr.channelNumber = C;
        });
        assert.ok(a.mid > 0n);
        assert.equal(b.mid, a.mid + 1n);
        await expectNext(as, gs, { op: OpCode.Request, ch: S, mid: a.mid });
        await expectNext(as, gs, { op: OpCode.Request, ch: S, mid: b.mid });
      });
    });

    test("S-032 engine-overwritten fields: origin, status, ids and lengths", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C, S }) => {
        const m = ac.get("always")!;
        m.bhdr.channelNumber = C;
        m.bhdr.proto.origin = 1;
        m.bhdr.status = 5;
        m.thdrs.append("a", "b");
        m.body.append("xyz");
        const h = gc.post(m);
        assert.equal(h.proto.origin, 0);
        assert.equal(h.status, 0);
        assert.equal(h.channelNumber, C);
        assert.ok(h.messageId > 0n);
        assert.equal(h.thl, 5);
        assert.equal(h.bl, 3);
        await expectNext(as, gs, {
          op: OpCode.Request,
          origin: "A",
          status: AmpeStatus.success,
          ch: S,
          mid: h.messageId,
        });
      });
    });
  });
}
