/**
 * Codec benchmark: frames per second of the full wire codec (encodeFrame into
 * one send buffer, then FrameDecoder fed in 64 KiB reads into one pooled
 * store) against a plain DataView loop that only parses each 16-byte header.
 *
 * Run: `deno run scripts/bench/codec.ts` or `bun scripts/bench/codec.ts`
 * (optional argument: seconds per measurement, default 1).
 *
 * @module
 */

import { setBytes } from "../../src/byte_buffer.ts";
import { DecodeResult, FrameDecoder } from "../../src/frame_decoder.ts";
import { MessageStore } from "../../src/message_store.ts";
import { encodeFrame, frameSize } from "../../src/wire.ts";
import { viewOf } from "../../src/byte_buffer.ts";

const READ_SIZE = 64 * 1024;
const STREAM_SIZE = 1024 * 1024;
const BODY_SIZES = [64, 4096];

const g = globalThis as {
  Deno?: { version: { deno: string }; args: string[] };
  Bun?: { version: string; argv: string[] };
};
const runtime = g.Deno ? `deno ${g.Deno.version.deno}` : g.Bun ? `bun ${g.Bun.version}` : "?";
const args = g.Deno?.args ?? g.Bun?.argv.slice(2) ?? [];
const seconds = Number(args[0] ?? 1);

function message(bodySize: number): MessageStore {
  const s = new MessageStore();
  s.channelNumber = 0x1234;
  s.proto = 0x02;
  s.midHi = 1;
  s.midLo = 2;
  const body = new Uint8Array(bodySize).map((_, i) => i);
  setBytes(s.body, body, 0, body.length);
  return s;
}

/** Runs `round` (which handles `framesPerRound` frames) for about `seconds`; frames per second. */
function measure(framesPerRound: number, round: () => number): number {
  let sink = 0;
  const warmUntil = performance.now() + 300;
  while (performance.now() < warmUntil) sink += round();
  let rounds = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let now = start;
  while (now < end) {
    sink += round();
    rounds++;
    now = performance.now();
  }
  if (sink === -1) console.log("unreachable"); // keeps the work observable
  return (rounds * framesPerRound) / ((now - start) / 1000);
}

function encodeAll(src: MessageStore, wire: Uint8Array, frames: number): number {
  const view = viewOf(wire); // as the engine's outbox does: one view per batch
  let off = 0;
  for (let i = 0; i < frames; i++) off = encodeFrame(src, wire, off, view);
  return off;
}

function decodeAll(d: FrameDecoder, store: MessageStore, wire: Uint8Array, size: number): number {
  let n = 0;
  for (let pos = 0; pos < size; pos += READ_SIZE) {
    d.feed(wire, pos, Math.min(READ_SIZE, size - pos));
    while (d.hasFrame()) {
      if (d.next(store) !== DecodeResult.frame) throw new Error("Unexpected decode result");
      n++;
    }
    d.retain();
  }
  return n;
}

function headerOnly(view: DataView, size: number): number {
  let sum = 0;
  let pos = 0;
  while (pos < size) {
    const thl = view.getUint16(pos + 12);
    const bl = view.getUint16(pos + 14);
    sum += view.getUint16(pos) + view.getUint8(pos + 2) + view.getUint8(pos + 3) +
      view.getUint32(pos + 4) + view.getUint32(pos + 8) + thl + bl;
    pos += 16 + thl + bl;
  }
  return sum;
}

function fmt(fps: number): string {
  return `${(fps / 1e6).toFixed(2)} M/s`.padStart(11);
}

console.log(
  `codec benchmark on ${runtime}; ${seconds} s per measurement, ${READ_SIZE / 1024} KiB reads`,
);
console.log(
  "message      header-only     encode     decode  enc+dec  ratio(enc+dec / header-only)",
);
for (const bodySize of BODY_SIZES) {
  const src = message(bodySize);
  const frames = Math.floor(STREAM_SIZE / frameSize(src));
  const wire = new Uint8Array(frames * frameSize(src));
  const size = encodeAll(src, wire, frames);
  const view = new DataView(wire.buffer);
  const decoder = new FrameDecoder();
  const store = new MessageStore();
  // The decoder must reproduce the message; check once before timing.
  decodeAll(decoder, store, wire, frameSize(src));
  if (
    store.body.length !== bodySize ||
    store.body.bytes[bodySize - 1] !== src.body.bytes[bodySize - 1]
  ) {
    throw new Error("Decoded message differs from the encoded one");
  }

  const base = measure(frames, () => headerOnly(view, size));
  const enc = measure(frames, () => encodeAll(src, wire, frames));
  const dec = measure(frames, () => decodeAll(decoder, store, wire, size));
  const both = measure(frames, () => {
    encodeAll(src, wire, frames);
    return decodeAll(decoder, store, wire, size);
  });
  const label = `${bodySize} B body`.padEnd(12);
  console.log(
    `${label}${fmt(base)} ${fmt(enc)} ${fmt(dec)} ${fmt(both)}  ${(both / base).toFixed(3)}x`,
  );
}
