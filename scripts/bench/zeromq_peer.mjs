/**
 * Benchmark peer on ZeroMQ (the `zeromq` npm package, a DEALER socket at each
 * end, over `tcp://` or `ipc://`; PAIR would do too, but a PAIR socket that
 * binds under Deno never receives anything). Every ZeroMQ message carries exactly one tofu frame
 * (16-byte header + body) whose header the receiver validates, so the work
 * matches the other contenders; ZeroMQ does its own batching underneath.
 *
 * The package is not a dependency of the project: `bench.mjs` installs it in
 * a cache directory and passes that directory in `TOFU_BENCH_ZEROMQ_DIR`.
 *
 * Run: `TOFU_BENCH_ZEROMQ_DIR=<dir> node scripts/bench/zeromq_peer.mjs <args of peer_args.mjs>`
 *
 * @module
 */

import { createRequire } from "node:module";
import { join } from "node:path";
import process from "node:process";
import {
  encodeFrame,
  frameSize,
  HEADER_SIZE,
  midAt,
  OP_REQUEST,
  OP_RESPONSE,
  opCodeAt,
} from "./frames.mjs";
import {
  markTimed,
  parsePeerArgs,
  pingPongResult,
  printReady,
  printResult,
  streamResult,
} from "./peer_args.mjs";

/** @typedef {import("./peer_args.mjs").PeerOptions} PeerOptions */

/**
 * The part of a zeromq v6 socket this peer uses.
 *
 * @typedef {object} ZmqSocket
 * @property {(endpoint: string) => Promise<void>} bind
 * @property {(endpoint: string) => void} connect
 * @property {(message: Uint8Array) => Promise<void>} send
 * @property {() => Promise<Uint8Array[]>} receive
 * @property {() => void} close
 */

const dir = process.env.TOFU_BENCH_ZEROMQ_DIR;
if (dir === undefined || dir === "") {
  throw new Error(
    "TOFU_BENCH_ZEROMQ_DIR is not set: it must name the directory where zeromq is installed",
  );
}
const zmq = createRequire(join(dir, "package.json"))("zeromq");

/**
 * @param {PeerOptions} opts
 * @returns {string}
 */
function endpointOf(opts) {
  return opts.transport === "tcp" ? `tcp://127.0.0.1:${opts.port}` : `ipc://${opts.address}`;
}

/** @returns {ZmqSocket} */
function dealerSocket() {
  return new zmq.Dealer({ linger: 2000 });
}

/**
 * Validates one received message: exactly one frame with the given opCode.
 *
 * @param {Uint8Array} msg
 * @param {number} opCode
 */
function check(msg, opCode) {
  if (msg.length < HEADER_SIZE) {
    throw new Error(`Received a ${msg.length}-byte message, shorter than a header`);
  }
  const size = frameSize(msg, 0);
  if (size !== msg.length) {
    throw new Error(`Frame of ${size} bytes in a ${msg.length}-byte message`);
  }
  if (opCodeAt(msg, 0) !== opCode) {
    throw new Error(`Expected opCode ${opCode}, got ${opCodeAt(msg, 0)}`);
  }
}

/**
 * @param {ZmqSocket} sock
 * @returns {Promise<Uint8Array>}
 */
async function receiveOne(sock) {
  const [msg] = await sock.receive();
  if (msg === undefined) throw new Error("Received an empty multipart message");
  return msg;
}

/**
 * Serves one client until it has sent everything it announced.
 *
 * @param {PeerOptions} opts
 */
async function serve(opts) {
  const sock = dealerSocket();
  await sock.bind(endpointOf(opts));
  printReady(opts.address);
  const total = opts.warmup + opts.count;
  const ack = new Uint8Array(HEADER_SIZE);
  encodeFrame(ack, 0, OP_RESPONSE, 0, new Uint8Array(0));
  for (let seen = 1; seen <= total; seen++) {
    const msg = await receiveOne(sock);
    check(msg, OP_REQUEST);
    if (opts.mode === "pingpong") {
      const reply = new Uint8Array(msg.length);
      encodeFrame(reply, 0, OP_RESPONSE, midAt(msg, 0), msg.subarray(HEADER_SIZE));
      await sock.send(reply);
    } else if ((seen === opts.warmup && opts.warmup > 0) || seen === total) {
      await sock.send(ack);
    }
  }
  sock.close();
}

/**
 * @param {PeerOptions} opts
 */
async function runClient(opts) {
  const sock = dealerSocket();
  sock.connect(endpointOf(opts));
  const body = new Uint8Array(opts.size).fill(0x61);
  const frameBytes = HEADER_SIZE + opts.size;
  const { warmup, count } = opts;
  // A fresh buffer per message: ZeroMQ may keep a reference to a sent buffer.
  const frame = (/** @type {number} */ mid) => {
    const buf = new Uint8Array(frameBytes);
    encodeFrame(buf, 0, OP_REQUEST, mid, body);
    return buf;
  };
  if (opts.mode === "pingpong") {
    const latencies = new Float64Array(count);
    let start = performance.now();
    for (let i = 0; i < warmup + count; i++) {
      if (i === warmup) {
        markTimed("start");
        start = performance.now();
      }
      const t0 = performance.now();
      await sock.send(frame(i + 1));
      const reply = await receiveOne(sock);
      check(reply, OP_RESPONSE);
      if (midAt(reply, 0) !== i + 1) {
        throw new Error(`Expected the reply to ${i + 1}, got ${midAt(reply, 0)}`);
      }
      if (reply.length !== frameBytes) {
        throw new Error(`Expected a ${frameBytes}-byte reply, got ${reply.length}`);
      }
      if (i >= warmup) latencies[i - warmup] = performance.now() - t0;
    }
    markTimed("end");
    printResult(pingPongResult(latencies, (performance.now() - start) / 1000));
  } else {
    let mid = 1;
    const phase = async (/** @type {number} */ n) => {
      for (let i = 0; i < n; i++) await sock.send(frame(mid++));
      check(await receiveOne(sock), OP_RESPONSE);
    };
    if (warmup > 0) await phase(warmup);
    markTimed("start");
    const start = performance.now();
    await phase(count);
    markTimed("end");
    printResult(streamResult(count, opts.size, (performance.now() - start) / 1000));
  }
  sock.close();
}

const opts = parsePeerArgs(process.argv.slice(2));
await (opts.role === "server" ? serve(opts) : runClient(opts));
