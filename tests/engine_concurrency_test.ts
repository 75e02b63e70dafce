// Concurrency and repetition S-099, S-100, S-101 and concurrent posters S-079
// (spec §15, scenarios §K).
import { describe as suite, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, lstatSync } from "node:fs";
import { setImmediate } from "node:timers";
import {
  type Ampe,
  AmpeStatus,
  type ChannelGroup,
  type Message,
  OpCode,
  type Options,
  Reactor,
  TCPClientAddress,
  TCPServerAddress,
  UDSClientAddress,
  UDSServerAddress,
} from "../mod.ts";
import {
  accept,
  type Addresses,
  addresses,
  byeExchange,
  connect,
  establish,
  expectMsg,
  expectNext,
  listen,
  none,
  postNew,
  recv,
  type Transport,
  TRANSPORTS,
  withEngines,
} from "./_support/scenario.ts";
import { skipFor, UDS_SKIP } from "./_support/host.ts";
import { sleep } from "./_support/wait.ts";

/** bun test applies its 5 s default to node:test tests unless a test names its own limit. */
const LIMIT = { timeout: 60_000 };
const E2_32: Options = { initialPoolMsgs: 2, maxPoolMsgs: 32 };
const E24_32: Options = { initialPoolMsgs: 24, maxPoolMsgs: 32 };
const E16_32: Options = { initialPoolMsgs: 16, maxPoolMsgs: 32 };
const E1024: Options = { initialPoolMsgs: 1024, maxPoolMsgs: 1024 };

/** Connect failures S-066 makes before the server starts, in the loop and parallel runs. */
const RECONNECT_ATTEMPTS = 1000;

/** The `~connect_to` value a HelloRequest to `a` carries: proves it came from this run. */
function connectTo(a: Addresses): string {
  return a.path === "" ? `tcp|127.0.0.1|${a.port}` : `uds|${a.path}`;
}

/** Posts a ByeSignal (bit 6 set, as `default(ByeSignal)`) on `ch`; returns its id. */
function byeSignal(ampe: Ampe, g: ChannelGroup, ch: number): bigint {
  return postNew(ampe, g, (m) => {
    m.bhdr.proto.opCode = OpCode.ByeSignal;
    m.bhdr.proto.oob = 1;
    m.bhdr.channelNumber = ch;
  }).mid;
}

function closed(ch: number, mid: bigint) {
  return { op: OpCode.Signal, origin: "E" as const, status: AmpeStatus.channelClosed, ch, mid };
}

// ---- the scenarios, each with its own engines, ports and paths ----

/** S-021: create/destroy engine; with interface; with a group. */
async function s021(): Promise<void> {
  const a = await Reactor.create();
  await a.destroy();
  const b = await Reactor.create();
  assert.ok(b.ampe());
  await b.destroy();
  const c = await Reactor.create();
  const ampe = c.ampe();
  await ampe.destroy(ampe.create());
  await c.destroy();
}

/** S-040: a TCP listener on 0.0.0.0:P answers with its WelcomeResponse, then nothing. */
async function s040(): Promise<void> {
  await withEngines([E2_32], async (rtr) => {
    const ampe = rtr.ampe();
    const g = ampe.create();
    const a = await addresses("tcp");
    await listen(ampe, g, new TCPServerAddress("0.0.0.0", a.port));
    await none(g);
  });
}

/** S-041 [N17]: a second listener on a live TCP address fails; it works once the first closed. */
async function s041(): Promise<void> {
  await withEngines([E2_32, E2_32], async (r1, r2) => {
    const a1 = r1.ampe(), a2 = r2.ampe();
    const g1 = a1.create(), g2 = a2.create();
    const a = await addresses("tcp");
    const server = new TCPServerAddress("0.0.0.0", a.port);
    const { L, Mw } = await listen(a1, g1, server);
    const second = postNew(a2, g2, (m) => server.format(m));
    await expectNext(a2, g2, {
      op: OpCode.WelcomeResponse,
      origin: "E",
      status: AmpeStatus.listenFailed,
      ch: second.ch,
      mid: second.mid,
    });
    await expectNext(a2, g2, closed(second.ch, second.mid));
    const { C, H } = connect(a2, g2, new TCPClientAddress("127.0.0.1", a.port));
    await accept(a1, g1, H);
    await expectNext(a2, g2, { op: OpCode.HelloResponse, origin: "A", status: 0, ch: C, mid: H });
    const b = byeSignal(a1, g1, L);
    await expectNext(a1, g1, {
      op: OpCode.ByeSignal,
      origin: "E",
      status: AmpeStatus.channelClosed,
      ch: L,
      mid: b,
    });
    await expectNext(a1, g1, closed(L, Mw));
    await listen(a2, g2, server);
  });
}

/** S-041's last step, many times: right after a listener's close bundle its address is free. */
async function relistenRounds(rounds: number): Promise<void> {
  await withEngines([E2_32, E2_32], async (r1, r2) => {
    const a1 = r1.ampe(), a2 = r2.ampe();
    for (let i = 0; i < rounds; i++) {
      const g1 = a1.create(), g2 = a2.create();
      const a = await addresses("tcp");
      const server = new TCPServerAddress("0.0.0.0", a.port);
      const { L, Mw } = await listen(a1, g1, server);
      await sleep(5); // let the engine go idle (park), as it would between real events
      const b = byeSignal(a1, g1, L);
      await expectNext(a1, g1, {
        op: OpCode.ByeSignal,
        origin: "E",
        status: AmpeStatus.channelClosed,
        ch: L,
        mid: b,
      });
      await expectNext(a1, g1, closed(L, Mw));
      await listen(a2, g2, server);
      await a1.destroy(g1);
      await a2.destroy(g2);
    }
  });
}

/** S-042: a UDS listener's path is a socket while listening and gone after destroy(group). */
async function s042(): Promise<void> {
  await withEngines([E2_32], async (rtr) => {
    const ampe = rtr.ampe();
    const g = ampe.create();
    const a = await addresses("uds");
    await listen(ampe, g, a.server);
    assert.ok(lstatSync(a.path).isSocket(), "the path is a socket while listening");
    await ampe.destroy(g);
    assert.equal(existsSync(a.path), false, "the path is gone after destroy(group)");
  });
}

/** S-043 [N18]: a second listener on a live UDS path fails; the path and the first listener live on. */
async function s043(): Promise<void> {
  await withEngines([E2_32, E2_32], async (r1, r2) => {
    const a1 = r1.ampe(), a2 = r2.ampe();
    const g1 = a1.create(), g2 = a2.create();
    const a = await addresses("uds");
    await listen(a1, g1, a.server);
    const second = postNew(a2, g2, (m) => new UDSServerAddress(a.path).format(m));
    await expectNext(a2, g2, {
      op: OpCode.WelcomeResponse,
      origin: "E",
      status: AmpeStatus.listenFailed,
      ch: second.ch,
      mid: second.mid,
    });
    await expectNext(a2, g2, closed(second.ch, second.mid));
    assert.ok(lstatSync(a.path).isSocket(), "the first listener's path still exists");
    // The liveness probe of the second listener was accepted and closed: mid 0 (spec §10.3).
    await expectNext(a1, g1, {
      op: OpCode.Signal,
      origin: "E",
      status: AmpeStatus.channelClosed,
      mid: 0n,
    });
    const { C, H } = connect(a2, g2, new UDSClientAddress(a.path));
    await accept(a1, g1, H);
    await expectNext(a2, g2, { op: OpCode.HelloResponse, origin: "A", status: 0, ch: C, mid: H });
  });
}

/** S-053 / S-054: the full handleConnect sequence in one engine and one group. */
async function s053(t: Transport, options: Options = E24_32): Promise<void> {
  await withEngines([options], async (rtr) => {
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
    assert.equal(hello.thdrs.get("~connect_to"), connectTo(a), "the HelloRequest of this run");
    const S = hello.bhdr.channelNumber;
    assert.ok(S !== L && S !== C, "S differs from L and C");
    hello.bhdr.proto.opCode = OpCode.HelloResponse;
    g.post(hello);
    await expectNext(ampe, g, { op: OpCode.HelloResponse, origin: "A", status: 0, ch: C, mid: H });
    const b1 = byeSignal(ampe, g, L);
    await expectNext(ampe, g, {
      op: OpCode.ByeSignal,
      origin: "E",
      status: AmpeStatus.channelClosed,
      ch: L,
      mid: b1,
    });
    await expectNext(ampe, g, closed(L, Mw));
    const b2 = byeSignal(ampe, g, C);
    await expectNext(ampe, g, {
      op: OpCode.ByeSignal,
      origin: "E",
      status: AmpeStatus.channelClosed,
      ch: C,
      mid: b2,
    });
    await expectNext(ampe, g, closed(C, H));
    await expectNext(ampe, g, closed(S, H));
    await none(g);
  });
}

/** S-066: connect failures without a server, then connect, then a graceful bye. */
async function s066(t: Transport, attempts = RECONNECT_ATTEMPTS): Promise<void> {
  await withEngines([E16_32, E16_32], async (ra, rb) => {
    const aa = ra.ampe(), ab = rb.ampe();
    const ga = aa.create(), gb = ab.create();
    const a = await addresses(t);
    const reason = t === "tcp" ? AmpeStatus.connectFailed : AmpeStatus.udsPathNotFound;
    const seen = new Set<number>();
    for (let i = 0; i < attempts; i++) {
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
      await expectNext(aa, ga, closed(C, H));
      await sleep(1);
    }
    await listen(ab, gb, a.server);
    const { C, H } = connect(aa, ga, a.client);
    const hello = expectMsg(await recv(gb), {
      op: OpCode.HelloRequest,
      origin: "A",
      status: 0,
      mid: H,
    });
    assert.equal(hello.thdrs.get("~connect_to"), connectTo(a), "the HelloRequest of this run");
    const S = hello.bhdr.channelNumber;
    hello.bhdr.proto.opCode = OpCode.HelloResponse;
    gb.post(hello);
    await expectNext(aa, ga, { op: OpCode.HelloResponse, origin: "A", status: 0, ch: C, mid: H });
    await byeExchange(aa, ga, gb, C, S);
    await expectNext(aa, ga, closed(C, H));
    await expectNext(ab, gb, closed(S, H));
    await none(ga, 50);
    await none(gb, 50);
  });
}

/** S-067: client and server tasks on one engine; the server starts `delayMs` after the client. */
async function s067(t: Transport, delayMs = 1000): Promise<void> {
  await withEngines([E1024], async (rtr) => {
    const ampe = rtr.ampe();
    const gc = ampe.create(), gs = ampe.create();
    const a = await addresses(t);
    const failure = t === "tcp" ? AmpeStatus.connectFailed : AmpeStatus.udsPathNotFound;
    let connected = false;
    const client = (async () => {
      connect(ampe, gc, a.client);
      for (;;) {
        const m = await gc.waitReceive(2000);
        if (m === null) continue;
        const op = m.bhdr.proto.opCode;
        const status = m.bhdr.status;
        const ch = m.bhdr.channelNumber;
        ampe.put(m);
        if (status === AmpeStatus.receiverUpdate) return;
        if (op === OpCode.HelloResponse && status === failure) {
          await sleep(10);
          connect(ampe, gc, a.client);
        } else if (op === OpCode.HelloResponse && status === 0) {
          connected = true;
          byeSignal(ampe, gc, ch);
        } else {
          assert.ok(
            status === AmpeStatus.channelClosed,
            `client: unexpected opCode ${op} with status ${status}`,
          );
        }
      }
    })();
    const server = (async () => {
      await sleep(delayMs);
      await listen(ampe, gs, a.server);
      for (;;) {
        const m = await gs.waitReceive(2000);
        if (m === null) continue;
        if (m.bhdr.status === AmpeStatus.receiverUpdate) {
          ampe.put(m);
          return;
        }
        if (m.isFromApplication() && m.bhdr.proto.opCode === OpCode.HelloRequest) {
          assert.equal(m.thdrs.get("~connect_to"), connectTo(a), "the HelloRequest of this run");
          m.bhdr.proto.opCode = OpCode.HelloResponse;
          gs.post(m);
        } else {
          ampe.put(m);
        }
      }
    })();
    const end = Date.now() + 10000;
    while (!connected && Date.now() < end) await sleep(10);
    assert.ok(connected, "client connected within 10 s");
    gc.updateReceiver();
    gs.updateReceiver();
    await Promise.all([client, server]);
  });
}

/** The connect/disconnect family of S-100: S-040…S-043, S-053, S-054. */
async function connectDisconnect(): Promise<void> {
  await s040();
  await s041();
  await s042();
  await s043();
  await s053("tcp");
  await s053("uds");
}

suite("concurrency", () => {
  for (let rep = 1; rep <= 5; rep++) {
    test(`S-099 loop tests, repetition ${rep} of 5`, { ...LIMIT, skip: UDS_SKIP }, async () => {
      await s021();
      await s040();
      await s041();
      await s042();
      await s043();
      await s053("tcp");
      await s053("uds");
      for (const t of TRANSPORTS) await s066(t);
      // S-067 waits 1 s for its server; run both transports side by side.
      await Promise.all(TRANSPORTS.map((t) => s067(t)));
    });
  }

  test(
    "S-041 [N17] a closed TCP listener's address is free at once: 20 close + re-listen rounds",
    LIMIT,
    async () => {
      await relistenRounds(20);
    },
  );

  test(
    "S-100 simultaneous runs: 4 tasks x 8 sub-tasks, each with its own engines",
    { ...LIMIT, skip: UDS_SKIP },
    async () => {
      const subTasks = (): Promise<void>[] => [
        s021(),
        s021(),
        connectDisconnect(),
        connectDisconnect(),
        s066("tcp"),
        s066("uds"),
        s067("tcp"),
        s067("uds"),
      ];
      const tasks = Array.from({ length: 4 }, async () => {
        const results = await Promise.allSettled(subTasks());
        return results.filter((r) => r.status === "rejected").map((r) =>
          (r as PromiseRejectedResult).reason
        );
      });
      const failures = (await Promise.all(tasks)).flat();
      assert.deepEqual(failures.map(String), [], "every one of the 32 sub-tasks passes");
    },
  );

  test(
    "S-101 many engines in one process: 8 engines run S-053 at the same time",
    { ...LIMIT, skip: UDS_SKIP },
    async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => s053(i % 2 === 0 ? "tcp" : "uds")),
      );
      const failures = results.filter((r) => r.status === "rejected");
      assert.deepEqual(failures.map((r) => String((r as PromiseRejectedResult).reason)), []);
    },
  );

  for (const t of TRANSPORTS) {
    test(
      `S-079 concurrent posters over ${t}: 4 x 250 Requests on one channel, order and count kept`,
      { ...LIMIT, ...skipFor(t) },
      async () => {
        await withEngines([{}, {}], async (rs, rc) => {
          const as = rs.ampe(), ac = rc.ampe();
          const gs = as.create(), gc = ac.create();
          const { C, S } = await establish(as, gs, ac, gc, await addresses(t));
          const posted: bigint[] = [];
          // Poster p (1..4) posts mids p·1000 + i, i = 0..249.
          const poster = async (p: number) => {
            for (let i = 0; i < 250; i++) {
              const mid = BigInt(p * 1000 + i);
              postNew(ac, gc, (m) => {
                m.bhdr.channelNumber = C;
                m.bhdr.messageId = mid;
                m.body.append(`p${p}`);
              });
              posted.push(mid);
              // Interleave the posters unevenly: a microtask, a macrotask or nothing.
              if ((i + p) % 3 === 0) await new Promise((r) => setImmediate(r));
              else if ((i + p) % 3 === 1) await Promise.resolve();
            }
          };
          const receiving = (async () => {
            const got: bigint[] = [];
            let poolEmpty = 0;
            while (got.length < 1000) {
              const m: Message = await recv(gs);
              if (m.bhdr.status === AmpeStatus.poolEmpty) {
                expectMsg(m, { op: OpCode.Signal, origin: "E", ch: S });
                poolEmpty++;
              } else {
                expectMsg(m, { op: OpCode.Request, origin: "A", status: 0, ch: S });
                assert.equal(m.body.text(), `p${m.bhdr.messageId / 1000n}`);
                got.push(m.bhdr.messageId);
              }
              as.put(m);
            }
            return { got, poolEmpty };
          })();
          await Promise.all([1, 2, 3, 4].map(poster));
          const { got } = await receiving;
          assert.equal(new Set(got).size, 1000, "no duplicates");
          for (let p = 1; p <= 4; p++) {
            const mine = got.filter((mid) => mid / 1000n === BigInt(p));
            assert.deepEqual(
              mine,
              Array.from({ length: 250 }, (_, i) => BigInt(p * 1000 + i)),
              `poster ${p} order`,
            );
          }
          assert.deepEqual(got, posted, "delivered in the order the posts were accepted");
          let posters = 0;
          for (let p = 2; p <= 4; p++) {
            if (posted.indexOf(BigInt(p * 1000)) < posted.indexOf(1249n)) posters++;
          }
          assert.ok(posters > 0, "the posters really interleaved");
          await none(gs);
        });
      },
    );
  }
});
