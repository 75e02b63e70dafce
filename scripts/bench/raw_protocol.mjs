// Plain JavaScript so that Node 20 runs it; JSDoc carries the types, which this lint rule cannot read.
// deno-lint-ignore-file explicit-module-boundary-types
/**
 * The benchmark protocol for the raw-socket contenders (runtime sockets,
 * node:net, ZeroMQ), independent of how bytes move: a transport feeds every
 * received chunk to a session and gives it a {@linkcode Link} to write with.
 *
 * - ping-pong: the client sends one Request (16-byte header + body) and waits
 *   for the server's Response of the same size, one in flight;
 * - stream: the client writes its messages back to back in large batches;
 *   the server parses and counts every frame and answers one empty Response
 *   after the warm-up and one after the last message.
 *
 * @module
 */

import {
  encodeFrame,
  FrameReader,
  HEADER_SIZE,
  midAt,
  OP_REQUEST,
  OP_RESPONSE,
  opCodeAt,
} from "./frames.mjs";
import { markTimed, pacer, pingPongResult, streamResult } from "./peer_args.mjs";

/** @typedef {import("./peer_args.mjs").PeerOptions} PeerOptions */

/**
 * How a session writes. `send` writes all of `bytes`; when it cannot finish
 * at once it returns a promise, and `bytes` must stay untouched until that
 * promise resolves.
 *
 * @typedef {object} Link
 * @property {(bytes: Uint8Array) => Promise<void> | undefined} send
 */

/** Streaming clients write batches of about this many bytes. */
export const BATCH_BYTES = 256 * 1024;
/** Transports read into buffers of this size. */
export const READ_BYTES = 256 * 1024;

const ACK = new Uint8Array(HEADER_SIZE);
encodeFrame(ACK, 0, OP_RESPONSE, 0, new Uint8Array(0));

/** The server side of one connection. */
export class ServerSession {
  #opts;
  #link;
  #reader = new FrameReader();
  #out;
  #outLength = 0;
  #seen = 0;
  #expected;
  #onFrame;

  /**
   * @param {PeerOptions} opts
   * @param {Link} link
   */
  constructor(opts, link) {
    this.#opts = opts;
    this.#link = link;
    this.#expected = opts.warmup + opts.count;
    this.#out = new Uint8Array(BATCH_BYTES);
    this.#onFrame = opts.mode !== "stream"
      ? (/** @type {Uint8Array} */ buf, /** @type {number} */ pos, /** @type {number} */ size) =>
        this.#echo(buf, pos, size)
      : (/** @type {Uint8Array} */ buf, /** @type {number} */ pos) => this.#count(buf, pos);
  }

  /** True once every expected request or message has arrived. */
  get finished() {
    return this.#seen >= this.#expected;
  }

  /**
   * Parses a received chunk and answers what it completes.
   *
   * @param {Uint8Array} chunk
   * @returns {void}
   */
  onChunk(chunk) {
    this.#reader.feed(chunk, this.#onFrame);
    this.#flush();
  }

  /**
   * @param {Uint8Array} buf
   * @param {number} pos
   * @param {number} size
   */
  #echo(buf, pos, size) {
    if (opCodeAt(buf, pos) !== OP_REQUEST) {
      throw new Error(`Expected a Request, got opCode ${opCodeAt(buf, pos)}`);
    }
    this.#seen++;
    if (this.#outLength + size > this.#out.length) this.#flush();
    this.#outLength = encodeFrame(
      this.#out,
      this.#outLength,
      OP_RESPONSE,
      midAt(buf, pos),
      buf.subarray(pos + HEADER_SIZE, pos + size),
    );
  }

  /**
   * @param {Uint8Array} buf
   * @param {number} pos
   */
  #count(buf, pos) {
    if (opCodeAt(buf, pos) !== OP_REQUEST) {
      throw new Error(`Expected a Request, got opCode ${opCodeAt(buf, pos)}`);
    }
    this.#seen++;
    if (
      (this.#seen === this.#opts.warmup && this.#opts.warmup > 0) || this.#seen === this.#expected
    ) {
      this.#out.set(ACK, this.#outLength);
      this.#outLength += ACK.length;
    }
  }

  #flush() {
    if (this.#outLength === 0) return;
    const pending = this.#link.send(this.#out.subarray(0, this.#outLength));
    // A write still in progress owns the buffer: continue in a fresh one.
    if (pending !== undefined) this.#out = new Uint8Array(this.#out.length);
    this.#outLength = 0;
  }
}

/** The client side: sends, checks every reply, measures. */
export class ClientSession {
  #opts;
  #link;
  #reader = new FrameReader();
  #body;
  #arrived = 0;
  #consumed = 0;
  #expectedMid = 0;
  /** @type {(() => void) | null} */
  #waiter = null;
  #onFrame;

  /**
   * @param {PeerOptions} opts
   * @param {Link} link
   */
  constructor(opts, link) {
    this.#opts = opts;
    this.#link = link;
    this.#body = new Uint8Array(opts.size).fill(0x61);
    this.#onFrame = (
      /** @type {Uint8Array} */ buf,
      /** @type {number} */ pos,
      /** @type {number} */ size,
    ) => this.#reply(buf, pos, size);
  }

  /**
   * Parses a received chunk.
   *
   * @param {Uint8Array} chunk
   * @returns {void}
   */
  onChunk(chunk) {
    this.#reader.feed(chunk, this.#onFrame);
  }

  /**
   * Runs the whole measurement and returns the result to print.
   *
   * @returns {Promise<object>}
   */
  run() {
    return this.#opts.mode === "stream" ? this.#stream() : this.#pingPong();
  }

  /**
   * @param {Uint8Array} buf
   * @param {number} pos
   * @param {number} size
   */
  #reply(buf, pos, size) {
    const op = opCodeAt(buf, pos);
    if (op !== OP_RESPONSE) throw new Error(`Expected a Response, got opCode ${op}`);
    if (this.#opts.mode !== "stream") {
      const mid = midAt(buf, pos);
      if (mid !== this.#expectedMid) {
        throw new Error(`Expected the reply to ${this.#expectedMid}, got ${mid}`);
      }
      if (size !== HEADER_SIZE + this.#opts.size) {
        throw new Error(`Expected a ${this.#opts.size}-byte body, got ${size - HEADER_SIZE}`);
      }
    }
    this.#arrived++;
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      waiter();
    }
  }

  /**
   * The next reply: undefined if it is already here, else a promise.
   *
   * @returns {Promise<void> | undefined}
   */
  #nextReply() {
    if (this.#arrived > this.#consumed) {
      this.#consumed++;
      return undefined;
    }
    return new Promise((resolve) => {
      this.#waiter = () => {
        this.#consumed++;
        resolve();
      };
    });
  }

  async #pingPong() {
    const { warmup, count, mode, rate } = this.#opts;
    const frame = new Uint8Array(HEADER_SIZE + this.#opts.size);
    const latencies = new Float64Array(count);
    const pace = mode === "paced" ? pacer(rate, warmup) : () => undefined;
    let start = performance.now();
    for (let i = 0; i < warmup + count; i++) {
      if (i === warmup) {
        markTimed("start");
        start = performance.now();
      }
      const paced = pace();
      if (paced !== undefined) await paced;
      const t0 = performance.now();
      this.#expectedMid = i + 1;
      encodeFrame(frame, 0, OP_REQUEST, i + 1, this.#body);
      const sent = this.#link.send(frame);
      if (sent !== undefined) await sent;
      const reply = this.#nextReply();
      if (reply !== undefined) await reply;
      if (i >= warmup) latencies[i - warmup] = performance.now() - t0;
    }
    markTimed("end");
    return pingPongResult(latencies, (performance.now() - start) / 1000, mode);
  }

  async #stream() {
    const { warmup, count, size } = this.#opts;
    if (warmup > 0) await this.#streamPhase(warmup, 1);
    markTimed("start");
    const start = performance.now();
    await this.#streamPhase(count, warmup + 1);
    markTimed("end");
    return streamResult(count, size, (performance.now() - start) / 1000);
  }

  /**
   * Writes `n` messages in batches, then waits for the server's acknowledgement.
   *
   * @param {number} n
   * @param {number} firstMid
   */
  async #streamPhase(n, firstMid) {
    const frameBytes = HEADER_SIZE + this.#opts.size;
    const batch = new Uint8Array(Math.max(BATCH_BYTES, frameBytes));
    let mid = firstMid;
    let left = n;
    while (left > 0) {
      let off = 0;
      while (left > 0 && off + frameBytes <= batch.length) {
        off = encodeFrame(batch, off, OP_REQUEST, mid++, this.#body);
        left--;
      }
      const sent = this.#link.send(batch.subarray(0, off));
      if (sent !== undefined) await sent;
    }
    const ack = this.#nextReply();
    if (ack !== undefined) await ack;
  }
}
