// Hostile input: raw sockets send random and mutated frames to a tofu server
// (spec §3, §3.5 [N1] [N2], §10.9, §11). The fuzzer and its reference decoder
// live in fixtures/rel_fuzz.ts; scripts/reliability/fuzz.ts runs millions of cases.
//
// TOFU_FUZZ_SEED and TOFU_FUZZ_CASES override the seed (random by default,
// always printed) and the number of cases (default 200 000, twice the 100 000 CI needs).
import { describe as suite, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import process from "node:process";
import {
  AllocationStrategy,
  type Ampe,
  AmpeStatus,
  type ChannelGroup,
  type Message,
  OpCode,
} from "../mod.ts";
import { findFreeTcpPort } from "../testing.ts";
import { addresses, expectMsg, listen, recv, withEngines } from "./_support/scenario.ts";
import { checkStream, expectedOutcome, Rng, runFuzz } from "./fixtures/rel_fuzz.ts";
import {
  concat,
  encodeFrame,
  frame,
  MAX_SECTION,
  RAW_TRANSPORTS,
  RawSocket,
  type RawTarget,
} from "./fixtures/rel_wire.ts";
import { UDS_SKIP } from "./_support/host.ts";
import { nativeHandleCount, openFds } from "./_support/resources.ts";
import { sleep } from "./_support/wait.ts";

/** bun test applies its 5 s default to node:test tests unless a test names its own limit. */
const LIMIT = { timeout: 120_000 };

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  }
  return n;
}

/** The next message that is not a pool_empty Signal (those are put back). */
async function recvSkippingPoolEmpty(ampe: Ampe, g: ChannelGroup): Promise<Message> {
  for (;;) {
    const m = await recv(g);
    if (!(m.isFromEngine() && m.bhdr.status === AmpeStatus.poolEmpty)) return m;
    ampe.put(m);
  }
}

function targetOf(a: { port: number; path: string }): RawTarget {
  return a.path === "" ? { port: a.port } : { path: a.path };
}

suite("fuzz", () => {
  test(
    "seeded fuzz: at least 100 000 hostile cases; every outcome matches the reference decoder",
    LIMIT,
    async () => {
      const seed = envInt("TOFU_FUZZ_SEED", Math.floor(Math.random() * 0x1_0000_0000));
      const cases = envInt("TOFU_FUZZ_CASES", 200_000);
      console.log(`fuzz: seed ${seed}, ${cases} cases (rerun: TOFU_FUZZ_SEED=${seed})`);
      const report = await runFuzz({ seed, cases, lanes: 8, deadlineMs: 90_000, uds: !UDS_SKIP });
      console.log(
        `fuzz: seed ${seed}: ${report.cases} cases, ${report.sessions} sessions, ${report.delivered} frames delivered, ends ${
          JSON.stringify(report.ends)
        }, ${report.controlExchanges} control round trips, ${report.poolEmpty} pool_empty, ${report.ms} ms`,
      );
      assert.ok(report.cases >= cases, `${report.cases} cases sent, wanted ${cases}`);
      if (cases >= 10_000) {
        // The mix really happened: each way a connection can end, and traffic on the control channels.
        assert.ok(report.ends.abort > 0, "some sessions were aborted for an invalid opCode");
        assert.ok(report.ends.bye > 0, "some sessions were closed by a ByeResponse");
        assert.ok(report.ends.peer > 0, "some sessions were closed by the peer");
        assert.ok(report.delivered > 0, "frames were delivered");
        assert.ok(report.controlExchanges > 0, "the control channels exchanged while fuzzed");
      }
    },
  );

  test("the reference decoder follows spec §3: frames, invalid opCode, ByeResponse, truncation", () => {
    const a = frame(1, 0x00, 0, 1n, "k:v\r\n", "x");
    const bad = frame(1, 0x0c, 0, 2n);
    const bye = frame(1, 0x06, 0, 3n);
    assert.deepEqual(expectedOutcome(concat(a, a)), {
      frames: [{ start: 0, length: 22 }, { start: 22, length: 22 }],
      end: "open",
    });
    assert.deepEqual(expectedOutcome(concat(a, bad, a)), {
      frames: [{ start: 0, length: 22 }],
      end: "abort",
    });
    assert.deepEqual(expectedOutcome(concat(bye, a)), {
      frames: [{ start: 0, length: 16 }],
      end: "bye",
    });
    assert.deepEqual(expectedOutcome(concat(a, a.subarray(0, 21))), {
      frames: [{ start: 0, length: 22 }],
      end: "open",
    });
    // A partial header cannot be judged yet, even with an invalid opCode nibble.
    assert.deepEqual(expectedOutcome(bad.subarray(0, 15)), { frames: [], end: "open" });
  });

  for (const t of RAW_TRANSPORTS) {
    test(
      `a frame cut at every byte position arrives intact and only once complete (${t})`,
      LIMIT,
      async () => {
        await withEngines([{}], async (rtr) => {
          const ampe = rtr.ampe();
          const g = ampe.create();
          const a = await addresses(t);
          await listen(ampe, g, a.server);
          const sock = await RawSocket.connect(targetOf(a));
          try {
            const body = new Uint8Array(37).map((_, i) => i * 7);
            const probe = frame(9, 0x02, 0, 1n, "name:value\r\n", body);
            let S = -1;
            for (let cut = 1; cut < probe.length; cut++) {
              const f = frame(9, 0x22, 7, BigInt(cut), "name:value\r\n", body);
              assert.ok(await sock.write(f.subarray(0, cut)));
              await sleep(2);
              assert.equal(
                await g.waitReceive(0),
                null,
                `nothing delivered after ${cut} of ${f.length} bytes`,
              );
              assert.ok(await sock.write(f.subarray(cut)));
              const m = expectMsg(await recv(g), {
                op: OpCode.Signal,
                origin: "A",
                status: 7,
                mid: BigInt(cut),
              });
              if (S === -1) S = m.bhdr.channelNumber;
              assert.equal(m.bhdr.channelNumber, S);
              assert.equal(m.bhdr.proto.more, 1);
              assert.equal(m.thdrs.get("name"), "value");
              assert.deepEqual([...m.body.bytes()], [...body]);
              ampe.put(m);
            }
          } finally {
            await sock.close();
          }
          expectMsg(await recv(g), {
            op: OpCode.Signal,
            origin: "E",
            status: AmpeStatus.channelClosed,
          });
        });
      },
    );
  }

  test(
    "garbage before the hello is read as frames without resync; an invalid header aborts at once",
    LIMIT,
    async () => {
      await withEngines([{}], async (rtr) => {
        const ampe = rtr.ampe();
        const g = ampe.create();
        const a = await addresses("tcp");
        await listen(ampe, g, a.server);
        const target = targetOf(a);
        const hello = frame(1, 0x03, 0, 0x77n, "~connect_to:tcp|127.0.0.1|1\r\n", "hi");
        // 16 garbage bytes with opCode nibble 15: aborted, nothing delivered, mid0 = 0.
        const garbage = new Uint8Array(16).fill(0xff);
        assert.equal((await checkStream(ampe, g, target, concat(garbage, hello))).end, "abort");
        // A garbage header announcing 5 header bytes swallows the start of the hello:
        // one odd message, then the rest of the hello is misread as the next header.
        const swallow = concat(
          new Uint8Array([0, 1, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 5, 0, 0]),
          hello,
        );
        const out = await checkStream(ampe, g, target, swallow);
        assert.ok(out.frames.length >= 1, "the garbage frame itself is delivered");
        // Garbage shorter than a header, then the peer leaves: nothing, then channel_closed.
        assert.equal(
          (await checkStream(ampe, g, target, new Uint8Array([1, 2, 3]))).frames.length,
          0,
        );
        // Random garbage of every length 1..64 in front of a hello, each on its own connection.
        const rng = new Rng(20240611);
        for (let n = 1; n <= 64; n++) {
          await checkStream(ampe, g, target, concat(rng.bytes(n), hello));
        }
      });
    },
  );

  for (const t of RAW_TRANSPORTS) {
    test(
      `[N1] an invalid opCode aborts only its channel: unsent posts come back invalid_op_code (${t})`,
      LIMIT,
      async () => {
        await withEngines([{}], async (rtr) => {
          const ampe = rtr.ampe();
          const g = ampe.create();
          const a = await addresses(t);
          await listen(ampe, g, a.server);
          const bad = await RawSocket.connect(targetOf(a));
          const good = await RawSocket.connect(targetOf(a));
          try {
            bad.pause(); // reads nothing: what the server posts to it piles up unsent
            assert.ok(await bad.write(frame(1, OpCode.HelloRequest, 0, 0x51n)));
            const hb = await recvSkippingPoolEmpty(ampe, g);
            const S = expectMsg(hb, { op: OpCode.HelloRequest, mid: 0x51n }).bhdr.channelNumber;
            ampe.put(hb);
            assert.ok(await good.write(frame(1, OpCode.HelloRequest, 0, 0x52n)));
            const hg = await recvSkippingPoolEmpty(ampe, g);
            const G = expectMsg(hg, { op: OpCode.HelloRequest, mid: 0x52n }).bhdr.channelNumber;
            ampe.put(hg);
            const body = new Uint8Array(60 * 1024).fill(0x33);
            for (let i = 1n; i <= 300n; i++) {
              const m = ampe.get(AllocationStrategy.always)!;
              m.bhdr.channelNumber = S;
              m.bhdr.messageId = i;
              m.body.append(body);
              g.post(m);
            }
            await sleep(200);
            assert.ok(await bad.write(frame(1, 0x0e, 0, 0x53n)));
            let first = 0n, last = 0n;
            for (;;) {
              const m = await recvSkippingPoolEmpty(ampe, g);
              if (m.bhdr.proto.opCode === OpCode.Signal) {
                expectMsg(
                  m,
                  { origin: "E", status: AmpeStatus.channelClosed, ch: S, mid: 0x51n },
                  "the close",
                );
                ampe.put(m);
                break;
              }
              expectMsg(m, {
                op: OpCode.Request,
                origin: "E",
                status: AmpeStatus.invalidOpCode,
                ch: S,
              });
              if (first === 0n) first = m.bhdr.messageId;
              else assert.equal(m.bhdr.messageId, last + 1n, "returned in post order");
              last = m.bhdr.messageId;
              ampe.put(m);
            }
            assert.ok(first > 0n && last === 300n, `the unsent tail came back (${first}..${last})`);
            bad.resume();
            assert.ok(await bad.closedWithin(5000), "the engine closed the offending connection");
            // The neighbour is untouched.
            assert.ok(await good.write(frame(1, OpCode.Request, 0, 7n, "", "still here")));
            const m = await recvSkippingPoolEmpty(ampe, g);
            expectMsg(m, { op: OpCode.Request, origin: "A", ch: G, mid: 7n });
            assert.equal(m.body.text(), "still here");
            ampe.put(m);
            assert.equal(good.ended, null);
          } finally {
            await bad.close();
            await good.close();
          }
        });
      },
    );
  }

  test(
    "64 KiB text headers and body in one frame, written in random pieces, arrive intact",
    LIMIT,
    async () => {
      await withEngines([{ initialPoolMsgs: 2, maxPoolMsgs: 2 }], async (rtr) => {
        const ampe = rtr.ampe();
        for (const t of RAW_TRANSPORTS) {
          const g = ampe.create();
          const a = await addresses(t);
          await listen(ampe, g, a.server);
          const rng = new Rng(7);
          const parts = [];
          for (let i = 0; i < 6; i++) {
            parts.push(encodeFrame({
              chn: 0x4000 + i,
              proto: 0x01,
              status: 0,
              mid: BigInt(i + 1),
              hdrs: rng.bytes(MAX_SECTION),
              body: rng.bytes(i % 2 === 0 ? MAX_SECTION : rng.int(MAX_SECTION)),
            }));
          }
          const bytes = concat(...parts);
          const cuts: number[] = [];
          for (let at = 0; at < bytes.length;) {
            at = Math.min(bytes.length, at + rng.range(1, 70_000));
            cuts.push(at);
          }
          const out = await checkStream(ampe, g, targetOf(a), bytes, { cuts });
          assert.equal(out.frames.length, 6);
        }
      });
    },
  );

  test(
    "thousands of HelloRequests: delivered as data, the engine connects nowhere and opens nothing",
    LIMIT,
    async () => {
      let trapped = 0;
      const trap = createServer((s) => {
        trapped++;
        s.destroy();
      });
      const trapPort = await findFreeTcpPort();
      await new Promise<void>((r) => trap.listen(trapPort, "127.0.0.1", () => r()));
      try {
        // A pool larger than the connections: this test is about hellos, not starvation.
        await withEngines([{ initialPoolMsgs: 512, maxPoolMsgs: 1024 }], async (rtr) => {
          const ampe = rtr.ampe();
          const g = ampe.create();
          const a = await addresses("tcp");
          await listen(ampe, g, a.server);
          const connectTo = `~connect_to:tcp|127.0.0.1|${trapPort}\r\n`;
          // 5000 HelloRequests on one connection.
          const storm = [];
          for (let i = 1; i <= 5000; i++) storm.push(frame(0, 0x03, 0, BigInt(i), connectTo));
          const out = await checkStream(ampe, g, targetOf(a), concat(...storm), {
            finish: "reset",
          });
          assert.equal(out.frames.length, 5000);
          // Baseline after the first raw socket: a runtime may open its own descriptors on first use.
          const fdsBefore = openFds();
          const handlesBefore = nativeHandleCount();
          // 300 connections, each saying hello once and staying open.
          const socks: RawSocket[] = [];
          try {
            for (let i = 0; i < 300; i++) {
              const s = await RawSocket.connect(targetOf(a));
              socks.push(s);
              assert.ok(await s.write(frame(0, 0x03, 0, BigInt(100_000 + i), connectTo)));
            }
            const channels = new Set<number>();
            for (let i = 0; i < 300; i++) {
              const m = expectMsg(await recvSkippingPoolEmpty(ampe, g), {
                op: OpCode.HelloRequest,
                origin: "A",
                status: 0,
              });
              channels.add(m.bhdr.channelNumber);
              ampe.put(m);
            }
            assert.equal(channels.size, 300, "one server channel per connection");
          } finally {
            for (const s of socks) await s.close();
          }
          for (let i = 0; i < 300; i++) {
            ampe.put(expectMsg(await recvSkippingPoolEmpty(ampe, g), {
              op: OpCode.Signal,
              origin: "E",
              status: AmpeStatus.channelClosed,
            }));
          }
          assert.equal(
            trapped,
            0,
            "no connection to the ~connect_to address of a received HelloRequest",
          );
          assert.equal(nativeHandleCount(), handlesBefore, "native handles back to before");
          if (fdsBefore >= 0) assert.equal(openFds(), fdsBefore, "descriptors back to before");
        });
      } finally {
        await new Promise<void>((r) => trap.close(() => r()));
      }
    },
  );
});
