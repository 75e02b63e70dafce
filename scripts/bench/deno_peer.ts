/**
 * Benchmark peer on Deno's own sockets (`Deno.listen` / `Deno.connect`),
 * doing the same framing work as tofu (see `raw_protocol.mjs`).
 *
 * Run: `deno run -A scripts/bench/deno_peer.ts <args of peer_args.mjs>`
 *
 * @module
 */

import process from "node:process";
import { parsePeerArgs, type PeerOptions, printReady, printResult } from "./peer_args.mjs";
import { ClientSession, type Link, READ_BYTES, ServerSession } from "./raw_protocol.mjs";

type Conn = Deno.TcpConn | Deno.UnixConn;

function linkOf(conn: Conn): Link {
  return {
    send(bytes: Uint8Array): Promise<void> {
      return writeAll(conn, bytes);
    },
  };
}

async function writeAll(conn: Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/** Feeds everything the connection receives to `onChunk` until the peer closes. */
async function readLoop(conn: Conn, onChunk: (chunk: Uint8Array) => void): Promise<void> {
  const buf = new Uint8Array(READ_BYTES);
  for (;;) {
    let n: number | null;
    try {
      n = await conn.read(buf);
    } catch (err) {
      // The peer reset, or this side closed the connection while a read was pending.
      if (
        err instanceof Deno.errors.ConnectionReset || err instanceof Deno.errors.BadResource ||
        err instanceof Deno.errors.Interrupted
      ) return;
      throw err;
    }
    if (n === null) return;
    onChunk(buf.subarray(0, n));
  }
}

function listen(opts: PeerOptions): Deno.Listener<Conn> {
  if (opts.transport === "tcp") return Deno.listen({ hostname: "127.0.0.1", port: opts.port });
  return Deno.listen({ transport: "unix", path: opts.address });
}

async function connect(opts: PeerOptions): Promise<Conn> {
  if (opts.transport === "tcp") {
    return await Deno.connect({ hostname: "127.0.0.1", port: opts.port });
  }
  return await Deno.connect({ transport: "unix", path: opts.address });
}

async function serve(opts: PeerOptions): Promise<void> {
  const listener = listen(opts);
  printReady(opts.address);
  const conn = await listener.accept();
  listener.close();
  if ("setNoDelay" in conn) conn.setNoDelay(true);
  const session = new ServerSession(opts, linkOf(conn));
  await readLoop(conn, (chunk) => session.onChunk(chunk));
  conn.close();
}

async function runClient(opts: PeerOptions): Promise<void> {
  const conn = await connect(opts);
  if ("setNoDelay" in conn) conn.setNoDelay(true);
  const session = new ClientSession(opts, linkOf(conn));
  const reading = readLoop(conn, (chunk) => session.onChunk(chunk));
  printResult(await session.run());
  conn.close();
  await reading;
}

const opts = parsePeerArgs(process.argv.slice(2));
await (opts.role === "server" ? serve(opts) : runClient(opts));
