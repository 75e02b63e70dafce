// Security: what a hostile peer or a hostile file system cannot do.
// - [N2] a peer cannot forge engine-origin notifications, in either direction;
// - [N18] [N13] a UDS listener never deletes or takes over a path it does not own;
// - no input from a peer makes the engine hold more than one frame's worth
//   (<= 131 086 bytes) per connection ahead of its pool (spec §3.1, §12).
import { describe as suite, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import {
  type Ampe,
  AmpeStatus,
  type ChannelGroup,
  type Message,
  OpCode,
  UDSServerAddress,
} from "../mod.ts";
import { findFreeTcpPort, tempUdsPath } from "../testing.ts";
import {
  addresses,
  connect,
  expectMsg,
  expectNext,
  listen,
  none,
  postNew,
  recv,
  withEngines,
} from "./_support/scenario.ts";
import {
  concat,
  encodeFrame,
  frame,
  MAX_FRAME,
  MAX_SECTION,
  RAW_TRANSPORTS,
  RawSocket,
  type RawTarget,
  startChild,
  tcpPortFree,
} from "./fixtures/rel_wire.ts";
import { eventually, sleep } from "./_support/wait.ts";

/** bun test applies its 5 s default to node:test tests unless a test names its own limit. */
const LIMIT = { timeout: 120_000 };

/** Statuses an engine puts into its own notifications: a peer must not be able to fake any. */
const ENGINE_STATUSES = [
  AmpeStatus.channelClosed,
  AmpeStatus.poolEmpty,
  AmpeStatus.shutdownStarted,
  AmpeStatus.receiverUpdate,
  AmpeStatus.acceptFailed,
  AmpeStatus.peerDisconnected,
  AmpeStatus.connectFailed,
  AmpeStatus.listenFailed,
];
const FORGED_OPS = [OpCode.Signal, OpCode.HelloResponse, OpCode.WelcomeResponse, OpCode.ByeSignal];

function targetOf(a: { port: number; path: string }): RawTarget {
  return a.path === "" ? { port: a.port } : { path: a.path };
}

function rawListen(server: Server, where: RawTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    if ("path" in where) server.listen(where.path, () => resolve());
    else server.listen(where.port, "127.0.0.1", () => resolve());
  });
}

function rawClose(server: Server): Promise<void> {
  return new Promise((r) => server.close(() => r()));
}

/** True when a raw connection to `where` succeeds (something listens there). */
async function reachable(where: RawTarget): Promise<boolean> {
  try {
    const s = await RawSocket.connect(where);
    await s.close();
    return true;
  } catch {
    return false;
  }
}

/** Every forged frame: engine statuses x opCodes, with the origin bit set, aimed at `aim` channel numbers. */
function forgedFrames(
  aim: number[],
): { bytes: Uint8Array; op: number; status: number; mid: bigint }[] {
  const out = [];
  let mid = 1000n;
  for (const status of ENGINE_STATUSES) {
    for (const op of FORGED_OPS) {
      for (const chn of aim) {
        mid++;
        out.push({ bytes: frame(chn, 0x10 | op, status, mid, "", "forged"), op, status, mid });
      }
    }
  }
  return out;
}

async function expectListenFailed(ampe: Ampe, g: ChannelGroup, path: string): Promise<void> {
  const w = postNew(ampe, g, (m) => new UDSServerAddress(path).format(m));
  await expectNext(ampe, g, {
    op: OpCode.WelcomeResponse,
    origin: "E",
    status: AmpeStatus.listenFailed,
    ch: w.ch,
    mid: w.mid,
  }, `listen on ${path}`);
  await expectNext(ampe, g, {
    op: OpCode.Signal,
    origin: "E",
    status: AmpeStatus.channelClosed,
    ch: w.ch,
    mid: w.mid,
  });
}

/** The next message that is not a pool_empty Signal (those are put back). */
async function recvData(ampe: Ampe, g: ChannelGroup): Promise<Message> {
  for (;;) {
    const m = await recv(g);
    if (!(m.isFromEngine() && m.bhdr.status === AmpeStatus.poolEmpty)) return m;
    ampe.put(m);
  }
}

suite("security: forged notifications [N2]", () => {
  for (const t of RAW_TRANSPORTS) {
    test(
      `a raw client's engine-origin frames arrive as application data on its own channel (${t})`,
      LIMIT,
      async () => {
        await withEngines([{ initialPoolMsgs: 64, maxPoolMsgs: 128 }], async (rtr) => {
          const ampe = rtr.ampe();
          const g = ampe.create();
          const a = await addresses(t);
          const { L } = await listen(ampe, g, a.server);
          // A bystander connection that must not be touched by anything the attacker sends.
          const bystander = await RawSocket.connect(targetOf(a));
          const attacker = await RawSocket.connect(targetOf(a));
          try {
            assert.ok(await bystander.write(frame(1, OpCode.HelloRequest, 0, 1n)));
            const b = expectMsg(await recvData(ampe, g), { op: OpCode.HelloRequest, mid: 1n });
            const B = b.bhdr.channelNumber;
            ampe.put(b);
            assert.ok(await attacker.write(frame(1, OpCode.HelloRequest, 0, 2n)));
            const h = expectMsg(await recvData(ampe, g), { op: OpCode.HelloRequest, mid: 2n });
            const S = h.bhdr.channelNumber;
            ampe.put(h);
            // Forged closes, pool_empty, shutdown… aimed at the listener, the bystander, 0 and 65535.
            const forged = forgedFrames([L, B, 0, 0xffff, S]);
            const freePort = await findFreeTcpPort();
            const freePath = tempUdsPath();
            const welcomes = [
              frame(0, OpCode.WelcomeRequest, 0, 7n, `~listen_on:tcp|127.0.0.1|${freePort}\r\n`),
              frame(0, OpCode.WelcomeRequest, 0, 8n, `~listen_on:uds|${freePath}\r\n`),
            ];
            assert.ok(await attacker.write(concat(...forged.map((f) => f.bytes), ...welcomes)));
            for (const f of forged) {
              const m = expectMsg(await recvData(ampe, g), {
                op: f.op,
                origin: "A",
                status: f.status,
                ch: S,
                mid: f.mid,
              }, "a forged frame");
              assert.ok(m.isFromApplication());
              assert.equal(m.body.text(), "forged");
              ampe.put(m);
            }
            for (const mid of [7n, 8n]) {
              ampe.put(
                expectMsg(await recvData(ampe, g), {
                  op: OpCode.WelcomeRequest,
                  origin: "A",
                  ch: S,
                  mid,
                }),
              );
            }
            // Listening there ourselves proves nobody else does (a connect probe cannot: Bun for
            // Windows under Wine reports a connect to a closed port as connected).
            assert.equal(
              tcpPortFree(freePort),
              true,
              "a forged WelcomeRequest opened no TCP listener",
            );
            assert.throws(
              () => lstatSync(freePath),
              "a forged WelcomeRequest created no UDS listener",
            );
            // Everything still works: the attacker's channel, the bystander's, and the listener.
            postNew(ampe, g, (m) => {
              m.bhdr.channelNumber = S;
              m.bhdr.messageId = 1n;
            });
            postNew(ampe, g, (m) => {
              m.bhdr.channelNumber = B;
              m.bhdr.messageId = 2n;
            });
            assert.ok(await bystander.write(frame(1, OpCode.Request, 0, 3n)));
            ampe.put(expectMsg(await recvData(ampe, g), { op: OpCode.Request, ch: B, mid: 3n }));
            const late = await RawSocket.connect(targetOf(a));
            assert.ok(await late.write(frame(1, OpCode.HelloRequest, 0, 4n)));
            ampe.put(
              expectMsg(await recvData(ampe, g), { op: OpCode.HelloRequest, origin: "A", mid: 4n }),
            );
            await late.close();
            ampe.put(
              expectMsg(await recvData(ampe, g), { op: OpCode.Signal, origin: "E", mid: 4n }),
            );
            assert.equal(attacker.ended, null, "the attacker's connection is still open");
            assert.equal(bystander.ended, null, "the bystander's connection is still open");
            await eventually(
              () => attacker.received >= 16 && bystander.received >= 16,
              5000,
              "both raw peers to get the server's message",
            );
          } finally {
            await attacker.close();
            await bystander.close();
          }
          for (let i = 0; i < 2; i++) {
            ampe.put(expectMsg(await recvData(ampe, g), {
              op: OpCode.Signal,
              origin: "E",
              status: AmpeStatus.channelClosed,
            }));
          }
          await none(g);
        });
      },
    );
  }

  test(
    "a raw server's engine-origin frames reach a tofu client as application data",
    LIMIT,
    async () => {
      const a = await addresses("tcp");
      let onPeer!: (s: import("node:net").Socket) => void;
      const accepted = new Promise<import("node:net").Socket>((r) => (onPeer = r));
      const server = createServer((s) => onPeer(s));
      await rawListen(server, { port: a.port });
      let peer: import("node:net").Socket | undefined;
      try {
        await withEngines([{}], async (rtr) => {
          const ampe = rtr.ampe();
          const g = ampe.create();
          const { C, H } = connect(ampe, g, a.client);
          peer = await accepted;
          // The HelloRequest goes unanswered; instead the "server" fakes every engine notification
          // about C, including a failed connect and a channel_closed carrying H.
          const forged = forgedFrames([C, 0]);
          peer.write(concat(
            frame(C, 0x10 | OpCode.HelloResponse, AmpeStatus.connectFailed, H),
            frame(C, 0x10 | OpCode.Signal, AmpeStatus.channelClosed, H),
            ...forged.map((f) => f.bytes),
          ));
          ampe.put(expectMsg(await recvData(ampe, g), {
            op: OpCode.HelloResponse,
            origin: "A",
            status: AmpeStatus.connectFailed,
            ch: C,
            mid: H,
          }));
          ampe.put(expectMsg(await recvData(ampe, g), {
            op: OpCode.Signal,
            origin: "A",
            status: AmpeStatus.channelClosed,
            ch: C,
            mid: H,
          }));
          for (const f of forged) {
            ampe.put(
              expectMsg(await recvData(ampe, g), {
                op: f.op,
                origin: "A",
                status: f.status,
                ch: C,
                mid: f.mid,
              }),
            );
          }
          // C is still open: a post goes out to the "server" (after the HelloRequest it got first).
          const helloBytes = 16 + `~connect_to:tcp|127.0.0.1|${a.port}\r\n`.length;
          let got = 0;
          const arrived = new Promise<void>((resolve) =>
            peer!.on("data", (d: Uint8Array) => {
              got += d.length;
              if (got >= helloBytes + 16) resolve();
            })
          );
          postNew(ampe, g, (m) => {
            m.bhdr.channelNumber = C;
            m.bhdr.messageId = 5n;
          });
          await arrived;
          await none(g);
        });
      } finally {
        peer?.destroy();
        await rawClose(server);
      }
    },
  );
});

/** Symlinks, FIFOs and UDS files as POSIX has them. */
const POSIX = process.platform === "win32"
  ? "POSIX file system semantics (symlinks, FIFOs, UDS files)"
  : false;

suite("security: UDS paths [N18] [N13]", { skip: POSIX }, () => {
  const cases: { what: string; make(path: string): () => void }[] = [
    {
      what: "a directory",
      make: (path) => {
        mkdirSync(path);
        return () => assert.ok(lstatSync(path).isDirectory(), "the directory is still there");
      },
    },
    {
      what: "a symlink to a regular file",
      make: (path) => {
        const target = `${path}.target`;
        writeFileSync(target, "keep me");
        symlinkSync(target, path);
        return () => {
          assert.ok(lstatSync(path).isSymbolicLink(), "the symlink is still there");
          assert.equal(readFileSync(target, "utf8"), "keep me", "the target is untouched");
        };
      },
    },
    {
      what: "a FIFO",
      make: (path) => {
        const made = spawnSync("mkfifo", [path]);
        assert.equal(made.status, 0, "mkfifo works here");
        return () => assert.ok(lstatSync(path).isFIFO(), "the FIFO is still there");
      },
    },
  ];
  for (const c of cases) {
    test(`${c.what} at the path: listen_failed, left untouched`, LIMIT, async () => {
      const path = tempUdsPath();
      const check = c.make(path);
      try {
        await withEngines([{}], async (rtr) => {
          const ampe = rtr.ampe();
          await expectListenFailed(ampe, ampe.create(), path);
        });
        check();
      } finally {
        rmSync(path, { force: true, recursive: true });
        rmSync(`${path}.target`, { force: true });
      }
    });
  }

  test(
    "a live socket of another program (directly or through a symlink): listen_failed, it keeps serving",
    LIMIT,
    async () => {
      const path = tempUdsPath();
      const link = tempUdsPath();
      let served = 0;
      const other = createServer((s) => {
        served++;
        s.destroy();
      });
      await rawListen(other, { path });
      symlinkSync(path, link);
      try {
        await withEngines([{}], async (rtr) => {
          const ampe = rtr.ampe();
          const g = ampe.create();
          await expectListenFailed(ampe, g, path);
          await expectListenFailed(ampe, g, link);
        });
        assert.ok(lstatSync(path).isSocket(), "the other program's socket file is still there");
        assert.ok(lstatSync(link).isSymbolicLink(), "the symlink is still there");
        const before = served;
        assert.ok(await reachable({ path }), "the other program still accepts");
        await sleep(20);
        assert.ok(served > before, "the connection reached the other program");
      } finally {
        await rawClose(other);
        rmSync(link, { force: true });
      }
    },
  );

  for (const how of ["ByeSignal", "group destroy", "engine destroy"] as const) {
    test(
      `[N13] a listener whose path was taken over does not unlink it on close (${how})`,
      LIMIT,
      async () => {
        const path = tempUdsPath();
        let served = 0;
        const thief = createServer((s) => {
          served++;
          s.destroy();
        });
        try {
          await withEngines([{}], async (rtr) => {
            const ampe = rtr.ampe();
            const g = ampe.create();
            const { L } = await listen(ampe, g, new UDSServerAddress(path));
            // Someone else removes the path and binds a new socket there.
            rmSync(path);
            await rawListen(thief, { path });
            if (how === "ByeSignal") {
              const bye = postNew(ampe, g, (m) => {
                m.bhdr.proto.opCode = OpCode.ByeSignal;
                m.bhdr.channelNumber = L;
              });
              await expectNext(ampe, g, {
                op: OpCode.ByeSignal,
                status: AmpeStatus.channelClosed,
                mid: bye.mid,
              });
              await expectNext(ampe, g, {
                op: OpCode.Signal,
                status: AmpeStatus.channelClosed,
                ch: L,
              });
            } else if (how === "group destroy") {
              await ampe.destroy(g);
            } else {
              await rtr.destroy();
            }
          });
          assert.ok(lstatSync(path).isSocket(), "the new owner's socket file is still there");
          assert.ok(await reachable({ path }), "the new owner still accepts");
          await sleep(20);
          assert.ok(served >= 1, "the connection reached the new owner");
        } finally {
          if (thief.listening) await rawClose(thief);
          rmSync(path, { force: true });
        }
      },
    );
  }
});

/** The child's reply to one control command (the next line starting with `prefix`). */
interface MemoryChild {
  target: RawTarget;
  command(text: string, prefix: string): Promise<string>;
  measure(): Promise<{ external: number; rss: number; heap: number }>;
  close(): Promise<void>;
}

async function startMemoryChild(t: "tcp" | "uds", pool: [number, number]): Promise<MemoryChild> {
  const child = startChild("rel_memory_child.ts", {
    args: [t, String(pool[0]), String(pool[1])],
    limitMs: 110_000,
  });
  const [, where, ctl] = (await child.line("ready ")).split(" ");
  const target: RawTarget = t === "tcp" ? { port: Number(where) } : { path: where! };
  const controller = await RawSocket.connect({ port: Number(ctl) });
  let mid = 0n;
  const command = async (text: string, prefix: string) => {
    const from = child.lines.length;
    assert.ok(
      await controller.write(frame(1, OpCode.Signal, 0, ++mid, "", text)),
      `command ${text}`,
    );
    return await child.line(prefix, from);
  };
  return {
    target,
    command,
    measure: async () => JSON.parse((await command("measure", "measured ")).slice(9)),
    close: async () => {
      await controller.write(frame(1, OpCode.Signal, 0, ++mid, "", "quit"));
      const r = await child.result;
      await controller.close();
      assert.equal(r.code, 0, `memory child exit; stderr: ${r.err}`);
    },
  };
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

const CONNECTIONS = 50;

/** Opens `n` raw connections; each sends a header announcing a maximal frame and all but its last byte. */
async function dribbleAlmostMaxFrames(target: RawTarget, n: number): Promise<RawSocket[]> {
  const max = encodeFrame({
    chn: 1,
    proto: OpCode.Request,
    status: 0,
    mid: 1n,
    hdrs: new Uint8Array(MAX_SECTION).fill(0x68),
    body: new Uint8Array(MAX_SECTION).fill(0x62),
  });
  assert.equal(max.length, MAX_FRAME);
  const socks: RawSocket[] = [];
  for (let i = 0; i < n; i++) socks.push(await RawSocket.connect(target));
  // In pieces, with pauses: the engine reads each piece separately and keeps the partial frame.
  const pieces = [[0, 16], [16, 40_000], [40_000, 100_000], [100_000, MAX_FRAME - 1]];
  for (const [from, to] of pieces) {
    for (const s of socks) assert.ok(await s.write(max.subarray(from, to)));
    await sleep(50);
  }
  return socks;
}

suite("security: memory held per connection", () => {
  test(
    "RSS stays small while raw peers hold partial maximal frames and flood a starved pool (repeated)",
    LIMIT,
    async () => {
      const child = await startMemoryChild("tcp", [4, 4]);
      const peers: RawSocket[] = [];
      try {
        // Warm-up round: the runtimes allocate once on first use.
        for (const s of await dribbleAlmostMaxFrames(child.target, 4)) peers.push(s);
        const base = await child.measure();
        const growth: number[] = [];
        for (let round = 0; round < 3; round++) {
          // A maximal frame short of one byte on each connection...
          for (const s of await dribbleAlmostMaxFrames(child.target, CONNECTIONS)) peers.push(s);
          // ...and floods of small frames that starve the pool (the app does not read).
          const floods = [];
          for (let i = 0; i < 10; i++) floods.push(await RawSocket.connect(child.target));
          const body = new Uint8Array(8 * 1024);
          for (const s of floods) {
            for (let n = 1; n <= 400; n++) {
              const f = frame(1, OpCode.Request, 0, BigInt(n), "", body);
              if (s.writeNow(f) === "full" && !(await s.drained(200))) break;
            }
          }
          peers.push(...floods);
          await sleep(300);
          const m = await child.measure();
          growth.push(m.rss - base.rss);
        }
        const total = 3 * (CONNECTIONS + 10);
        const perConnection = Math.max(...growth) / total;
        console.log(
          `memory: RSS growth after each round ${growth.map(kb).join(", ")}; at most ${
            kb(perConnection)
          } per connection (${total} hostile connections open)`,
        );
        // Generous: twice a maximal frame per connection, plus 32 MB of runtime noise.
        assert.ok(
          Math.max(...growth) < total * 2 * MAX_FRAME + 32 * 1024 * 1024,
          `RSS grew by ${kb(Math.max(...growth))} for ${total} connections`,
        );
      } finally {
        for (const p of peers) await p.close();
        await child.close();
      }
    },
  );

  test(
    "memory allocated for a peer's partial maximal frame is at most one frame (131 086 bytes)",
    LIMIT,
    async () => {
      // A pool larger than the connections: no starvation, so only the decoders hold bytes.
      const child = await startMemoryChild("tcp", [64, 64]);
      const peers: RawSocket[] = [];
      try {
        for (const s of await dribbleAlmostMaxFrames(child.target, 4)) peers.push(s);
        const base = await child.measure();
        for (const s of await dribbleAlmostMaxFrames(child.target, CONNECTIONS)) peers.push(s);
        await sleep(200);
        const held = await child.measure();
        // The frames are really held: one more byte each completes them.
        for (const s of peers) assert.ok(await s.write(new Uint8Array([0x62])));
        const drained = JSON.parse(
          (await child.command(`drain ${CONNECTIONS + 4} 20000`, "drained ")).slice(8),
        );
        assert.equal(drained.received, CONNECTIONS + 4, "every completed frame was delivered");
        assert.equal(drained.bytes, (CONNECTIONS + 4) * 2 * MAX_SECTION);
        const perConnection = (held.external - base.external) / CONNECTIONS;
        console.log(`memory: ${kb(perConnection)} allocated per connection holding 131 085 bytes`);
        assert.ok(
          perConnection <= MAX_FRAME + 4096,
          `${
            perConnection.toFixed(0)
          } bytes allocated per connection, more than one frame (${MAX_FRAME})`,
        );
      } finally {
        for (const p of peers) await p.close();
        await child.close();
      }
    },
  );
});
