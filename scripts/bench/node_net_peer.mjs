/**
 * Benchmark peer on `node:net`, doing the same framing work as tofu (see
 * `raw_protocol.mjs`). Meant for Node (`node scripts/bench/node_net_peer.mjs
 * <args of peer_args.mjs>`); it also runs under Deno and Bun.
 *
 * @module
 */

import net from "node:net";
import process from "node:process";
import { parsePeerArgs, printReady, printResult } from "./peer_args.mjs";
import { ClientSession, ServerSession } from "./raw_protocol.mjs";

/** @typedef {import("./peer_args.mjs").PeerOptions} PeerOptions */
/** @typedef {import("./raw_protocol.mjs").Link} Link */

/**
 * Node keeps a reference to a written buffer until it reaches the kernel, so
 * every send resolves from the write callback.
 *
 * @param {net.Socket} socket
 * @returns {Link}
 */
function linkOf(socket) {
  return {
    send(bytes) {
      return new Promise((resolve, reject) => {
        socket.write(bytes, (err) => (err ? reject(err) : resolve()));
      });
    },
  };
}

/**
 * @param {PeerOptions} opts
 * @returns {net.NetConnectOpts}
 */
function endpoint(opts) {
  return opts.transport === "tcp" ? { host: "127.0.0.1", port: opts.port } : { path: opts.address };
}

/**
 * @param {PeerOptions} opts
 * @returns {Promise<void>}
 */
function serve(opts) {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => {
      server.close();
      socket.setNoDelay(true);
      const session = new ServerSession(opts, linkOf(socket));
      socket.on("data", (chunk) => {
        try {
          session.onChunk(chunk);
        } catch (err) {
          socket.destroy();
          reject(err);
        }
      });
      socket.on("error", () => {});
      socket.on("close", () => resolve());
    });
    server.on("error", reject);
    const ready = () => printReady(opts.address);
    if (opts.transport === "tcp") server.listen(opts.port, "127.0.0.1", ready);
    else server.listen(opts.address, ready);
  });
}

/**
 * @param {PeerOptions} opts
 * @returns {Promise<void>}
 */
async function runClient(opts) {
  const socket = net.connect(endpoint(opts));
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  socket.setNoDelay(true);
  const session = new ClientSession(opts, linkOf(socket));
  const failed = new Promise((_, reject) => {
    socket.on("data", (chunk) => {
      try {
        session.onChunk(chunk);
      } catch (err) {
        reject(err);
      }
    });
    socket.on("error", reject);
  });
  printResult(await Promise.race([session.run(), failed]));
  socket.end();
}

const opts = parsePeerArgs(process.argv.slice(2));
await (opts.role === "server" ? serve(opts) : runClient(opts));
