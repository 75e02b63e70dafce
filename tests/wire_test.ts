// Wire codec: golden vectors (spec §3, S-003, S-102..S-108 at the codec level), the streaming
// decoder's contract (feed / hasFrame / next / retain), and seeded property tests.
// Reproduce a property failure with TOFU_SEED=<printed seed>.
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { BinaryHeader } from "../src/binary_header.ts";
import { copyViewed, newByteBuffer, setBytes, setViewed, viewOf } from "../src/byte_buffer.ts";
import { DecodeResult, FrameDecoder } from "../src/frame_decoder.ts";
import { MessageStore } from "../src/message_store.ts";
import { OpCode } from "../src/opcode.ts";
import { AmpeStatus } from "../src/status.ts";
import {
  encodeFrame,
  encodeHeader,
  frameSize,
  HEADER_SIZE,
  MAX_FRAME_SIZE,
  MAX_SECTION_SIZE,
} from "../src/wire.ts";

const utf8 = new TextEncoder();

interface Spec {
  ch?: number;
  proto?: number;
  status?: number;
  midHi?: number;
  midLo?: number;
  headers?: Uint8Array | string;
  body?: Uint8Array | string;
}

function bytesOf(x: Uint8Array | string | undefined): Uint8Array {
  return typeof x === "string" ? utf8.encode(x) : x ?? new Uint8Array(0);
}

function storeFrom(spec: Spec): MessageStore {
  const s = new MessageStore();
  s.channelNumber = spec.ch ?? 0;
  s.proto = spec.proto ?? 0;
  s.status = spec.status ?? 0;
  s.midHi = spec.midHi ?? 0;
  s.midLo = spec.midLo ?? 0;
  const h = bytesOf(spec.headers);
  const b = bytesOf(spec.body);
  setBytes(s.headers, h, 0, h.length);
  setBytes(s.body, b, 0, b.length);
  return s;
}

function encode(...stores: MessageStore[]): Uint8Array {
  const out = new Uint8Array(stores.reduce((n, s) => n + frameSize(s), 0));
  let off = 0;
  for (const s of stores) off = encodeFrame(s, out, off);
  assert.equal(off, out.length);
  return out;
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** The store as the receiver must see it: origin cleared, everything else as sent. */
function expectedView(s: MessageStore): unknown[] {
  return [
    s.channelNumber,
    s.proto & ~0x10,
    s.status,
    s.midHi,
    s.midLo,
    hex(s.headers.bytes.subarray(0, s.headers.length)),
    hex(s.body.bytes.subarray(0, s.body.length)),
  ];
}

function view(s: MessageStore): unknown[] {
  return [
    s.channelNumber,
    s.proto,
    s.status,
    s.midHi,
    s.midLo,
    hex(s.headers.bytes.subarray(0, s.headers.length)),
    hex(s.body.bytes.subarray(0, s.body.length)),
  ];
}

/** Feeds the whole of `bytes` at once and collects every frame. */
function decodeAll(bytes: Uint8Array): MessageStore[] {
  const d = new FrameDecoder();
  d.feed(bytes, 0, bytes.length);
  const out: MessageStore[] = [];
  while (d.hasFrame()) {
    const s = new MessageStore();
    assert.equal(d.next(s), DecodeResult.frame);
    out.push(s);
  }
  return out;
}

// ---------------------------------------------------------------- golden vectors

test("S-003: the pinned binary header bytes and field-by-field round trip", () => {
  const out = new Uint8Array(16);
  encodeHeader(out, 0, 0x1234, 0x00, 0xff, 0xaabbccdd, 0xeeff0011, 0x5678, 0x9abc);
  assert.equal(hex(out), "12 34 00 ff aa bb cc dd ee ff 00 11 56 78 9a bc");
  const h = BinaryHeader.fromBytes(out);
  assert.equal(h.channelNumber, 0x1234);
  assert.equal(h.proto.opCode, OpCode.Request);
  assert.equal(h.proto.origin, 0);
  assert.equal(h.proto.more, 0);
  assert.equal(h.rawStatus, 0xff);
  assert.equal(h.status, AmpeStatus.unknownError);
  assert.equal(h.messageId, 0xAABBCCDDEEFF0011n);
  assert.equal(h.thl, 0x5678);
  assert.equal(h.bl, 0x9abc);
  assert.deepEqual(h.toBytes(), out);
});

test("S-102: a HelloRequest frame with headers and body is exactly 23 bytes", () => {
  const s = storeFrom({ ch: 0x0102, proto: 0x03, midLo: 0x777, headers: "k:v\r\n", body: "hi" });
  assert.equal(frameSize(s), 23);
  assert.equal(
    hex(encode(s)),
    "01 02 03 00 00 00 00 00 00 00 07 77 00 05 00 02 6b 3a 76 0d 0a 68 69",
  );
});

test("frames with and without text headers and body", () => {
  const cases: [Spec, string][] = [
    [{ ch: 1, proto: 2 }, "00 01 02 00 00 00 00 00 00 00 00 00 00 00 00 00"],
    [
      { ch: 1, headers: "a:b\r\n" },
      "00 01 00 00 00 00 00 00 00 00 00 00 00 05 00 00 61 3a 62 0d 0a",
    ],
    [{ ch: 1, body: "xy" }, "00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 02 78 79"],
    [
      { ch: 1, headers: "a:b\r\n", body: "xy" },
      "00 01 00 00 00 00 00 00 00 00 00 00 00 05 00 02 61 3a 62 0d 0a 78 79",
    ],
  ];
  for (const [spec, wire] of cases) {
    const s = storeFrom(spec);
    const bytes = encode(s);
    assert.equal(hex(bytes), wire);
    const [back] = decodeAll(bytes);
    assert.ok(back !== undefined);
    assert.deepEqual(view(back), expectedView(s));
  }
});

test("every opCode travels in the low nibble of byte 2", () => {
  for (let op = 0; op <= 9; op++) {
    const s = storeFrom({ ch: 7, proto: op, midLo: op + 1 });
    const bytes = encode(s);
    assert.equal(bytes[2], op);
    const [back] = decodeAll(bytes);
    assert.equal(back?.proto, op);
  }
});

test("more, oob and bit 7 survive the trip; origin is forced to application ([N2])", () => {
  for (let bits = 0; bits < 16; bits++) {
    const proto = OpCode.Signal | (bits << 4); // origin 0x10, more 0x20, oob 0x40, bit7 0x80
    const s = storeFrom({ ch: 3, proto, status: 22, midLo: 5 });
    const bytes = encode(s);
    assert.equal(bytes[2], proto);
    const [back] = decodeAll(bytes);
    assert.equal(back?.proto, proto & ~0x10);
    assert.equal(back?.status, 22);
  }
});

test("S-107 (codec part): a forged engine-origin Signal arrives from the application", () => {
  const bytes = encode(storeFrom({ ch: 1, proto: 0x12, status: 22, midLo: 5 }));
  const [back] = decodeAll(bytes);
  assert.deepEqual(view(back ?? new MessageStore()), [1, 0x02, 22, 0, 5, "", ""]);
});

test("message ids over the full u64 range are written big-endian", () => {
  const ids = [
    0n,
    1n,
    0xffff_ffffn,
    0x1_0000_0000n,
    2n ** 53n + 1n,
    0xAABBCCDDEEFF0011n,
    2n ** 64n - 1n,
  ];
  for (const id of ids) {
    const s = storeFrom({ ch: 1, midHi: Number(id >> 32n), midLo: Number(id & 0xffff_ffffn) });
    const bytes = encode(s);
    let wire = 0n;
    for (let i = 4; i < 12; i++) wire = (wire << 8n) | BigInt(bytes[i] as number);
    assert.equal(wire, id);
    assert.equal(BinaryHeader.fromBytes(bytes).messageId, id);
    const [back] = decodeAll(bytes);
    assert.deepEqual([back?.midHi, back?.midLo], [s.midHi, s.midLo]);
  }
});

test("the largest frame is 131086 bytes and round-trips", () => {
  const s = storeFrom({
    ch: 9,
    headers: new Uint8Array(MAX_SECTION_SIZE).fill(0x41),
    body: new Uint8Array(MAX_SECTION_SIZE).fill(0x42),
  });
  assert.equal(frameSize(s), MAX_FRAME_SIZE);
  assert.equal(MAX_FRAME_SIZE, 131086);
  const bytes = encode(s);
  assert.equal(hex(bytes.subarray(12, 16)), "ff ff ff ff");
  const [back] = decodeAll(bytes);
  assert.deepEqual(view(back ?? new MessageStore()), expectedView(s));
});

test("encodeFrame refuses a buffer without room and oversized sections", () => {
  const s = storeFrom({ ch: 1, body: "abc" });
  assert.throws(() => encodeFrame(s, new Uint8Array(18), 0), RangeError);
  assert.throws(() => encodeFrame(s, new Uint8Array(40), 30), RangeError);
  assert.equal(encodeFrame(s, new Uint8Array(40), 21), 40);
  const big = new MessageStore();
  setBytes(big.body, new Uint8Array(65536), 0, 65536);
  assert.throws(() => encodeFrame(big, new Uint8Array(70000), 0), { name: "AmpeError", status: 8 });
});

// ---------------------------------------------------------------- decoder contract

test("S-104: a frame fed one byte at a time yields exactly one message", () => {
  const s = storeFrom({ ch: 0x0102, proto: 0x03, midLo: 0x777, headers: "k:v\r\n", body: "hi" });
  const bytes = encode(s);
  const d = new FrameDecoder();
  const scratch = new Uint8Array(1);
  const got: MessageStore[] = [];
  for (const byte of bytes) {
    scratch[0] = byte;
    d.feed(scratch, 0, 1);
    while (d.hasFrame()) {
      const out = new MessageStore();
      assert.equal(d.next(out), DecodeResult.frame);
      got.push(out);
    }
    d.retain();
    scratch[0] = 0xee; // the engine reuses its read buffer
  }
  assert.equal(got.length, 1);
  assert.deepEqual(view(got[0] ?? new MessageStore()), expectedView(s));
  assert.equal(d.buffered, 0);
});

test("S-105: coalesced frames come out in order from one feed", () => {
  const frames = [
    storeFrom({ ch: 1, proto: OpCode.HelloRequest, midLo: 9, headers: "~connect_to:tcp|h|1\r\n" }),
    storeFrom({ ch: 1, midLo: 1, body: "one" }),
    storeFrom({ ch: 1, midLo: 2, body: "two" }),
  ];
  const got = decodeAll(encode(...frames));
  assert.deepEqual(got.map(view), frames.map(expectedView));
});

test("next without a complete frame is incomplete and leaves the store alone", () => {
  const d = new FrameDecoder();
  const bytes = encode(storeFrom({ ch: 1, body: "abc" }));
  d.feed(bytes, 0, 18);
  const s = storeFrom({ ch: 42, body: "keep" });
  assert.equal(d.hasFrame(), false);
  assert.equal(d.next(s), DecodeResult.incomplete);
  assert.deepEqual(view(s), view(storeFrom({ ch: 42, body: "keep" })));
  assert.equal(new FrameDecoder().next(s), DecodeResult.incomplete);
});

test("the decoder never reads past a frame: the rest stays buffered", () => {
  const a = encode(storeFrom({ ch: 1, body: "abc" }));
  const stream = new Uint8Array(a.length + 7);
  stream.set(a);
  stream.set([0, 2, 0, 0, 0, 0, 0], a.length);
  const d = new FrameDecoder();
  d.feed(stream, 0, stream.length);
  assert.equal(d.next(new MessageStore()), DecodeResult.frame);
  assert.equal(d.buffered, 7);
  assert.equal(d.hasFrame(), false);
});

test("frames left for lack of a store survive retain() and come out in order", () => {
  const frames = Array.from({ length: 5 }, (_, i) => storeFrom({ ch: 1, midLo: i, body: `m${i}` }));
  const bytes = encode(...frames);
  const scratch = new Uint8Array(bytes.length);
  scratch.set(bytes);
  const d = new FrameDecoder();
  d.feed(scratch, 0, 50); // two whole frames and a part of the third
  const got: MessageStore[] = [];
  const take = () => {
    const s = new MessageStore();
    assert.equal(d.next(s), DecodeResult.frame);
    got.push(s);
  };
  take(); // then the pool "runs out"
  d.retain();
  scratch.fill(0xee);
  assert.equal(d.buffered, 50 - 18);
  scratch.set(bytes.subarray(50));
  d.feed(scratch, 0, bytes.length - 50);
  while (d.hasFrame()) take();
  assert.deepEqual(got.map(view), frames.map(expectedView));
  assert.equal(d.buffered, 0);
});

test("feed retains leftover input of the previous feed by itself", () => {
  const bytes = encode(storeFrom({ ch: 1, body: "abc" }), storeFrom({ ch: 2, body: "de" }));
  const d = new FrameDecoder();
  d.feed(bytes, 0, 10);
  d.feed(bytes, 10, bytes.length - 10); // no retain() in between: the first buffer is intact
  assert.deepEqual(decodeRest(d).map((s) => s.channelNumber), [1, 2]);
});

function decodeRest(d: FrameDecoder): MessageStore[] {
  const out: MessageStore[] = [];
  while (d.hasFrame()) {
    const s = new MessageStore();
    assert.equal(d.next(s), DecodeResult.frame);
    out.push(s);
  }
  return out;
}

test("S-106 (codec part): opCode 12 is a protocol error; frames before it are delivered", () => {
  const good = storeFrom({ ch: 1, midLo: 1, body: "ok" });
  const bad = storeFrom({ ch: 1, proto: 0x1c, status: 3, midLo: 9 });
  const bytes = encode(good, bad, storeFrom({ ch: 1, midLo: 2 }));
  const d = new FrameDecoder();
  d.feed(bytes, 0, bytes.length);
  const first = new MessageStore();
  assert.equal(d.next(first), DecodeResult.frame);
  assert.deepEqual(view(first), expectedView(good));
  assert.equal(d.hasFrame(), true);
  const diag = new MessageStore();
  assert.equal(d.next(diag), DecodeResult.protocolError);
  assert.equal(d.failed, true);
  assert.deepEqual([diag.channelNumber, diag.proto, diag.status, diag.midLo], [1, 0x1c, 3, 9]);
  assert.equal(diag.body.length, 0);
  // It stays failed: new input is ignored and next keeps reporting the error.
  const held = d.buffered;
  d.feed(bytes, 0, bytes.length);
  assert.equal(d.buffered, held);
  assert.equal(d.hasFrame(), true);
  assert.equal(d.next(new MessageStore()), DecodeResult.protocolError);
  d.reset();
  assert.equal(d.failed, false);
  assert.equal(d.buffered, 0);
  assert.equal(d.hasFrame(), false);
});

test("an invalid opCode is reported as soon as its 16-byte header is in, before thl+bl bytes", () => {
  const bytes = new Uint8Array(16);
  encodeHeader(bytes, 0, 1, 0x0f, 0, 0, 1, 100, 100);
  const d = new FrameDecoder();
  d.feed(bytes, 0, 15);
  assert.equal(d.hasFrame(), false);
  d.retain();
  d.feed(bytes, 15, 1);
  assert.equal(d.hasFrame(), true);
  assert.equal(d.next(new MessageStore()), DecodeResult.protocolError);
});

test("feed rejects a range outside the buffer", () => {
  const d = new FrameDecoder();
  assert.throws(() => d.feed(new Uint8Array(4), 2, 3), RangeError);
  assert.throws(() => d.feed(new Uint8Array(4), -1, 1), RangeError);
});

// ---------------------------------------------------------------- properties

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.TOFU_SEED ?? Math.floor(Math.random() * 2 ** 32));
console.log(`wire_test seed ${SEED} (rerun with TOFU_SEED=${SEED})`);

function randomBytes(rand: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (rand() * 256) | 0;
  return b;
}

// Mostly empty or small sections, sometimes large ones up to the limit.
function randomSectionSize(rand: () => number): number {
  const r = rand();
  if (r < 0.3) return 0;
  if (r < 0.8) return (rand() * 64) | 0;
  if (r < 0.97) return (rand() * 4096) | 0;
  return (rand() * (MAX_SECTION_SIZE + 1)) | 0;
}

function randomStore(rand: () => number): MessageStore {
  const s = new MessageStore();
  s.channelNumber = (rand() * 65536) | 0;
  s.proto = ((rand() * 10) | 0) | (((rand() * 16) | 0) << 4);
  s.status = (rand() * 256) | 0;
  s.midHi = (rand() * 2 ** 32) >>> 0;
  s.midLo = (rand() * 2 ** 32) >>> 0;
  const h = randomBytes(rand, randomSectionSize(rand));
  const b = randomBytes(rand, randomSectionSize(rand));
  setBytes(s.headers, h, 0, h.length);
  setBytes(s.body, b, 0, b.length);
  return s;
}

function randomChunk(rand: () => number): number {
  const r = rand();
  if (r < 0.3) return 1 + ((rand() * 20) | 0);
  if (r < 0.8) return 1 + ((rand() * 2000) | 0);
  return 1 + ((rand() * 128 * 1024) | 0);
}

test("property: random messages through random chunkings of a shared read buffer come back identical", () => {
  const rand = mulberry32(SEED);
  const scratch = new Uint8Array(128 * 1024);
  const reused = new MessageStore(); // like a pooled store: buffers are reused frame after frame
  for (let round = 0; round < 12; round++) {
    const stores = Array.from({ length: 60 }, () => randomStore(rand));
    const stream = encode(...stores);
    const expected = stores.map(expectedView);
    const d = new FrameDecoder();
    let received = 0;
    let consumed = 0;
    const takeOne = () => {
      assert.equal(d.next(reused), DecodeResult.frame);
      consumed += frameSize(reused);
      assert.deepEqual(
        view(reused),
        expected[received],
        `seed ${SEED} round ${round} frame ${received}`,
      );
      received++;
    };
    let pos = 0;
    while (pos < stream.length) {
      const len = Math.min(randomChunk(rand), stream.length - pos);
      const off = (rand() * (scratch.length - len + 1)) | 0;
      scratch.set(stream.subarray(pos, pos + len), off);
      pos += len;
      d.feed(scratch, off, len);
      // Sometimes the pool runs dry and frames wait in the decoder.
      const budget = rand() < 0.2 ? (rand() * 3) | 0 : Infinity;
      for (let n = 0; n < budget && d.hasFrame(); n++) takeOne();
      d.retain();
      scratch.fill(0xee, off, off + len); // the engine reads the next chunk over it
      assert.equal(d.buffered, pos - consumed, `seed ${SEED} round ${round}`);
    }
    while (d.hasFrame()) takeOne();
    assert.equal(received, stores.length, `seed ${SEED} round ${round}`);
    assert.equal(d.buffered, 0);
  }
});

// A stream of random frames with valid opCodes, random garbage, or frames with bad opCodes.
function randomStream(rand: () => number): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  while (total < 200_000) {
    const r = rand();
    let part: Uint8Array;
    if (r < 0.6) part = encode(randomStore(rand));
    else if (r < 0.9) part = randomBytes(rand, 1 + ((rand() * 64) | 0));
    else {
      part = new Uint8Array(16 + ((rand() * 8) | 0));
      encodeHeader(part, 0, 1, 10 + ((rand() * 6) | 0), 0, 0, 0, 0, 0);
    }
    parts.push(part);
    total += part.length;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

test("property: random byte streams give frames or a protocol error, bounded memory, no other outcome", () => {
  const rand = mulberry32(SEED ^ 0x5bd1e995);
  const scratch = new Uint8Array(128 * 1024);
  const store = new MessageStore();
  let errors = 0;
  let frames = 0;
  for (let round = 0; round < 20; round++) {
    const stream = round % 2 === 0 ? randomStream(rand) : randomBytes(rand, 100_000);
    const d = new FrameDecoder();
    let consumed = 0;
    let pos = 0;
    while (pos < stream.length) {
      const len = Math.min(randomChunk(rand), stream.length - pos);
      scratch.set(stream.subarray(pos, pos + len), 0);
      pos += len;
      d.feed(scratch, 0, len);
      let steps = 0;
      while (d.hasFrame() && !d.failed) {
        assert.ok(++steps <= len / HEADER_SIZE + 2, "more frames than the input can hold");
        const before = d.buffered;
        const result = d.next(store);
        if (result === DecodeResult.frame) {
          frames++;
          consumed += before - d.buffered;
          assert.equal(before - d.buffered, frameSize(store));
          assert.equal(store.proto & 0x10, 0);
        } else {
          assert.equal(result, DecodeResult.protocolError, `seed ${SEED} round ${round}`);
          assert.ok((store.proto & 0x0f) > 9);
        }
      }
      d.retain();
      if (d.failed) {
        errors++;
        break;
      }
      // Only a partial frame may stay behind: no hoarding.
      assert.ok(d.buffered < MAX_FRAME_SIZE, `buffered ${d.buffered}, seed ${SEED}`);
      assert.equal(consumed + d.buffered, pos, `seed ${SEED} round ${round}`);
    }
  }
  assert.ok(errors > 0 && frames > 0, `seed ${SEED}: errors ${errors}, frames ${frames}`);
});

test("copyViewed and setViewed copy exactly the asked bytes at every length and offset", () => {
  // The word path (up to 64 bytes), the whole-array path and the view path all land here.
  const src = new Uint8Array(300);
  for (let i = 0; i < src.length; i++) src[i] = (i * 37 + 11) & 0xff;
  const srcView = viewOf(src);
  for (const srcOff of [0, 1, 3, 7]) {
    for (let len = 0; len <= 140; len++) {
      const dst = new Uint8Array(160).fill(0xee);
      const dstOff = (len * 5 + srcOff) % 13;
      copyViewed(src, srcView, srcOff, dst, viewOf(dst), dstOff, len);
      for (let i = 0; i < dst.length; i++) {
        const want = i >= dstOff && i < dstOff + len ? src[srcOff + i - dstOff] : 0xee;
        if (dst[i] !== want) {
          assert.fail(`srcOff ${srcOff}, len ${len}: byte ${i} is ${dst[i]}, want ${want}`);
        }
      }
      const buf = newByteBuffer();
      setViewed(buf, src, srcView, srcOff, len);
      assert.equal(buf.length, len);
      assert.deepEqual(buf.bytes.subarray(0, len), src.subarray(srcOff, srcOff + len));
    }
  }
  // A whole source array, small and large.
  for (const len of [20, 64, 100]) {
    const whole = src.slice(0, len);
    const dst = new Uint8Array(len + 3);
    copyViewed(whole, viewOf(whole), 0, dst, viewOf(dst), 3, len);
    assert.deepEqual(dst.subarray(3), whole);
  }
});

test("a ByteBuffer's view follows its storage when it grows", () => {
  const buf = newByteBuffer();
  const big = new Uint8Array(1000).fill(9);
  setViewed(buf, big, viewOf(big), 0, 1000);
  assert.equal(buf.view.byteLength, buf.bytes.length);
  assert.equal(buf.view.buffer, buf.bytes.buffer);
  assert.equal(buf.view.getUint8(999), 9);
});
