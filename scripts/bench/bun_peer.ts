/**
 * Benchmark peer on Bun's own sockets (`Bun.listen` / `Bun.connect`), doing
 * the same framing work as tofu (see `raw_protocol.mjs`).
 *
 * Run: `bun scripts/bench/bun_peer.ts <args of peer_args.mjs>`
 *
 * @module
 */

import process from "node:process";
import { parsePeerArgs, type PeerOptions, printReady, printResult } from "./peer_args.mjs";
import { ClientSession, type Link, ServerSession } from "./raw_protocol.mjs";

/** The part of a Bun socket this peer uses. */
interface BunSocket {
  write(data: Uint8Array): number;
  end(): void;
  setNoDelay?(noDelay: boolean): boolean;
}

/** Callbacks of `Bun.listen` / `Bun.connect`. */
interface SocketHandler {
  open?(socket: BunSocket): void;
  data(socket: BunSocket, data: Uint8Array): void;
  drain(socket: BunSocket): void;
  close(socket: BunSocket): void;
  error?(socket: BunSocket, error: Error): void;
}

/** Where to listen or connect: TCP host and port, or a Unix socket path. */
type Endpoint = { hostname: string; port: number } | { unix: string };

/** The part of the `Bun` global this peer uses (declared here so that `deno check` passes). */
interface BunSockets {
  listen(options: Endpoint & { socket: SocketHandler }): { stop(closeActive?: boolean): void };
  connect(options: Endpoint & { socket: SocketHandler }): Promise<BunSocket>;
}

const bun = (globalThis as unknown as { Bun: BunSockets }).Bun;

/** Writes through a Bun socket: what the socket does not take now is written on `drain`. */
class BunLink implements Link {
  socket: BunSocket | null = null;
  #rest: Uint8Array | null = null;
  #done: (() => void) | null = null;

  send(bytes: Uint8Array): Promise<void> | undefined {
    const written = this.socket!.write(bytes);
    if (written === bytes.length) return undefined;
    this.#rest = bytes.subarray(Math.max(written, 0));
    return new Promise((resolve) => {
      this.#done = resolve;
    });
  }

  drain(): void {
    const rest = this.#rest;
    if (rest === null) return;
    const written = this.socket!.write(rest);
    if (written < rest.length) {
      this.#rest = rest.subarray(Math.max(written, 0));
      return;
    }
    this.#rest = null;
    const done = this.#done;
    this.#done = null;
    done?.();
  }
}

function endpoint(opts: PeerOptions): Endpoint {
  return opts.transport === "tcp"
    ? { hostname: "127.0.0.1", port: opts.port }
    : { unix: opts.address };
}

function serve(opts: PeerOptions): Promise<void> {
  const link = new BunLink();
  const session = new ServerSession(opts, link);
  return new Promise((resolve, reject) => {
    const server = bun.listen({
      ...endpoint(opts),
      socket: {
        open(socket) {
          socket.setNoDelay?.(true);
          link.socket = socket;
        },
        data(socket, data) {
          try {
            session.onChunk(data);
          } catch (err) {
            socket.end();
            reject(err);
          }
        },
        drain: () => link.drain(),
        close() {
          server.stop(true);
          resolve();
        },
      },
    });
    printReady(opts.address);
  });
}

async function runClient(opts: PeerOptions): Promise<void> {
  const link = new BunLink();
  const session = new ClientSession(opts, link);
  let failure: unknown = null;
  link.socket = await bun.connect({
    ...endpoint(opts),
    socket: {
      data(socket, data) {
        try {
          session.onChunk(data);
        } catch (err) {
          failure = err;
          socket.end();
        }
      },
      drain: () => link.drain(),
      close() {
        if (failure !== null) {
          console.error(failure);
          process.exit(1);
        }
      },
    },
  });
  link.socket.setNoDelay?.(true);
  printResult(await session.run());
  link.socket.end();
}

const opts = parsePeerArgs(process.argv.slice(2));
await (opts.role === "server" ? serve(opts) : runClient(opts));
