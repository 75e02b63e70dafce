// Connect scenarios S-053…S-067 (spec §10.2, §10.3, §10.8, §10.10, [N4]).
import { describe as suite, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import {
  AllocationStrategy,
  AmpeStatus,
  OpCode,
  TCPClientAddress,
  UDSClientAddress,
} from "../mod.ts";
import { findFreeTcpPort, tempUdsPath } from "../testing.ts";
import {
  accept,
  addresses,
  byeExchange,
  connect,
  expectClosed,
  expectMsg,
  expectNext,
  listen,
  none,
  postNew,
  recv,
  TRANSPORTS,
  withEngines,
} from "./_support/scenario.ts";
import { skipFor, UDS_SKIP } from "./_support/host.ts";

suite("connect", () => {
  for (const t of TRANSPORTS) {
    test(
      `S-053/S-054 full handleConnect sequence over ${t}, one engine and one group`,
      skipFor(t),
      async () => {
        await withEngines([{ initialPoolMsgs: 24, maxPoolMsgs: 32 }], async (rtr) => {
          const ampe = rtr.ampe();
          const g = ampe.create();
          const a = await addresses(t);
          const { L, Mw } = await listen(ampe, g, a.server);
          const { C, H } = connect(ampe, g, a.client);
          assert.notEqual(C, L);
          const hello = expectMsg(await recv(g, 20000), {
            op: OpCode.HelloRequest,
            origin: "A",
            status: 0,
            mid: H,
          });
          const S = hello.bhdr.channelNumber;
          assert.ok(S !== L && S !== C, "S differs from L and C");
          hello.bhdr.proto.opCode = OpCode.HelloResponse;
          g.post(hello);
          await expectNext(ampe, g, {
            op: OpCode.HelloResponse,
            origin: "A",
            status: 0,
            ch: C,
            mid: H,
          });
          const b1 = postNew(ampe, g, (m) => {
            m.bhdr.proto.opCode = OpCode.ByeSignal;
            m.bhdr.proto.oob = 1;
            m.bhdr.channelNumber = L;
          });
          await expectNext(ampe, g, {
            op: OpCode.ByeSignal,
            origin: "E",
            status: AmpeStatus.channelClosed,
            ch: L,
            mid: b1.mid,
          });
          await expectClosed(ampe, g, L, Mw);
          const b2 = postNew(ampe, g, (m) => {
            m.bhdr.proto.opCode = OpCode.ByeSignal;
            m.bhdr.proto.oob = 1;
            m.bhdr.channelNumber = C;
          });
          await expectNext(ampe, g, {
            op: OpCode.ByeSignal,
            origin: "E",
            status: AmpeStatus.channelClosed,
            ch: C,
            mid: b2.mid,
          });
          await expectClosed(ampe, g, C, H);
          await expectClosed(ampe, g, S, H);
          await none(g);
        });
      },
    );
  }

  test("S-055 connect to a port nobody listens on: connect_failed bundle", async () => {
    await withEngines([{ initialPoolMsgs: 16, maxPoolMsgs: 64 }], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      const port = await findFreeTcpPort();
      const { C, H } = connect(ampe, g, new TCPClientAddress("127.0.0.1", port));
      await expectNext(ampe, g, {
        op: OpCode.HelloResponse,
        origin: "E",
        status: AmpeStatus.connectFailed,
        ch: C,
        mid: H,
      });
      await expectClosed(ampe, g, C, H);
      await none(g);
    });
  });

  test("S-056 UDS path not found: uds_path_not_found bundle", { skip: UDS_SKIP }, async () => {
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      const { C, H } = connect(ampe, g, new UDSClientAddress(tempUdsPath()));
      await expectNext(ampe, g, {
        op: OpCode.HelloResponse,
        origin: "E",
        status: AmpeStatus.udsPathNotFound,
        ch: C,
        mid: H,
      });
      await expectClosed(ampe, g, C, H);
    });
  });

  test("S-057 unresolvable host: invalid_address bundle", async () => {
    await withEngines([{ initialPoolMsgs: 1, maxPoolMsgs: 1 }], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      const { C, H } = connect(ampe, g, new TCPClientAddress("tofu.server.zig", 7099));
      await expectNext(ampe, g, {
        op: OpCode.HelloResponse,
        origin: "E",
        status: AmpeStatus.invalidAddress,
        ch: C,
        mid: H,
      });
      await expectClosed(ampe, g, C, H);
    });
  });

  test("S-058 [N4] stale UDS socket file: connect_failed", { skip: UDS_SKIP }, async () => {
    const path = tempUdsPath();
    const made = spawnSync("python3", [
      "-c",
      "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); s.close()",
      path,
    ]);
    assert.equal(made.status, 0, "python3 made a stale socket file");
    assert.ok(existsSync(path));
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      const { C, H } = connect(ampe, g, new UDSClientAddress(path));
      await expectNext(ampe, g, {
        op: OpCode.HelloResponse,
        origin: "E",
        status: AmpeStatus.connectFailed,
        ch: C,
        mid: H,
      });
      await expectClosed(ampe, g, C, H);
    });
    rmSync(path, { force: true });
  });

  test("S-059 malformed connect header: invalid_address", async () => {
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      const h = postNew(ampe, g, (m) => {
        m.bhdr.proto.opCode = OpCode.HelloRequest;
        m.thdrs.append("~connect_to", "tcp|127.0.0.1|99999");
      });
      await expectNext(ampe, g, {
        op: OpCode.HelloResponse,
        origin: "E",
        status: AmpeStatus.invalidAddress,
        ch: h.ch,
        mid: h.mid,
      });
      await expectClosed(ampe, g, h.ch, h.mid);
    });
  });

  test("S-060 what the server sees: headers in order and body; the reply carries them back", async () => {
    await withEngines([{}, {}], async (rs, rc) => {
      const as = rs.ampe(), ac = rc.ampe();
      const gs = as.create(), gc = ac.create();
      const a = await addresses("tcp");
      await listen(as, gs, a.server);
      const m = ac.get(AllocationStrategy.always)!;
      a.client.format(m);
      m.thdrs.append("X-Worker", "rip1");
      m.body.append("PS");
      const h = gc.post(m);
      const r = expectMsg(await recv(gs), {
        op: OpCode.HelloRequest,
        origin: "A",
        status: 0,
        mid: h.messageId,
      });
      assert.equal(r.bhdr.proto.more, 0);
      assert.deepEqual([...r.thdrs].map(({ name, value }) => [name, value]), [
        ["~connect_to", `tcp|127.0.0.1|${a.port}`],
        ["X-Worker", "rip1"],
      ]);
      assert.equal(r.body.text(), "PS");
      r.bhdr.proto.opCode = OpCode.HelloResponse;
      gs.post(r);
      const back = await expectNext(
        ac,
        gc,
        { op: OpCode.HelloResponse, origin: "A", status: 0, ch: h.channelNumber, mid: h.messageId },
        "reply",
        true,
      );
      assert.equal(back.thdrs.get("X-Worker"), "rip1");
      assert.equal(back.body.text(), "PS");
      ac.put(back);
    });
  });

  for (const t of TRANSPORTS) {
    test(`S-061 sends before hello completes are queued behind it (${t})`, skipFor(t), async () => {
      await withEngines([{}, {}], async (rs, rc) => {
        const as = rs.ampe(), ac = rc.ampe();
        const gs = as.create(), gc = ac.create();
        const a = await addresses(t);
        await listen(as, gs, a.server);
        const { C, H } = connect(ac, gc, a.client);
        for (const [mid, body] of [[101n, "a"], [102n, "b"]] as const) {
          postNew(ac, gc, (m) => {
            m.bhdr.channelNumber = C;
            m.bhdr.messageId = mid;
            m.body.append(body);
          });
        }
        const hello = expectMsg(await recv(gs), {
          op: OpCode.HelloRequest,
          origin: "A",
          status: 0,
          mid: H,
        });
        const S = hello.bhdr.channelNumber;
        as.put(hello);
        const r1 = await expectNext(
          as,
          gs,
          { op: OpCode.Request, origin: "A", status: 0, ch: S, mid: 101n },
          "R1",
          true,
        );
        assert.equal(r1.body.text(), "a");
        const r2 = await expectNext(
          as,
          gs,
          { op: OpCode.Request, origin: "A", status: 0, ch: S, mid: 102n },
          "R2",
          true,
        );
        assert.equal(r2.body.text(), "b");
        as.put(r1);
        as.put(r2);
      });
    });
  }

  test("S-062 sends before hello, connect fails: everything comes back exactly once", async () => {
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      const port = await findFreeTcpPort();
      const { C, H } = connect(ampe, g, new TCPClientAddress("127.0.0.1", port));
      for (const mid of [101n, 102n]) {
        postNew(ampe, g, (m) => {
          m.bhdr.channelNumber = C;
          m.bhdr.messageId = mid;
        });
      }
      await expectNext(ampe, g, {
        op: OpCode.HelloResponse,
        origin: "E",
        status: AmpeStatus.connectFailed,
        ch: C,
        mid: H,
      });
      const returned: bigint[] = [];
      let signals = 0;
      for (let i = 0; i < 3; i++) {
        const m = await recv(g);
        if (m.bhdr.proto.opCode === OpCode.Signal) {
          expectMsg(m, { origin: "E", status: AmpeStatus.channelClosed, ch: C, mid: H });
          signals++;
        } else {
          expectMsg(m, { op: OpCode.Request, origin: "E", ch: C });
          assert.ok(
            m.bhdr.status === AmpeStatus.connectFailed ||
              m.bhdr.status === AmpeStatus.channelClosed,
            `status ${m.bhdr.status}`,
          );
          returned.push(m.bhdr.messageId);
        }
        ampe.put(m);
      }
      assert.equal(signals, 1);
      assert.deepEqual(returned, [101n, 102n]);
      await none(g);
    });
  });

  test("S-063 [N6] server rejects with ByeSignal (bit 6 clear): both sides close, no HelloResponse", async () => {
    await withEngines([{}, {}], async (rs, rc) => {
      const as = rs.ampe(), ac = rc.ampe();
      const gs = as.create(), gc = ac.create();
      const a = await addresses("tcp");
      await listen(as, gs, a.server);
      const { C, H } = connect(ac, gc, a.client);
      const hello = expectMsg(await recv(gs), { op: OpCode.HelloRequest, mid: H });
      const S = hello.bhdr.channelNumber;
      hello.bhdr.proto.opCode = OpCode.ByeSignal;
      gs.post(hello);
      await expectNext(as, gs, {
        op: OpCode.ByeSignal,
        origin: "E",
        status: AmpeStatus.channelClosed,
        ch: S,
        mid: H,
      });
      await expectClosed(as, gs, S, H);
      await expectClosed(ac, gc, C, H);
      await none(gc);
    });
  });

  test("S-064 no HelloResponse needed: the server may send a Request first", async () => {
    await withEngines([{}, {}], async (rs, rc) => {
      const as = rs.ampe(), ac = rc.ampe();
      const gs = as.create(), gc = ac.create();
      const a = await addresses("tcp");
      await listen(as, gs, a.server);
      const { C, H } = connect(ac, gc, a.client);
      const hello = expectMsg(await recv(gs), { op: OpCode.HelloRequest, mid: H });
      const S = hello.bhdr.channelNumber;
      as.put(hello);
      postNew(as, gs, (m) => {
        m.bhdr.channelNumber = S;
        m.bhdr.messageId = 7n;
        m.body.append("job");
      });
      const job = await expectNext(
        ac,
        gc,
        { op: OpCode.Request, origin: "A", status: 0, ch: C, mid: 7n },
        "job",
        true,
      );
      assert.equal(job.body.text(), "job");
      ac.put(job);
    });
  });

  test("S-065 channel ownership across groups of one engine", async () => {
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe();
      const gs = ampe.create(), gc = ampe.create();
      const a = await addresses("tcp");
      await listen(ampe, gs, a.server);
      const { C, H } = connect(ampe, gc, a.client);
      const hello = expectMsg(await recv(gs), { op: OpCode.HelloRequest, mid: H });
      hello.bhdr.proto.opCode = OpCode.HelloResponse;
      assert.throws(() => gc.post(hello), {
        name: "AmpeError",
        status: AmpeStatus.invalidMessageChannelGroup,
      });
      assert.equal(hello.bhdr.proto.opCode, OpCode.HelloResponse, "the caller keeps the message");
      gs.post(hello);
      await expectNext(ampe, gc, {
        op: OpCode.HelloResponse,
        origin: "A",
        status: 0,
        ch: C,
        mid: H,
      });
    });
  });

  for (const t of TRANSPORTS) {
    test(
      `S-066 reconnect single-threaded over ${t}: failures, then success, then graceful bye`,
      skipFor(t),
      async () => {
        await withEngines([{ initialPoolMsgs: 16, maxPoolMsgs: 32 }, {
          initialPoolMsgs: 16,
          maxPoolMsgs: 32,
        }], async (ra, rb) => {
          const aa = ra.ampe(), ab = rb.ampe();
          const ga = aa.create(), gb = ab.create();
          const a = await addresses(t);
          const seen = new Set<number>();
          const reason = t === "tcp" ? AmpeStatus.connectFailed : AmpeStatus.udsPathNotFound;
          for (let i = 0; i < 1000; i++) {
            const { C, H } = connect(aa, ga, a.client);
            assert.ok(!seen.has(C), `channel ${C} reused`);
            seen.add(C);
            await expectNext(aa, ga, {
              op: OpCode.HelloResponse,
              origin: "E",
              status: reason,
              ch: C,
              mid: H,
            });
            await expectClosed(aa, ga, C, H);
            await new Promise((r) => setTimeout(r, 1));
          }
          await listen(ab, gb, a.server);
          const { C, H } = connect(aa, ga, a.client);
          const { S } = await accept(ab, gb, H);
          await expectNext(aa, ga, {
            op: OpCode.HelloResponse,
            origin: "A",
            status: 0,
            ch: C,
            mid: H,
          });
          await byeExchange(aa, ga, gb, C, S);
          await expectClosed(aa, ga, C, H);
          await expectClosed(ab, gb, S, H);
        });
      },
    );
  }

  for (const t of TRANSPORTS) {
    test(
      `S-067 reconnect with concurrent client and server tasks over ${t}`,
      skipFor(t),
      async () => {
        await withEngines([{ initialPoolMsgs: 1024, maxPoolMsgs: 1024 }], async (rtr) => {
          const ampe = rtr.ampe();
          const gc = ampe.create(), gs = ampe.create();
          const a = await addresses(t);
          let connected = false;
          const failure = t === "tcp" ? AmpeStatus.connectFailed : AmpeStatus.udsPathNotFound;
          const client = (async () => {
            connect(ampe, gc, a.client);
            for (;;) {
              const m = await gc.waitReceive(2000);
              if (m === null) continue;
              const { status } = m.bhdr;
              const op = m.bhdr.proto.opCode;
              ampe.put(m);
              if (status === AmpeStatus.receiverUpdate) return;
              if (op === OpCode.HelloResponse && status === failure) {
                await new Promise((r) => setTimeout(r, 10));
                connect(ampe, gc, a.client);
              } else if (op === OpCode.HelloResponse && status === 0) {
                connected = true;
              }
            }
          })();
          const server = (async () => {
            await new Promise((r) => setTimeout(r, 1000));
            await listen(ampe, gs, a.server);
            for (;;) {
              const m = await gs.waitReceive(2000);
              if (m === null) continue;
              if (m.bhdr.status === AmpeStatus.receiverUpdate) {
                ampe.put(m);
                return;
              }
              if (m.isFromApplication() && m.bhdr.proto.opCode === OpCode.HelloRequest) {
                m.bhdr.proto.opCode = OpCode.HelloResponse;
                gs.post(m);
              } else {
                ampe.put(m);
              }
            }
          })();
          const end = Date.now() + 10000;
          while (!connected && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
          assert.ok(connected, "client connected within 10 s");
          gc.updateReceiver();
          gs.updateReceiver();
          await Promise.all([client, server]);
        });
      },
    );
  }
});
