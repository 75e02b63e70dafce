// The send side of a connection (src/outbox.ts), through its public functions: the bytes it writes
// are exactly the frames of the sendable messages in order (checked against encodeFrame), whole
// or cut anywhere by a socket that takes only part; messages complete in order; the Bye rules
// (spec §10.5, [N7]) hold; a failed send gives everything unsent back. Once over a real TCP
// socket of the native library, until the socket is full; otherwise with send functions that
// record the bytes and take at most a given number per call.

import { test } from "node:test";
import assert from "node:assert/strict";
import { NativeError } from "../ffi/mod.ts";
import { setBytes } from "../src/byte_buffer.ts";
import type { MessageStore as Store } from "../src/message_store.ts";
import { MessageStore } from "../src/message_store.ts";
import { OpCode } from "../src/opcode.ts";
import { BATCH_BYTES, FlushResult, Outbox, type SocketWriter } from "../src/outbox.ts";
import { encodeFrame, frameSize, MAX_FRAME_SIZE } from "../src/wire.ts";
import { leakFree, native, tcpPair } from "./_support/native.ts";

const WOULD_BLOCK = -1;

/** A message with `op`, channel `ch`, a text header and a body of `bodySize` bytes from `seed`. */
function store(op: number, ch: number, bodySize: number, seed = ch): Store {
  const s = new MessageStore();
  s.channelNumber = ch;
  s.proto = op;
  s.midLo = ch * 7;
  const headers = new TextEncoder().encode(`n:${ch}\r\n`);
  setBytes(s.headers, headers, 0, headers.length);
  const body = new Uint8Array(bodySize);
  for (let i = 0; i < bodySize; i++) body[i] = (seed * 31 + i * 7) & 0xff;
  setBytes(s.body, body, 0, bodySize);
  return s;
}

/** The frames of `stores`, back to back, as encodeFrame writes them. */
function framesOf(stores: Store[]): Uint8Array {
  const out = new Uint8Array(stores.reduce((n, s) => n + frameSize(s), 0));
  let off = 0;
  for (const s of stores) off = encodeFrame(s, out, off);
  return out;
}

/** Asserts equal bytes, naming the first difference (a 16 MB deepEqual would be unreadable). */
function assertSameBytes(got: Uint8Array, want: Uint8Array): void {
  const n = Math.min(got.length, want.length);
  let i = 0;
  while (i < n && got[i] === want[i]) i++;
  assert.ok(
    i === n && got.length === want.length,
    `bytes differ at ${i} (got ${got.length} bytes, want ${want.length})`,
  );
}

/** Socket calls that record what they are given, taking at most `limit()` bytes per call. */
class Recorder implements SocketWriter {
  readonly #chunks: Uint8Array[] = [];
  calls = 0;
  constructor(readonly limit: () => number) {}

  send(_sock: number, buf: Uint8Array, off: number, len: number): number {
    return this.#take([buf.subarray(off, off + len)]);
  }

  sendv(_sock: number, segs: Int32Array, count: number, slots: readonly Uint8Array[]): number {
    const pieces: Uint8Array[] = [];
    for (let i = 0; i < 3 * count; i += 3) {
      pieces.push(slots[segs[i]!]!.subarray(segs[i + 1]!, segs[i + 1]! + segs[i + 2]!));
    }
    return this.#take(pieces);
  }

  /** Everything recorded, in order. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#chunks.reduce((n, c) => n + c.length, 0));
    let off = 0;
    for (const c of this.#chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }

  #take(pieces: Uint8Array[]): number {
    this.calls++;
    let room = this.limit();
    if (room === 0) return WOULD_BLOCK;
    let taken = 0;
    for (const piece of pieces) {
      const n = Math.min(room, piece.length);
      this.#chunks.push(piece.slice(0, n)); // a copy: the caller may reuse its buffers
      taken += n;
      room -= n;
      if (room === 0) break;
    }
    return taken;
  }
}

function newScratch(): Uint8Array {
  return new Uint8Array(BATCH_BYTES + MAX_FRAME_SIZE);
}

/** Flushes until done, letting the recorder take `limit()` bytes per call; returns completions. */
function flushAll(outbox: Outbox, recorder: Recorder, scratch = newScratch()): Store[] {
  const done: Store[] = [];
  for (let round = 0; round < 1_000_000; round++) {
    const result = outbox.flush(recorder, 0, scratch, (s) => done.push(s));
    assert.notEqual(result, FlushResult.failed);
    if (result === FlushResult.done) return done;
  }
  assert.fail("the outbox never finished");
}

/** Small, gathered (>= 1 KiB) and maximal bodies, mixed. */
function mixedMessages(count: number): Store[] {
  const sizes = [0, 10, 1023, 1024, 5000, 65_535, 200, 30_000];
  return Array.from({ length: count }, (_, i) => store(OpCode.Request, i + 1, sizes[i % 8]!, i));
}

test("everything at once: the bytes are the frames in order, and every message completes", () => {
  const outbox = new Outbox();
  const messages = mixedMessages(40);
  for (const m of messages) outbox.queue.push(m);
  const recorder = new Recorder(() => Infinity);
  const done = flushAll(outbox, recorder);
  assertSameBytes(recorder.bytes(), framesOf(messages));
  assert.deepEqual(done, messages, "completed in order, each once");
  assert.equal(outbox.isEmpty, true);
  assert.ok(recorder.calls < messages.length, `batched: ${recorder.calls} send calls`);
});

for (const limit of [1, 7, 1000, 4096, 70_001]) {
  test(`a socket that takes ${limit} bytes per call, then would block: the same bytes`, () => {
    const outbox = new Outbox();
    const messages = mixedMessages(limit < 100 ? 5 : 40); // byte by byte: ~7 KB
    for (const m of messages) outbox.queue.push(m);
    let blockNext = false;
    // Alternate: a partial write, then "would block" (the carry must survive it).
    const recorder = new Recorder(() => {
      blockNext = !blockNext;
      return blockNext ? limit : 0;
    });
    const done = flushAll(outbox, recorder);
    assertSameBytes(recorder.bytes(), framesOf(messages));
    assert.deepEqual(done, messages);
    assert.equal(outbox.isEmpty, true);
  });
}

test("a message completes only once its last byte is written", () => {
  const outbox = new Outbox();
  const [a, b] = [store(OpCode.Request, 1, 100), store(OpCode.Request, 2, 100)];
  outbox.queue.push(a!);
  outbox.queue.push(b!);
  const sizeA = frameSize(a!);
  let allowed = sizeA - 1;
  const recorder = new Recorder(() => {
    const n = allowed;
    allowed = 0;
    return n;
  });
  const scratch = newScratch();
  const done: Store[] = [];
  const flush = () => outbox.flush(recorder, 0, scratch, (s) => done.push(s));
  assert.equal(flush(), FlushResult.blocked);
  assert.deepEqual(done, [], "one byte of the first frame is missing");
  allowed = 1;
  assert.equal(flush(), FlushResult.blocked);
  assert.deepEqual(done, [a], "the first frame is complete");
  allowed = Infinity;
  assert.equal(flush(), FlushResult.done);
  assert.deepEqual(done, [a, b]);
  assertSameBytes(recorder.bytes(), framesOf([a!, b!]));
});

test("after an own ByeRequest only a ByeResponse goes out; after that, nothing", () => {
  const outbox = new Outbox();
  const request = store(OpCode.Request, 1, 10);
  const bye = store(OpCode.ByeRequest, 2, 0);
  const held = store(OpCode.Request, 3, 10);
  const byeResponse = store(OpCode.ByeResponse, 4, 0);
  const after = store(OpCode.Signal, 5, 10);
  for (const m of [request, bye, held, byeResponse, after]) outbox.queue.push(m);
  const recorder = new Recorder(() => Infinity);
  const done = flushAll(outbox, recorder);
  assertSameBytes(recorder.bytes(), framesOf([request, bye, byeResponse]));
  assert.deepEqual(done, [request, bye, byeResponse]);
  assert.equal(outbox.isEmpty, false, "two messages are held");
  assert.deepEqual(outbox.takeUnsent(), [held, after], "held messages come back in order");
  assert.equal(outbox.isEmpty, true);
});

test("after an own ByeResponse nothing more is sent", () => {
  const outbox = new Outbox();
  const byeResponse = store(OpCode.ByeResponse, 1, 0);
  const late = store(OpCode.ByeRequest, 2, 0);
  outbox.queue.push(byeResponse);
  outbox.queue.push(late);
  const recorder = new Recorder(() => Infinity);
  assert.deepEqual(flushAll(outbox, recorder), [byeResponse]);
  assertSameBytes(recorder.bytes(), framesOf([byeResponse]));
  assert.deepEqual(outbox.takeUnsent(), [late]);
});

test("a failed gather send: failed, and every message comes back, oldest first", () => {
  const outbox = new Outbox();
  const messages = mixedMessages(6);
  for (const m of messages) outbox.queue.push(m);
  const fail = () => NativeError.connReset;
  const done: Store[] = [];
  assert.equal(
    outbox.flush({ send: fail, sendv: fail }, 0, newScratch(), (s) => done.push(s)),
    FlushResult.failed,
  );
  assert.deepEqual(done, []);
  assert.equal(outbox.failedWith, NativeError.connReset, "the failed call's code is kept");
  assert.deepEqual(outbox.takeUnsent(), messages);
  assert.equal(outbox.isEmpty, true);
});

test("a failed send of the kept bytes: what was written completes, the rest comes back", () => {
  const outbox = new Outbox();
  const messages = mixedMessages(6);
  for (const m of messages) outbox.queue.push(m);
  // The first call takes the first frame and 3 bytes of the second; the rest is kept.
  const recorder = new Recorder(() => frameSize(messages[0]!) + 3);
  const done: Store[] = [];
  const scratch = newScratch();
  const fail = () => NativeError.connReset;
  let result = outbox.flush(recorder, 0, scratch, (s) => done.push(s));
  assert.equal(result, FlushResult.blocked);
  assert.deepEqual(done, [messages[0]]);
  const later = store(OpCode.Request, 99, 10);
  outbox.queue.push(later);
  const failFirst: SocketWriter = { send: fail, sendv: (...a) => recorder.sendv(...a) };
  result = outbox.flush(failFirst, 0, scratch, (s) => done.push(s));
  assert.equal(result, FlushResult.failed);
  assert.deepEqual(done, [messages[0]]);
  assert.deepEqual(outbox.takeUnsent(), [...messages.slice(1), later], "in flight, then queued");
  assert.equal(outbox.isEmpty, true);
});

test(
  "over a real TCP socket until it is full: the peer reads exactly the frames, in order",
  leakFree(async (scope) => {
    const { client, server } = await tcpPair(scope);
    const outbox = new Outbox();
    // 16 MiB: more than the loopback socket buffers hold, so the outbox must meet "would block".
    const messages = Array.from({ length: 256 }, (_, i) => store(OpCode.Request, i + 1, 65_535, i));
    messages.splice(100, 0, ...mixedMessages(30));
    for (const m of messages) outbox.queue.push(m);
    const want = framesOf(messages);
    const got = new Uint8Array(want.length);
    let read = 0;
    const scratch = newScratch();
    const done: Store[] = [];
    let blocked = 0;
    let result: FlushResult = FlushResult.blocked;
    for (let round = 0; read < want.length; round++) {
      assert.ok(round < 1_000_000, `stuck after ${read} of ${want.length} bytes`);
      if (result !== FlushResult.done) {
        result = outbox.flush(native, client, scratch, (s) => done.push(s));
        assert.notEqual(result, FlushResult.failed, "the send failed");
        if (result === FlushResult.blocked) blocked++;
      }
      const n = native.recv(server, got, read, Math.min(got.length - read, 1 << 20));
      if (n === NativeError.again) await new Promise((resolve) => setTimeout(resolve, 0));
      else {
        assert.ok(n > 0, `recv gave ${n}`);
        read += n;
      }
    }
    assert.equal(result, FlushResult.done);
    assert.ok(blocked > 0, "the socket never filled up: the partial-write path was not met");
    assertSameBytes(got, want);
    assert.deepEqual(done, messages);
    assert.equal(outbox.isEmpty, true);
  }),
);
