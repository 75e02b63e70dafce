// Listener scenarios S-040…S-052 (spec §10.1, [N8], [N12], [N17], [N18]).
import { describe as suite, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, lstatSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import process from "node:process";
import {
  AllocationStrategy,
  AmpeStatus,
  LISTEN_ON,
  LISTENING_ON,
  OpCode,
  TCPClientAddress,
  TCPServerAddress,
  UDSClientAddress,
  UDSServerAddress,
} from "../mod.ts";
import { tempUdsPath } from "../testing.ts";
import {
  accept,
  addresses,
  connect,
  expectClosed,
  expectMsg,
  expectNext,
  listen,
  none,
  postNew,
  recv,
  withEngines,
} from "./_support/scenario.ts";
import { skipFor, UDS_SKIP } from "./_support/host.ts";

const E2_32 = { initialPoolMsgs: 2, maxPoolMsgs: 32 };

function rawListen(server: Server, listenArg: number | string, host?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    if (typeof listenArg === "number") server.listen(listenArg, host, () => resolve());
    else server.listen(listenArg, () => resolve());
  });
}

function rawClose(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

suite("listeners", () => {
  test("S-040 TCP listener success: WelcomeResponse with headers kept, then nothing", async () => {
    await withEngines([E2_32], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      const a = await addresses("tcp");
      const server = new TCPServerAddress("0.0.0.0", a.port);
      const m = ampe.get(AllocationStrategy.always)!;
      server.format(m);
      const h = g.post(m);
      const r = await expectNext(
        ampe,
        g,
        {
          op: OpCode.WelcomeResponse,
          origin: "A",
          status: AmpeStatus.success,
          ch: h.channelNumber,
          mid: h.messageId,
        },
        "WelcomeResponse",
        true,
      );
      assert.equal(
        new TextDecoder().decode(r.thdrs.bytes()),
        `~listen_on:tcp|0.0.0.0|${a.port}\r\n`,
      );
      ampe.put(r);
      await none(g);
    });
  });

  test("S-041 [N17] same TCP address twice: listen_failed, first keeps accepting, free again after close", async () => {
    await withEngines([E2_32, E2_32], async (r1, r2) => {
      const a1 = r1.ampe(), a2 = r2.ampe();
      const g1 = a1.create(), g2 = a2.create();
      const a = await addresses("tcp");
      const server = new TCPServerAddress("0.0.0.0", a.port);
      const { L } = await listen(a1, g1, server);
      const second = postNew(a2, g2, (m) => server.format(m));
      await expectNext(a2, g2, {
        op: OpCode.WelcomeResponse,
        origin: "E",
        status: AmpeStatus.listenFailed,
        ch: second.ch,
        mid: second.mid,
      });
      await expectClosed(a2, g2, second.ch, second.mid);
      // The first listener still accepts.
      const { H } = connect(a2, g2, new TCPClientAddress("127.0.0.1", a.port));
      await accept(a1, g1, H);
      await expectNext(a2, g2, { op: OpCode.HelloResponse, status: 0, mid: H });
      // Close the first listener: the address is free again at once (SO_REUSEADDR).
      postNew(a1, g1, (m) => {
        m.bhdr.proto.opCode = OpCode.ByeSignal;
        m.bhdr.channelNumber = L;
      });
      await expectNext(a1, g1, { op: OpCode.ByeSignal, status: AmpeStatus.channelClosed, ch: L });
      await expectNext(a1, g1, { op: OpCode.Signal, status: AmpeStatus.channelClosed, ch: L });
      await listen(a2, g2, server);
    });
  });

  test("S-042 UDS listener: the path is a socket while listening and gone after destroy(group)", {
    skip: UDS_SKIP,
  }, async () => {
    await withEngines([E2_32], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      const path = tempUdsPath();
      await listen(ampe, g, new UDSServerAddress(path));
      assert.ok(lstatSync(path).isSocket(), "path is a socket while listening");
      await ampe.destroy(g);
      assert.equal(existsSync(path), false, "path removed after destroy");
    });
  });

  test(
    "S-043 [N18] same UDS path twice: listen_failed and the path survives",
    { skip: UDS_SKIP },
    async () => {
      await withEngines([E2_32, E2_32], async (r1, r2) => {
        const a1 = r1.ampe(), a2 = r2.ampe();
        const g1 = a1.create(), g2 = a2.create();
        const path = tempUdsPath();
        await listen(a1, g1, new UDSServerAddress(path));
        const second = postNew(a2, g2, (m) => new UDSServerAddress(path).format(m));
        await expectNext(a2, g2, {
          op: OpCode.WelcomeResponse,
          origin: "E",
          status: AmpeStatus.listenFailed,
        });
        await expectNext(a2, g2, {
          op: OpCode.Signal,
          status: AmpeStatus.channelClosed,
          ch: second.ch,
        });
        assert.ok(lstatSync(path).isSocket(), "the first listener's path still exists");
        // The second listener probed the path with a connect (that is how it knows the socket is
        // live); the first listener accepted that probe, which closed at once: its group gets a
        // channel_closed Signal with mid 0 for a channel it never saw (spec §10.3), then nothing else.
        const probe = await recv(g1);
        expectMsg(probe, {
          op: OpCode.Signal,
          origin: "E",
          status: AmpeStatus.channelClosed,
          mid: 0n,
        });
        a1.put(probe);
        const { H } = connect(a2, g2, new UDSClientAddress(path));
        await accept(a1, g1, H);
        await expectNext(a2, g2, { op: OpCode.HelloResponse, status: 0, mid: H });
      });
    },
  );

  test("S-043a [N18] a stale socket file is replaced", { skip: UDS_SKIP }, async () => {
    const path = tempUdsPath();
    const stale = createServer();
    await rawListen(stale, path);
    // Close without unlinking: node removes the file on close, so copy the situation by
    // re-creating a socket file that nobody listens on.
    await rawClose(stale);
    if (!existsSync(path)) {
      const { spawnSync } = await import("node:child_process");
      const made = spawnSync("python3", [
        "-c",
        `import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()`,
        path,
      ]);
      if (made.status !== 0) return; // no way to make a stale socket file here
    }
    assert.ok(lstatSync(path).isSocket(), "stale socket file exists");
    await withEngines([E2_32], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      await listen(ampe, g, new UDSServerAddress(path));
    });
  });

  test(
    "S-043b [N18] a regular file at the path: listen_failed, file untouched",
    { skip: UDS_SKIP },
    async () => {
      const path = tempUdsPath();
      writeFileSync(path, "precious");
      try {
        await withEngines([E2_32], async (rtr) => {
          const ampe = rtr.ampe();
          const g = ampe.create();
          const w = postNew(ampe, g, (m) => new UDSServerAddress(path).format(m));
          await expectNext(ampe, g, {
            op: OpCode.WelcomeResponse,
            origin: "E",
            status: AmpeStatus.listenFailed,
          });
          await expectNext(ampe, g, {
            op: OpCode.Signal,
            status: AmpeStatus.channelClosed,
            ch: w.ch,
            mid: w.mid,
          });
        });
        assert.equal(readFileSync(path, "utf8"), "precious");
      } finally {
        rmSync(path, { force: true });
      }
    },
  );

  test("S-044 listen on a foreign IP: listen_failed bundle, then nothing", async () => {
    await withEngines([{ initialPoolMsgs: 10, maxPoolMsgs: 32 }], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      const w = postNew(ampe, g, (m) => new TCPServerAddress("192.128.4.5", 3298).format(m));
      await expectNext(ampe, g, {
        op: OpCode.WelcomeResponse,
        origin: "E",
        status: AmpeStatus.listenFailed,
        ch: w.ch,
        mid: w.mid,
      });
      await expectClosed(ampe, g, w.ch, w.mid);
      await none(g);
    });
  });

  test(
    "without AF_UNIX a UDS listen and a UDS connect come back not_implemented_yet, not invalid_address",
    { skip: UDS_SKIP ? false : "this host has AF_UNIX: nothing to check" },
    async () => {
      await withEngines([E2_32], async (rtr) => {
        const ampe = rtr.ampe();
        const g = ampe.create();
        const w = postNew(ampe, g, (m) => new UDSServerAddress(tempUdsPath()).format(m));
        await expectNext(ampe, g, {
          op: OpCode.WelcomeResponse,
          origin: "E",
          status: AmpeStatus.notImplementedYet,
          ch: w.ch,
          mid: w.mid,
        });
        await expectClosed(ampe, g, w.ch, w.mid);
        const { C, H } = connect(ampe, g, new UDSClientAddress(tempUdsPath()));
        await expectNext(ampe, g, {
          op: OpCode.HelloResponse,
          origin: "E",
          status: AmpeStatus.notImplementedYet,
          ch: C,
          mid: H,
        });
        await expectClosed(ampe, g, C, H);
        await none(g);
      });
    },
  );

  test("S-045 listen on an unresolvable host: invalid_address bundle", async () => {
    await withEngines([E2_32], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      const w = postNew(
        ampe,
        g,
        (m) => new TCPServerAddress("no-such-host.invalid", 7099).format(m),
      );
      await expectNext(ampe, g, {
        op: OpCode.WelcomeResponse,
        origin: "E",
        status: AmpeStatus.invalidAddress,
        ch: w.ch,
        mid: w.mid,
      });
      await expectClosed(ampe, g, w.ch, w.mid);
    });
  });

  test("S-046 address in use by a plain OS listener: listen_failed", async () => {
    const a = await addresses("tcp");
    const plain = createServer();
    await rawListen(plain, a.port, "127.0.0.1");
    try {
      await withEngines([E2_32], async (rtr) => {
        const ampe = rtr.ampe();
        const g = ampe.create();
        const w = postNew(ampe, g, (m) => new TCPServerAddress("127.0.0.1", a.port).format(m));
        await expectNext(ampe, g, {
          op: OpCode.WelcomeResponse,
          origin: "E",
          status: AmpeStatus.listenFailed,
          ch: w.ch,
        });
        await expectClosed(ampe, g, w.ch, w.mid);
      });
    } finally {
      await rawClose(plain);
    }
  });

  test(
    "S-047 [N12] UDS path too long: invalid_address; a path that fits works",
    { skip: UDS_SKIP },
    async () => {
      await withEngines([E2_32], async (rtr) => {
        const ampe = rtr.ampe();
        const g = ampe.create();
        const long = "/tmp/" + "x".repeat(103); // 108 bytes
        assert.equal(long.length, 108);
        const w = postNew(ampe, g, (m) => new UDSServerAddress(long).format(m));
        await expectNext(ampe, g, {
          op: OpCode.WelcomeResponse,
          origin: "E",
          status: AmpeStatus.invalidAddress,
          ch: w.ch,
        });
        await expectNext(ampe, g, {
          op: OpCode.Signal,
          status: AmpeStatus.channelClosed,
          ch: w.ch,
          mid: w.mid,
        });
        const fits = `/tmp/tofu_${process.pid}_`.padEnd(107, "y");
        assert.equal(fits.length, 107);
        rmSync(fits, { force: true });
        await listen(ampe, g, new UDSServerAddress(fits));
        await ampe.destroy(g);
        assert.equal(existsSync(fits), false);
      });
    },
  );

  test("S-048 malformed listen headers: invalid_address bundle", async () => {
    const a = await addresses("tcp");
    const cases: [string, string][] = [
      ["~listen_on", "tcp|127.0.0.1|notaport"],
      ["X", "y"],
      ["~connect_to", `tcp|127.0.0.1|${a.port}`],
    ];
    await withEngines([E2_32], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      for (const [name, value] of cases) {
        const w = postNew(ampe, g, (m) => {
          m.bhdr.proto.opCode = OpCode.WelcomeRequest;
          m.thdrs.append(name, value);
        });
        await expectNext(ampe, g, {
          op: OpCode.WelcomeResponse,
          origin: "E",
          status: AmpeStatus.invalidAddress,
          ch: w.ch,
          mid: w.mid,
        }, `${name}:${value}`);
        await expectClosed(ampe, g, w.ch, w.mid);
      }
    });
  });

  for (const bye of ["ByeSignal", "ByeRequest"] as const) {
    for (const t of ["tcp", "uds"] as const) {
      test(
        `S-049/S-050 close a ${t} listener with ${bye}: bundle, then connects fail`,
        skipFor(t),
        async () => {
          await withEngines([E2_32, {}], async (rtr, other) => {
            const ampe = rtr.ampe();
            const g = ampe.create();
            const a = await addresses(t);
            const { L, Mw } = await listen(ampe, g, a.server);
            const b = postNew(ampe, g, (m) => {
              m.bhdr.proto.opCode = OpCode[bye];
              if (bye === "ByeSignal") m.bhdr.proto.oob = 1;
              m.bhdr.channelNumber = L;
            });
            await expectNext(ampe, g, {
              op: OpCode[bye],
              origin: "E",
              status: AmpeStatus.channelClosed,
              ch: L,
              mid: b.mid,
            });
            await expectClosed(ampe, g, L, Mw);
            await none(g);
            if (t === "uds") assert.equal(existsSync(a.path), false, "UDS file removed");
            const oa = other.ampe();
            const og = oa.create();
            const { C, H } = connect(oa, og, a.client);
            const reason = t === "tcp" ? AmpeStatus.connectFailed : AmpeStatus.udsPathNotFound;
            await expectNext(oa, og, {
              op: OpCode.HelloResponse,
              origin: "E",
              status: reason,
              ch: C,
              mid: H,
            });
            await expectClosed(oa, og, C, H);
          });
        },
      );
    }
  }

  test("S-051 [N8] data message to a listener: not_allowed, the listener keeps accepting", async () => {
    await withEngines([E2_32, {}], async (rtr, other) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      const a = await addresses("tcp");
      const { L } = await listen(ampe, g, a.server);
      const r = postNew(ampe, g, (m) => {
        m.bhdr.channelNumber = L;
        m.body.append("hello");
      });
      await expectNext(ampe, g, {
        op: OpCode.Request,
        origin: "E",
        status: AmpeStatus.notAllowed,
        ch: L,
        mid: r.mid,
      });
      const oa = other.ampe();
      const og = oa.create();
      const { H } = connect(oa, og, a.client);
      await accept(ampe, g, H);
    });
  });

  test("S-052 multi-homed listener: TCP and UDS clients reach one group on distinct channels", {
    skip: UDS_SKIP,
  }, async () => {
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe();
      const gs = ampe.create();
      const tcp = await addresses("tcp");
      const uds = await addresses("uds");
      const { L: L1 } = await listen(ampe, gs, tcp.server);
      const { L: L2 } = await listen(ampe, gs, uds.server);
      const g1 = ampe.create(), g2 = ampe.create();
      const c1 = connect(ampe, g1, tcp.client);
      const c2 = connect(ampe, g2, uds.client);
      const seen = new Map<bigint, { S: number; header: string }>();
      for (let i = 0; i < 2; i++) {
        const m = await recv(gs);
        assert.equal(m.bhdr.proto.opCode, OpCode.HelloRequest);
        seen.set(m.bhdr.messageId, {
          S: m.bhdr.channelNumber,
          header: m.thdrs.get("~connect_to") ?? "",
        });
        ampe.put(m);
      }
      const s1 = seen.get(c1.H)!, s2 = seen.get(c2.H)!;
      assert.ok(s1 && s2, "both HelloRequests arrived");
      assert.notEqual(s1.S, s2.S);
      for (const s of [s1.S, s2.S]) assert.ok(s !== L1 && s !== L2 && s !== c1.C && s !== c2.C);
      assert.ok(s1.header.startsWith("tcp|"), s1.header);
      assert.ok(s2.header.startsWith("uds|"), s2.header);
    });
  });
});

suite("listeners on an address the OS chooses", () => {
  test("TCP port 0: the WelcomeResponse carries ~listening_on with the real port, and it works", async () => {
    await withEngines([{}, {}], async (rs, rc) => {
      const as = rs.ampe(), ac = rc.ampe();
      const gs = as.create(), gc = ac.create();
      const w = postNew(as, gs, (m) => new TCPServerAddress("127.0.0.1", 0).format(m));
      const r = await expectNext(
        as,
        gs,
        { op: OpCode.WelcomeResponse, origin: "A", status: 0, ch: w.ch, mid: w.mid },
        "welcome",
        true,
      );
      assert.equal(r.thdrs.get(LISTEN_ON), "tcp|127.0.0.1|0");
      const chosen = r.thdrs.get(LISTENING_ON) ?? "";
      as.put(r);
      const match = /^tcp\|127\.0\.0\.1\|(\d+)$/.exec(chosen);
      assert.ok(match, `~listening_on: ${chosen}`);
      const port = Number(match[1]);
      assert.ok(port > 0);
      const { H } = connect(ac, gc, new TCPClientAddress("127.0.0.1", port));
      await accept(as, gs, H);
      await expectNext(ac, gc, { op: OpCode.HelloResponse, status: 0, mid: H });
    });
  });

  test("empty UDS path: a temporary path is reported in ~listening_on, works, and is removed", {
    skip: UDS_SKIP,
  }, async () => {
    await withEngines([{}, {}], async (rs, rc) => {
      const as = rs.ampe(), ac = rc.ampe();
      const gs = as.create(), gc = ac.create();
      const w = postNew(as, gs, (m) => new UDSServerAddress("").format(m));
      const r = await expectNext(
        as,
        gs,
        { op: OpCode.WelcomeResponse, origin: "A", status: 0, ch: w.ch },
        "welcome",
        true,
      );
      const chosen = r.thdrs.get(LISTENING_ON) ?? "";
      as.put(r);
      assert.match(chosen, /^uds\|.+/);
      const path = chosen.slice(4);
      assert.ok(lstatSync(path).isSocket());
      const { H } = connect(ac, gc, new UDSClientAddress(path));
      await accept(as, gs, H);
      await expectNext(ac, gc, { op: OpCode.HelloResponse, status: 0, mid: H });
      await as.destroy(gs);
      assert.equal(existsSync(path), false);
    });
  });

  test("a listener on a fixed address gets no ~listening_on (the request's headers come back unchanged)", async () => {
    await withEngines([{}], async (rtr) => {
      const ampe = rtr.ampe();
      const g = ampe.create();
      const a = await addresses("tcp");
      const w = postNew(ampe, g, (m) => a.server.format(m));
      const r = await expectNext(
        ampe,
        g,
        { op: OpCode.WelcomeResponse, ch: w.ch },
        "welcome",
        true,
      );
      assert.equal(r.thdrs.get(LISTENING_ON), undefined);
      ampe.put(r);
    });
  });
});
