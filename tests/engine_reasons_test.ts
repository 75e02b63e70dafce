// Why a channel closed and what the OS said (~reason, ~os_error, ~os_errno), and the figures of
// Reactor.stats() / ChannelGroup.stats(), over real sockets.
import { describe as suite, test } from "node:test";
import assert from "node:assert/strict";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { writeFileSync } from "node:fs";
import {
  AllocationStrategy,
  type Ampe,
  AmpeStatus,
  type ChannelGroup,
  CloseReason,
  type Message,
  OpCode,
  OS_ERRNO_HEADER,
  OS_ERROR_HEADER,
  REASON_HEADER,
  TCPClientAddress,
  UDSClientAddress,
  UDSServerAddress,
  whyOf,
} from "../mod.ts";
import {
  addresses,
  byeExchange,
  connect,
  describe,
  expectMsg,
  listen,
  postNew,
  recv,
  RECV_MS,
  TRANSPORTS,
  withEngines,
  withPair,
} from "./_support/scenario.ts";
import { abortiveCloseSkip, skipFor, UDS_SKIP } from "./_support/host.ts";

/** Receives until the channel_closed Signal of `ch`; returns it and what came before it. */
async function untilClosed(
  g: ChannelGroup,
  ch: number,
): Promise<{ closed: Message; before: Message[] }> {
  const before: Message[] = [];
  for (;;) {
    const m = await recv(g);
    const h = m.bhdr;
    const last = h.proto.opCode === OpCode.Signal && h.proto.origin === 1 &&
      h.status === AmpeStatus.channelClosed && h.channelNumber === ch;
    if (last) return { closed: m, before };
    before.push(m);
  }
}

/** Asserts the reserved headers: the reason, and an OS error whose name matches `os` (or none). */
function expectWhy(m: Message, reason: CloseReason, os: RegExp | null): void {
  const why = whyOf(m);
  assert.equal(why.reason, reason, `~reason of ${describe(m)}`);
  if (os === null) {
    assert.equal(m.thdrs.get(OS_ERROR_HEADER), undefined, "no OS error");
    assert.equal(m.thdrs.get(OS_ERRNO_HEADER), undefined, "no OS error number");
    return;
  }
  assert.match(why.osError ?? "", os, `~os_error of ${describe(m)}`);
  assert.ok(Number.isInteger(why.osErrno) && why.osErrno! > 0, `~os_errno ${why.osErrno}`);
}

function putAll(ampe: Ampe, msgs: Message[]): void {
  for (const m of msgs) ampe.put(m);
}

/** A plain TCP server of the runtime that treats each accepted socket with `onData`. */
async function rawServer(
  onData: (sock: Socket) => void,
): Promise<{ port: number; close: () => void }> {
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on("error", () => {});
    sock.once("data", () => onData(sock));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

for (const t of TRANSPORTS) {
  suite(`close reasons over ${t}`, skipFor(t), () => {
    test("a Bye exchange closes both sides with ~reason bye and no OS error", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C, S }) => {
        await byeExchange(ac, gc, gs, C, S);
        const client = await untilClosed(gc, C);
        expectWhy(client.closed, CloseReason.bye, null);
        const server = await untilClosed(gs, S);
        expectWhy(server.closed, CloseReason.bye, null);
        putAll(ac, [client.closed, ...client.before]);
        putAll(as, [server.closed, ...server.before]);
      });
    });

    test("the app's ByeSignal says bye_signal; its peer learns the connection ended", async () => {
      await withPair(t, async ({ as, ac, gs, gc, C, S }) => {
        postNew(ac, gc, (m) => {
          m.bhdr.proto.opCode = OpCode.ByeSignal;
          m.bhdr.proto.oob = 1;
          m.bhdr.channelNumber = C;
        });
        const client = await untilClosed(gc, C);
        expectWhy(client.closed, CloseReason.byeSignal, null);
        const server = await untilClosed(gs, S);
        // An abortive close is a reset over TCP and an end of stream over UDS.
        const reason = whyOf(server.closed).reason;
        assert.ok(
          reason === CloseReason.peerClosed || reason === CloseReason.peerReset,
          `server side ~reason ${reason}`,
        );
        putAll(ac, [client.closed, ...client.before]);
        putAll(as, [server.closed, ...server.before]);
      });
    });
  });
}

suite("close reasons: peers that go away, refusals, addresses", () => {
  test("a peer that ends the connection orderly without Bye: peer_closed", async () => {
    const peer = await rawServer((sock) => sock.end());
    try {
      await withEngines([{}], async (rtr) => {
        const ampe = rtr.ampe(), g = ampe.create();
        const { C } = connect(ampe, g, new TCPClientAddress("127.0.0.1", peer.port));
        const { closed, before } = await untilClosed(g, C);
        assert.equal(closed.bhdr.status, AmpeStatus.channelClosed);
        expectWhy(closed, CloseReason.peerClosed, null);
        putAll(ampe, [closed, ...before]);
      });
    } finally {
      peer.close();
    }
  });

  test("a peer that resets the connection: peer_reset with the OS error", async (ctx) => {
    const skip = await abortiveCloseSkip();
    if (skip) return ctx.skip(skip);
    const peer = await rawServer((sock) => sock.resetAndDestroy());
    try {
      await withEngines([{}], async (rtr) => {
        const ampe = rtr.ampe(), g = ampe.create();
        const { C } = connect(ampe, g, new TCPClientAddress("127.0.0.1", peer.port));
        const { closed, before } = await untilClosed(g, C);
        expectWhy(closed, CloseReason.peerReset, /^(WSA)?ECONN(RESET|ABORTED)$/);
        putAll(ampe, [closed, ...before]);
      });
    } finally {
      peer.close();
    }
  });

  test("a connect to a closed port: connect_failed and ECONNREFUSED, on the response and the Signal", async () => {
    const { port } = await addresses("tcp");
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe(), g = ampe.create();
      const { C, H } = connect(ampe, g, new TCPClientAddress("127.0.0.1", port));
      const { closed, before } = await untilClosed(g, C);
      assert.equal(before.length, 1, "the HelloRequest comes back, then the Signal");
      const response = expectMsg(before[0]!, {
        op: OpCode.HelloResponse,
        origin: "E",
        status: AmpeStatus.connectFailed,
        ch: C,
        mid: H,
      });
      expectWhy(response, CloseReason.connectFailed, /^(WSA)?ECONNREFUSED$/);
      expectWhy(closed, CloseReason.connectFailed, /^(WSA)?ECONNREFUSED$/);
      assert.equal(whyOf(response).osErrno, whyOf(closed).osErrno);
      putAll(ampe, [closed, ...before]);
    });
  });

  test("a port in use: listen_failed and EADDRINUSE", async () => {
    const { server } = await addresses("tcp");
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe(), g = ampe.create();
      await listen(ampe, g, server);
      const m = ampe.get(AllocationStrategy.always)!;
      server.format(m);
      const h = g.post(m);
      const { closed, before } = await untilClosed(g, h.channelNumber);
      const response = expectMsg(before[0]!, {
        op: OpCode.WelcomeResponse,
        status: AmpeStatus.listenFailed,
      });
      assert.ok(response.thdrs.get("~listen_on") !== undefined, "the request's own headers stay");
      expectWhy(response, CloseReason.listenFailed, /^(WSA)?EADDRINUSE$/);
      expectWhy(closed, CloseReason.listenFailed, /^(WSA)?EADDRINUSE$/);
      putAll(ampe, [closed, ...before]);
    });
  });

  test(
    "a UDS path that is not a socket: listen_failed and ENOTSOCK",
    { skip: UDS_SKIP },
    async () => {
      const { path } = await addresses("uds");
      writeFileSync(path, "not a socket");
      await withEngines([{}], async (rtr) => {
        const ampe = rtr.ampe(), g = ampe.create();
        const m = ampe.get(AllocationStrategy.always)!;
        new UDSServerAddress(path).format(m);
        const h = g.post(m);
        const { closed, before } = await untilClosed(g, h.channelNumber);
        expectMsg(before[0]!, { op: OpCode.WelcomeResponse, status: AmpeStatus.listenFailed });
        expectWhy(before[0]!, CloseReason.listenFailed, /^(WSA)?ENOTSOCK$/);
        expectWhy(closed, CloseReason.listenFailed, /^(WSA)?ENOTSOCK$/);
        putAll(ampe, [closed, ...before]);
      });
    },
  );

  test("a connect to a UDS path that does not exist: udsPathNotFound and ENOENT", {
    skip: UDS_SKIP,
  }, async () => {
    const { path } = await addresses("uds");
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe(), g = ampe.create();
      const { C } = connect(ampe, g, new UDSClientAddress(path));
      const { closed, before } = await untilClosed(g, C);
      expectMsg(before[0]!, { op: OpCode.HelloResponse, status: AmpeStatus.udsPathNotFound });
      expectWhy(before[0]!, CloseReason.connectFailed, /^(ENOENT|ERROR_FILE_NOT_FOUND)$/);
      expectWhy(closed, CloseReason.connectFailed, /^(ENOENT|ERROR_FILE_NOT_FOUND)$/);
      putAll(ampe, [closed, ...before]);
    });
  });

  test("a malformed address: invalid_address, no OS error", async () => {
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe(), g = ampe.create();
      const h = postNew(ampe, g, (m) => {
        m.bhdr.proto.opCode = OpCode.HelloRequest;
        m.thdrs.append("~connect_to", "tcp|999.1.2.3|7099");
      });
      const { closed, before } = await untilClosed(g, h.ch);
      expectMsg(before[0]!, { op: OpCode.HelloResponse, status: AmpeStatus.invalidAddress });
      expectWhy(closed, CloseReason.invalidAddress, null);
      assert.equal(closed.thdrs.get(REASON_HEADER), "invalid_address");
      putAll(ampe, [closed, ...before]);
    });
  });
});

for (const t of TRANSPORTS) {
  suite(`stats over ${t}`, skipFor(t), () => {
    test("messages, bytes, channels by state, queue depth and the pool are counted", async () => {
      await withPair(t, async ({ as, ac, gs, gc, rs, rc, C }) => {
        const before = { client: rc.stats(), server: rs.stats() };
        assert.deepEqual(gs.stats().channels, { listening: 1, opening: 0, open: 1 });
        assert.deepEqual(gc.stats().channels, { listening: 0, opening: 0, open: 1 });
        const sizes = [0, 3, 1000];
        for (const n of sizes) {
          postNew(ac, gc, (m) => {
            m.bhdr.proto.opCode = OpCode.Signal;
            m.bhdr.channelNumber = C;
            m.body.append("x".repeat(n));
          });
        }
        const frameBytes = sizes.reduce((sum, n) => sum + 16 + n, 0);
        const deadline = Date.now() + RECV_MS;
        while (gs.stats().queued < sizes.length) {
          assert.ok(Date.now() < deadline, `queued: ${JSON.stringify(gs.stats())}`);
          await new Promise((r) => setTimeout(r, 5));
        }
        const client = rc.stats(), server = rs.stats();
        assert.equal(client.messagesOut - before.client.messagesOut, sizes.length);
        assert.equal(client.bytesOut - before.client.bytesOut, frameBytes);
        assert.equal(server.messagesIn - before.server.messagesIn, sizes.length);
        assert.equal(server.bytesIn - before.server.bytesIn, frameBytes);
        assert.equal(server.queued, sizes.length);
        assert.equal(
          gs.stats().messagesIn,
          server.messagesIn,
          "one group: its figures are the reactor's",
        );
        assert.equal(server.groups, 1);
        assert.equal(
          server.pool.inUse - before.server.pool.inUse,
          sizes.length,
          "queued messages are in use",
        );
        const got: Message[] = [];
        for (const _ of sizes) got.push(await recv(gs));
        assert.equal(rs.stats().queued, 0);
        putAll(as, got);
        assert.equal(rs.stats().pool.inUse, before.server.pool.inUse, "put back: no longer in use");
        assert.ok(server.turns > 0 && server.wakeUps >= 0 && server.spinTurns >= 0);
        assert.equal(server.pool.max, rs.stats().pool.max);
      });
    });
  });
}

test("stats keep the traffic of closed channels and destroyed groups; refusals are counted", async () => {
  await withPair("tcp", async ({ as, ac, gs, gc, rs, C, S }) => {
    postNew(ac, gc, (m) => {
      m.bhdr.proto.opCode = OpCode.Signal;
      m.bhdr.channelNumber = C;
      m.body.append("hello");
    });
    as.put(expectMsg(await recv(gs), { ch: S }));
    const inBefore = rs.stats().messagesIn;
    assert.ok(inBefore >= 1);
    postNew(as, gs, (m) => {
      m.bhdr.proto.opCode = OpCode.ByeSignal;
      m.bhdr.proto.oob = 1;
      m.bhdr.channelNumber = S;
    });
    const { closed, before } = await untilClosed(gs, S);
    putAll(as, [closed, ...before]);
    assert.equal(rs.stats().messagesIn, inBefore, "a closed channel's counts stay");
    assert.equal(rs.stats().channels.open, 0);
    await as.destroy(gs);
    assert.equal(rs.stats().messagesIn, inBefore, "a destroyed group's counts stay");
    assert.equal(rs.stats().groups, 0);
    const refusalsBefore = rs.stats().pool.refusals;
    const taken: Message[] = [];
    for (let m = as.get(AllocationStrategy.poolOnly); m !== null; m = as.get("poolOnly")) {
      taken.push(m);
    }
    assert.equal(rs.stats().pool.refusals, refusalsBefore + 1);
    assert.equal(rs.stats().pool.free, 0);
    putAll(as, taken);
    void ac;
  });
});
