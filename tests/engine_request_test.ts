// ChannelGroup.request: a Request awaits its Response (matched by channel and message id) while
// every other message stays in the receive queue in order; timeouts, aborts, closes and destroys
// reject with AmpeError. Over real sockets, two engines (server and client).
import { describe as suite, test } from "node:test";
import assert from "node:assert/strict";
import {
  type Ampe,
  AmpeError,
  AmpeStatus,
  type ChannelGroup,
  type Message,
  OpCode,
  OriginFlag,
} from "../mod.ts";
import {
  accept,
  addresses,
  connect,
  expectMsg,
  expectNext,
  listen,
  none,
  NONE_MS,
  recv,
  RECV_MS,
  TRANSPORTS,
  withEngines,
  withPair,
} from "./_support/scenario.ts";
import { skipFor } from "./_support/host.ts";

/** A fresh message with `op`, channel `ch` and `body`. */
function message(ampe: Ampe, op: OpCode, ch: number, body = ""): Message {
  const m = ampe.get("always")!;
  m.bhdr.proto.opCode = op;
  m.bhdr.channelNumber = ch;
  if (body.length > 0) m.body.append(body);
  return m;
}

/** Posts a message with `op`, `body` and (if given) message id `mid` on `ch`. */
function send(ampe: Ampe, g: ChannelGroup, op: OpCode, ch: number, body: string, mid = 0n): void {
  const m = message(ampe, op, ch, body);
  m.bhdr.messageId = mid;
  g.post(m);
}

/** Turns a received Request into its Response with `body` and posts it. */
function answer(g: ChannelGroup, request: Message, body: string): void {
  request.bhdr.proto.opCode = OpCode.Response;
  request.body.set(body);
  g.post(request);
}

/** The next message on `g`, expected to be a Request with `body`; kept for the caller. */
async function nextRequest(g: ChannelGroup, body: string): Promise<Message> {
  const m = expectMsg(await recv(g), { op: OpCode.Request, origin: "A", status: 0 }, "Request");
  assert.equal(m.body.text(), body, "body of the received Request");
  return m;
}

/** The rejection of `p`, which must reject with an AmpeError. */
async function rejection(p: Promise<unknown>): Promise<AmpeError> {
  try {
    const value = await p;
    assert.fail(`expected a rejection, got ${String(value)}`);
  } catch (err) {
    assert.ok(err instanceof AmpeError, `expected an AmpeError, got ${String(err)}`);
    return err;
  }
}

/** The value of text header `name` of `m`, or undefined. */
function header(m: Message, name: string): string | undefined {
  return m.thdrs.get(name);
}

for (const t of TRANSPORTS) {
  suite(`awaiting a response over ${t}`, skipFor(t), () => {
    test("two concurrent requests on one channel each get their own response, answered out of order", async () => {
      await withPair(t, async ({ ac, gs, gc, C }) => {
        const first = gc.request(message(ac, OpCode.Request, C, "first"), RECV_MS);
        const second = gc.request(message(ac, OpCode.Request, C, "second"), RECV_MS);
        const r1 = await nextRequest(gs, "first");
        const r2 = await nextRequest(gs, "second");
        answer(gs, r2, "answer to second");
        answer(gs, r1, "answer to first");
        const [a1, a2] = await Promise.all([first, second]);
        for (const [m, body] of [[a1, "answer to first"], [a2, "answer to second"]] as const) {
          expectMsg(m, { op: OpCode.Response, origin: "A", status: 0, ch: C }, body);
          assert.equal(m.body.text(), body);
          ac.put(m);
        }
        await none(gc); // both responses were taken out of the queue
      });
    });

    test("concurrent requests on two channels of one group resolve on the right channel", async () => {
      await withEngines([{}, {}], async (rs, rc) => {
        const as = rs.ampe(), ac = rc.ampe();
        const gs = as.create(), gc = ac.create();
        const addr = await addresses(t);
        await listen(as, gs, addr.server);
        const channels: number[] = [];
        for (let i = 0; i < 2; i++) {
          const { C, H } = connect(ac, gc, addr.client);
          await accept(as, gs, H);
          await expectNext(ac, gc, { op: OpCode.HelloResponse, status: 0, ch: C, mid: H });
          channels.push(C);
        }
        const [C1, C2] = channels as [number, number];
        // Same message id on both channels: the channel tells them apart.
        const req1 = message(ac, OpCode.Request, C1, "on one");
        req1.bhdr.messageId = 77n;
        const req2 = message(ac, OpCode.Request, C2, "on two");
        req2.bhdr.messageId = 77n;
        const p1 = gc.request(req1, RECV_MS);
        const p2 = gc.request(req2, RECV_MS);
        const got = [await recv(gs), await recv(gs)];
        for (const m of got) answer(gs, m, `echo ${m.body.text()}`);
        const [a1, a2] = await Promise.all([p1, p2]);
        expectMsg(a1, { op: OpCode.Response, ch: C1, mid: 77n });
        assert.equal(a1.body.text(), "echo on one");
        expectMsg(a2, { op: OpCode.Response, ch: C2, mid: 77n });
        assert.equal(a2.body.text(), "echo on two");
        ac.put(a1);
        ac.put(a2);
        await none(gc);
      });
    });

    test("every other message stays in the queue in arrival order, a Signal with the request's id included", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C, S }) => {
        const pending = gc.request(message(ac, OpCode.Request, C, "question"), RECV_MS);
        const req = await nextRequest(gs, "question");
        const mid = req.bhdr.messageId;
        send(as, gs, OpCode.Signal, S, "before");
        send(as, gs, OpCode.Signal, S, "progress", mid); // same id, not a Response
        send(as, gs, OpCode.Request, S, "server asks");
        answer(gs, req, "answer");
        send(as, gs, OpCode.Signal, S, "after");
        const response = await pending;
        expectMsg(response, { op: OpCode.Response, origin: "A", status: 0, ch: C, mid });
        assert.equal(response.body.text(), "answer");
        ac.put(response);
        const seen: string[] = [];
        for (let i = 0; i < 4; i++) {
          const m = await recv(gc);
          seen.push(`${m.bhdr.proto.opCode}:${m.body.text()}`);
          if (m.body.text() === "progress") assert.equal(m.bhdr.messageId, mid);
          ac.put(m);
        }
        assert.deepEqual(seen, [
          `${OpCode.Signal}:before`,
          `${OpCode.Signal}:progress`,
          `${OpCode.Request}:server asks`,
          `${OpCode.Signal}:after`,
        ]);
        await none(gc);
      });
    });

    test("a multi-part response resolves with its first part; the later parts are queued", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C, S }) => {
        const pending = gc.request(message(ac, OpCode.Request, C, "stream"), RECV_MS);
        const req = await nextRequest(gs, "stream");
        const mid = req.bhdr.messageId;
        for (const [i, more] of [[1, 1], [2, 1], [3, 0]] as const) {
          const part = message(as, OpCode.Response, S, `part ${i}`);
          part.bhdr.messageId = mid;
          part.bhdr.proto.more = more;
          gs.post(part);
        }
        as.put(req);
        const first = await pending;
        assert.equal(first.body.text(), "part 1");
        assert.equal(first.hasMore(), true);
        ac.put(first);
        const rest = [await recv(gc), await recv(gc)];
        assert.deepEqual(rest.map((m) => [m.body.text(), m.hasMore()]), [
          ["part 2", true],
          ["part 3", false],
        ]);
        for (const m of rest) ac.put(m);
      });
    });

    test("no response within the timeout: rejects with processingFailed / Timeout; the late response is queued", async () => {
      await withPair(t, async ({ ac, gs, gc, C }) => {
        const pending = gc.request(message(ac, OpCode.Request, C, "slow"), 50);
        const req = await nextRequest(gs, "slow");
        const mid = req.bhdr.messageId;
        const err = await rejection(pending);
        assert.equal(err.status, AmpeStatus.processingFailed);
        assert.equal(err.code, "Timeout");
        assert.match(err.message, new RegExp(`message id ${mid}\\) on channel ${C} .*50 ms`));
        answer(gs, req, "too late");
        const late = await expectNext(ac, gc, { op: OpCode.Response, ch: C, mid }, "late", true);
        assert.equal(late.body.text(), "too late");
        ac.put(late);
      });
    });

    test("abort rejects with processingFailed / Aborted and the signal's reason; the late response is queued", async () => {
      await withPair(t, async ({ ac, gs, gc, C }) => {
        const controller = new AbortController();
        const pending = gc.request(message(ac, OpCode.Request, C, "wait"), RECV_MS, {
          signal: controller.signal,
        });
        const req = await nextRequest(gs, "wait");
        const mid = req.bhdr.messageId;
        const why = new Error("the user gave up");
        controller.abort(why);
        const err = await rejection(pending);
        assert.equal(err.status, AmpeStatus.processingFailed);
        assert.equal(err.code, "Aborted");
        assert.equal(err.cause, why);
        answer(gs, req, "after the abort");
        const late = await expectNext(ac, gc, { op: OpCode.Response, ch: C, mid }, "late", true);
        assert.equal(late.body.text(), "after the abort");
        ac.put(late);
      });
    });

    test("refusals before the post throw at once and the caller keeps the message", async () => {
      await withPair(t, async ({ ac, gc, C }) => {
        for (const op of [OpCode.Response, OpCode.Signal, OpCode.ByeSignal]) {
          const m = message(ac, op, C, "not a request");
          m.bhdr.messageId = 5n;
          assert.throws(() => gc.request(m, RECV_MS), {
            name: "AmpeError",
            status: AmpeStatus.invalidOpCode,
          });
          assert.equal(m.body.text(), "not a request"); // still ours
          ac.put(m);
        }
        for (
          const [bad, status] of [[null, AmpeStatus.nullMessage], [{}, AmpeStatus.invalidMessage]]
        ) {
          assert.throws(() => gc.request(bad as never, RECV_MS), { name: "AmpeError", status });
        }
        const m = message(ac, OpCode.Request, C, "kept");
        for (const bad of [-1, Number.NaN]) {
          assert.throws(() => gc.request(m, bad), {
            name: "AmpeError",
            status: AmpeStatus.notAllowed,
          });
        }
        for (const opts of [null, 5, { signal: "soon" }]) {
          assert.throws(() => gc.request(m, RECV_MS, opts as never), {
            name: "AmpeError",
            status: AmpeStatus.notAllowed,
          });
        }
        const aborted = AbortSignal.abort(new Error("already"));
        assert.throws(() => gc.request(m, RECV_MS, { signal: aborted }), {
          name: "AmpeError",
          status: AmpeStatus.processingFailed,
          code: "Aborted",
        });
        m.bhdr.channelNumber = 0; // post's own checks still apply
        assert.throws(() => gc.request(m, RECV_MS), {
          name: "AmpeError",
          status: AmpeStatus.invalidChannelNumber,
        });
        assert.equal(m.body.text(), "kept");
        ac.put(m);
        await none(gc); // nothing was posted
      });
    });

    test("the server side dies: every pending request on the channel rejects with channelClosed and the reason; the Signal is queued", async () => {
      await withEngines([{}, {}], async (rs, rc) => {
        const as = rs.ampe(), ac = rc.ampe();
        const gs = as.create(), gc = ac.create();
        const addr = await addresses(t);
        await listen(as, gs, addr.server);
        const { C, H } = connect(ac, gc, addr.client);
        await accept(as, gs, H);
        await expectNext(ac, gc, { op: OpCode.HelloResponse, status: 0, ch: C, mid: H });
        const p1 = gc.request(message(ac, OpCode.Request, C, "one"), RECV_MS);
        const p2 = gc.request(message(ac, OpCode.Request, C, "two"), RECV_MS);
        as.put(await nextRequest(gs, "one"));
        as.put(await nextRequest(gs, "two"));
        const rejections = [rejection(p1), rejection(p2)]; // handled before they happen
        await rs.destroy(); // the server's sockets close abortively
        const errors = await Promise.all(rejections);
        const closed = expectMsg(
          await recv(gc),
          { op: OpCode.Signal, origin: "E", status: AmpeStatus.channelClosed, ch: C },
          "channel_closed Signal",
        );
        const reason = header(closed, "~reason");
        const osError = header(closed, "~os_error");
        for (const err of errors) {
          assert.equal(err.status, AmpeStatus.channelClosed);
          assert.equal(err.code, "ChannelClosed");
          assert.match(
            err.message,
            new RegExp(`on channel ${C} got no response: the channel closed`),
          );
          assert.equal(err.reason, reason, "the error tells the Signal's ~reason");
          assert.equal(err.osError, osError, "the error tells the Signal's ~os_error");
          if (reason !== undefined) assert.match(err.message, new RegExp(`reason ${reason}`));
        }
        ac.put(closed);
        await none(gc);
      });
    });

    test("the server rejects with ByeSignal: pending requests reject with channelClosed", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C, S, H }) => {
        const pending = gc.request(message(ac, OpCode.Request, C, "doomed"), RECV_MS);
        as.put(await nextRequest(gs, "doomed"));
        const bye = message(as, OpCode.ByeSignal, S);
        bye.bhdr.proto.oob = 1;
        gs.post(bye);
        const err = await rejection(pending);
        assert.equal(err.status, AmpeStatus.channelClosed);
        await expectNext(ac, gc, {
          op: OpCode.Signal,
          origin: "E",
          status: AmpeStatus.channelClosed,
          ch: C,
          mid: H,
        });
      });
    });

    test("destroying the group or the engine rejects pending requests with shutdownStarted", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C }) => {
        const pending = gc.request(message(ac, OpCode.Request, C, "never answered"), RECV_MS);
        as.put(await nextRequest(gs, "never answered"));
        const rejected = rejection(pending);
        await ac.destroy(gc);
        const err = await rejected;
        assert.equal(err.status, AmpeStatus.shutdownStarted);
      });
      await withEngines([{}, {}], async (rs, rc) => {
        const as = rs.ampe(), ac = rc.ampe();
        const gs = as.create(), gc = ac.create();
        const addr = await addresses(t);
        await listen(as, gs, addr.server);
        const { C, H } = connect(ac, gc, addr.client);
        const pending = gc.request(message(ac, OpCode.Request, C, "queued behind hello"), RECV_MS);
        await accept(as, gs, H);
        const rejected = rejection(pending);
        await rc.destroy();
        const err = await rejected;
        assert.equal(err.status, AmpeStatus.shutdownStarted);
      });
    });
  });
}

suite("awaiting the engine's answer to WelcomeRequest and HelloRequest", () => {
  test("listen and connect resolve with WelcomeResponse and HelloResponse", async () => {
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe();
      const server = ampe.create(), client = ampe.create();
      const addr = await addresses("tcp");
      const welcome = ampe.get("always")!;
      addr.server.format(welcome);
      const listening = await server.request(welcome, RECV_MS);
      expectMsg(listening, { op: OpCode.WelcomeResponse, status: 0 }, "WelcomeResponse");
      ampe.put(listening);
      const hello = ampe.get("always")!;
      addr.client.format(hello);
      const connected = client.request(hello, RECV_MS);
      await accept(ampe, server);
      const response = await connected;
      expectMsg(response, { op: OpCode.HelloResponse, origin: "A", status: 0 }, "HelloResponse");
      assert.equal(response.bhdr.proto.origin, OriginFlag.application);
      ampe.put(response);
      await none(client);
    });
  });

  test("a connect to a closed port rejects the HelloRequest and the Request queued behind it", async () => {
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe();
      const client = ampe.create();
      const addr = await addresses("tcp"); // nothing listens there
      const hello = ampe.get("always")!;
      addr.client.format(hello);
      const connected = client.request(hello, RECV_MS);
      // The channel number is known once the HelloRequest is posted: read it from the Signal later.
      const helloErr = await rejection(connected);
      assert.equal(helloErr.status, AmpeStatus.connectFailed);
      const closed = expectMsg(
        await recv(client),
        { op: OpCode.Signal, origin: "E", status: AmpeStatus.channelClosed },
        "channel_closed Signal",
      );
      assert.equal(helloErr.reason, header(closed, "~reason"));
      assert.equal(helloErr.osErrno?.toString(), header(closed, "~os_errno"));
      ampe.put(closed);
      await none(client); // the returned HelloResponse went back to the pool, not to the queue
    });
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe();
      const client = ampe.create();
      const addr = await addresses("tcp");
      const { C } = connect(ampe, client, addr.client);
      const pending = client.request(message(ampe, OpCode.Request, C, "queued"), RECV_MS);
      const err = await rejection(pending);
      // A connect that fails at once closes C before the engine reaches the Request: the final
      // Signal rejects it, and the engine hands the Request back to the queue afterwards (spec
      // §10.10). A connect that fails later hands the unsent Request back inside the close bundle.
      const queued: Message[] = [];
      for (
        let m = await client.waitReceive(NONE_MS);
        m !== null;
        m = await client.waitReceive(NONE_MS)
      ) {
        queued.push(m);
      }
      const closed = queued.find((m) => m.bhdr.proto.opCode === OpCode.Signal);
      assert.ok(closed !== undefined, "the channel_closed Signal is queued");
      expectMsg(closed, { origin: "E", status: AmpeStatus.channelClosed, ch: C }, "Signal");
      expectMsg(queued[0]!, {
        op: OpCode.HelloResponse,
        origin: "E",
        status: AmpeStatus.connectFailed,
        ch: C,
      });
      const returned = queued.filter((m) => m.bhdr.proto.opCode === OpCode.Request);
      if (err.status === AmpeStatus.connectFailed) {
        assert.match(err.message, /came back from the engine with status connectFailed/);
        assert.equal(returned.length, 0, "the returned Request went back to the pool");
        assert.equal(queued.length, 2);
      } else {
        assert.equal(err.status, AmpeStatus.channelClosed, err.message);
        assert.equal(returned.length, 1, "the Request handed back after the close is queued");
        expectMsg(returned[0]!, { origin: "E", status: AmpeStatus.channelClosed, ch: C });
        assert.equal(queued.length, 3);
      }
      assert.equal(err.reason, header(closed, "~reason"), "the reason of the close bundle");
      assert.equal(err.osError, header(closed, "~os_error"));
      for (const m of queued) ampe.put(m);
    });
  });

  test("a listen on a port in use rejects with listenFailed", async () => {
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe();
      const first = ampe.create(), second = ampe.create();
      const addr = await addresses("tcp");
      await listen(ampe, first, addr.server);
      const welcome = ampe.get("always")!;
      addr.server.format(welcome);
      const err = await rejection(second.request(welcome, RECV_MS));
      assert.equal(err.status, AmpeStatus.listenFailed);
      expectMsg(
        await recv(second),
        { op: OpCode.Signal, origin: "E", status: AmpeStatus.channelClosed },
        "channel_closed Signal",
      );
      await none(second);
    });
  });
});
