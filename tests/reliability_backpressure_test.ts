// Backpressure: a fast producer in another process and a consumer about 100x
// slower (spec §12, [N10]). The consumer's engine reads only as far as its
// pool allows, so the consumer's memory stays bounded by the pool and the
// socket buffers while flow control holds the producer back; order is kept
// and nothing is lost.
import { describe as suite, test } from "node:test";
import assert from "node:assert/strict";
import { type Ampe, AmpeStatus, type ChannelGroup, OpCode } from "../mod.ts";
import {
  addresses,
  expectMsg,
  listen,
  recv,
  TRANSPORTS,
  withEngines,
} from "./_support/scenario.ts";
import {
  concat,
  frame,
  RAW_TRANSPORTS,
  RawSocket,
  type RawTarget,
  startChild,
} from "./fixtures/rel_wire.ts";
import { skipFor } from "./_support/host.ts";
import { collectGarbage, rssBytes } from "./_support/resources.ts";
import { sleep } from "./_support/wait.ts";

/** bun test applies its 5 s default to node:test tests unless a test names its own limit. */
const LIMIT = { timeout: 120_000 };

const COUNT = 1500;
const BODY = 60 * 1024;
/** The consumer takes 100x the producer's time per message, within these bounds (keeps the test short). */
const MIN_DELAY_MS = 1;
const MAX_DELAY_MS = 6;
/**
 * Generous: the engine itself may hold its pool (8 messages of 60 KiB) and
 * about two frames of read buffers; the rest is garbage-collector noise. The
 * stream is more than twice as large, so an engine that read ahead of its
 * pool would cross it.
 */
const RSS_BOUND = 40 * 1024 * 1024;
/** A small pool, so the engine must stop reading long before the stream ends. */
const POOL = { initialPoolMsgs: 4, maxPoolMsgs: 8 };

function checkBody(bytes: Uint8Array, n: number): void {
  assert.equal(bytes.length, BODY, `body length of Request ${n}`);
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== ((n * 31 + i) & 0xff)) {
      assert.fail(`Request ${n}: body byte ${i} is ${bytes[i]}`);
    }
  }
}

/**
 * Receives COUNT Requests on S in order (ids 1..COUNT, exact bodies), taking
 * `delayMs` per message; returns the pool_empty count and the peak RSS growth.
 */
async function consume(
  ampe: Ampe,
  g: ChannelGroup,
  S: number,
  delayMs: number,
  baseRss: number,
): Promise<{ poolEmpty: number; peakRssGrowth: number }> {
  let poolEmpty = 0;
  let peak = 0;
  for (let n = 1; n <= COUNT;) {
    const m = await recv(g);
    if (m.isFromEngine() && m.bhdr.status === AmpeStatus.poolEmpty) {
      expectMsg(m, { op: OpCode.Signal, ch: S, mid: 0n });
      poolEmpty++;
      ampe.put(m);
      continue;
    }
    expectMsg(
      m,
      { op: OpCode.Request, origin: "A", status: 0, ch: S, mid: BigInt(n) },
      `Request ${n}`,
    );
    checkBody(m.body.bytes(), n);
    ampe.put(m);
    if (n % 50 === 0) {
      // Collected first: what counts is what the engine holds, not garbage not yet collected.
      collectGarbage();
      peak = Math.max(peak, rssBytes() - baseRss);
    }
    await sleep(delayMs);
    n++;
  }
  return { poolEmpty, peakRssGrowth: peak };
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

suite("backpressure", () => {
  for (const t of TRANSPORTS) {
    test(
      `a tofu producer in another process, a consumer 100x slower (${t}): bounded memory, order, no loss`,
      { ...LIMIT, ...skipFor(t) },
      async () => {
        await withEngines([POOL], async (rtr) => {
          const ampe = rtr.ampe();
          const g = ampe.create();
          const a = await addresses(t);
          await listen(ampe, g, a.server);
          collectGarbage();
          const baseRss = rssBytes();
          const child = startChild("rel_producer_child.ts", {
            args: [t, t === "tcp" ? String(a.port) : a.path, String(COUNT), String(BODY)],
            limitMs: 100_000,
          });
          const hello = expectMsg(await recv(g, 20_000), { op: OpCode.HelloRequest, origin: "A" });
          const S = hello.bhdr.channelNumber;
          hello.bhdr.proto.opCode = OpCode.HelloResponse;
          g.post(hello);
          // The producer posts everything at once; its speed sets the consumer's pace.
          const postMs = Number((await child.line("posted ")).slice(7));
          const producerMs = postMs / COUNT;
          const delayMs = Math.min(MAX_DELAY_MS, Math.max(MIN_DELAY_MS, 100 * producerMs));
          const c = await consume(ampe, g, S, delayMs, baseRss);
          await ampe.destroy(g); // closes S: the producer sees channel_closed and exits
          const r = await child.result;
          assert.equal(r.timedOut, false, `the producer hung; stderr: ${r.err}`);
          assert.equal(r.code, 0, `producer exit code; stderr: ${r.err}`);
          const report = JSON.parse(r.out.trim().split("\n").at(-1)!);
          assert.deepEqual(report, { posted: COUNT, returned: 0, closedBy: "channel_closed" });
          console.log(
            `backpressure ${t}: ${COUNT} x ${BODY / 1024} KiB = ${mb(COUNT * BODY)}; producer ` +
              `${(producerMs * 1000).toFixed(1)} µs/message, consumer ${
                delayMs.toFixed(1)
              } ms/message ` +
              `(${Math.round(delayMs / producerMs)}x slower); ${c.poolEmpty} pool_empty; ` +
              `peak RSS growth ${mb(c.peakRssGrowth)}`,
          );
          assert.ok(c.poolEmpty >= 1, "the slow consumer starved the pool at least once");
          assert.ok(
            c.peakRssGrowth < RSS_BOUND,
            `RSS grew by ${mb(c.peakRssGrowth)} while ${mb(COUNT * BODY)} streamed (bound ${
              mb(RSS_BOUND)
            })`,
          );
        });
      },
    );
  }

  test("a raw producer in another process is held back by flow control (tcp)", LIMIT, async () => {
    await withEngines([POOL], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      const a = await addresses("tcp");
      await listen(ampe, g, a.server);
      collectGarbage();
      const baseRss = rssBytes();
      const child = startChild("rel_raw_producer_child.ts", {
        args: ["tcp", String(a.port), String(COUNT), String(BODY)],
        limitMs: 100_000,
      });
      const hello = expectMsg(await recv(g, 20_000), { op: OpCode.HelloRequest, mid: 99n });
      const S = hello.bhdr.channelNumber;
      ampe.put(hello);
      const c = await consume(ampe, g, S, 3, baseRss);
      await ampe.destroy(g);
      const r = await child.result;
      assert.equal(r.timedOut, false, `the producer hung; stderr: ${r.err}`);
      assert.equal(r.code, 0, `producer exit code; stderr: ${r.err}`);
      const report = JSON.parse(r.out.trim().split("\n").at(-1)!);
      console.log(
        `backpressure raw tcp: the producer waited for the socket ${report.blocked} times; ` +
          `${c.poolEmpty} pool_empty; peak RSS growth ${mb(c.peakRssGrowth)}`,
      );
      assert.equal(report.written, COUNT);
      assert.ok(report.blocked >= 1, "the producer was held back by flow control");
      assert.ok(c.poolEmpty >= 1, "the pool ran empty");
      assert.ok(
        c.peakRssGrowth < RSS_BOUND,
        `RSS grew by ${mb(c.peakRssGrowth)} (bound ${mb(RSS_BOUND)})`,
      );
    });
  });

  for (const t of RAW_TRANSPORTS) {
    test(
      `more connections than pooled messages, all sending at once (${t}): every frame arrives`,
      LIMIT,
      async () => {
        // 40 connections x 2 frames against a pool of 4: most channels starve, and each
        // put back must eventually let every one of them read again (spec §12).
        await withEngines([{ initialPoolMsgs: 4, maxPoolMsgs: 4 }], async (rtr) => {
          const ampe = rtr.ampe();
          const g = ampe.create();
          const a = await addresses(t);
          await listen(ampe, g, a.server);
          const target: RawTarget = t === "tcp" ? { port: a.port } : { path: a.path };
          const socks: RawSocket[] = [];
          try {
            for (let i = 0; i < 40; i++) socks.push(await RawSocket.connect(target));
            const two = concat(
              frame(1, OpCode.Request, 0, 1n, "", "one"),
              frame(1, OpCode.Request, 0, 2n, "", "two"),
            );
            await Promise.all(socks.map((s) => s.write(two)));
            const next = new Map<number, bigint>();
            let received = 0;
            while (received < 80) {
              const m = await recv(g, 5000);
              if (m.isFromEngine()) {
                expectMsg(m, { op: OpCode.Signal, status: AmpeStatus.poolEmpty });
                ampe.put(m);
                continue;
              }
              const want = next.get(m.bhdr.channelNumber) ?? 1n;
              expectMsg(
                m,
                { op: OpCode.Request, origin: "A", mid: want },
                `frame ${received + 1} of 80`,
              );
              next.set(m.bhdr.channelNumber, want + 1n);
              received++;
              ampe.put(m);
            }
            assert.equal(next.size, 40, "every connection delivered");
          } finally {
            for (const s of socks) await s.close();
          }
        });
      },
    );
  }
});
