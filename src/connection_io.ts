/**
 * Moving frames on an open connection: writing what its outbox holds,
 * reading and handing over complete frames while the pool has messages to
 * receive into, and the pool starvation that pauses reading (spec §3.4,
 * §12, [N5], [N10]).
 *
 * @module
 */

import { AmpeStatus } from "./status.ts";
import { OpCode } from "./opcode.ts";
import { NativeError } from "./native_port.ts";
import { Trigger } from "./triggers.ts";
import { DecodeResult } from "./frame_decoder.ts";
import { FlushResult } from "./outbox.ts";
import { ChannelState, type ConnectionChannel } from "./channel.ts";
import { engineSignal, opCodeOf } from "./engine_messages.ts";
import {
  BYE_ANSWERED,
  type Failure,
  failureOf,
  PEER_CLOSED,
  PEER_SAID_BYE,
  PROTOCOL_ERROR,
} from "./failure.ts";
import { closeChannel } from "./channel_closing.ts";
import { type EngineContext, READ_CHUNK } from "./engine_context.ts";

/** Reads per channel per turn before other channels get their turn. */
const READS_PER_TURN = 8;
/** pool_empty Signals per channel are at least this far apart ([N10]). */
const POOL_EMPTY_INTERVAL_MS = 100;

/** Writes what the outbox holds; completed messages go back to the pool (spec §12). */
export function flush(ctx: EngineContext, ch: ConnectionChannel): void {
  const result = ch.outbox.flush(ctx.native, ch.sock, ctx.sendScratch, ctx.sent);
  if (result === FlushResult.failed) {
    ch.failure ??= failureOf(ch.outbox.failedWith, "io", ctx.native);
    ch.peerGone = true;
    receive(ctx, ch);
    return;
  }
  const wantSend = result === FlushResult.blocked;
  const has = (ch.expected & Trigger.send) !== 0;
  if (wantSend !== has) {
    ch.expected = wantSend ? ch.expected | Trigger.send : ch.expected & ~Trigger.send;
    ctx.touch(ch);
  }
}

/**
 * Reads and hands over complete frames while the pool has messages to
 * receive into (spec §3.4, §12). A peer that is gone is drained first and
 * then closed ([N5]); a protocol violation aborts the channel ([N1]).
 */
export function receive(ctx: EngineContext, ch: ConnectionChannel): void {
  const decoder = ch.decoder;
  const pool = ctx.pool;
  let drained = false;
  for (let reads = 0;;) {
    while (decoder.hasFrame()) {
      const store = pool.get("poolOnly");
      if (store === null) return starve(ctx, ch);
      if (decoder.next(store) === DecodeResult.protocolError) {
        pool.put(store);
        return closeChannel(ctx, ch, PROTOCOL_ERROR);
      }
      store.channelNumber = ch.number;
      ch.noteMid0(store.midHi, store.midLo);
      ch.messagesIn++;
      ctx.deliver(ch, store);
      const op = opCodeOf(store);
      if (op === OpCode.ByeResponse) return closeChannel(ctx, ch, BYE_ANSWERED);
      if (op === OpCode.ByeRequest) ch.peerSaidBye = true;
    }
    if (drained) {
      // A short read took all there was; a level-triggered poller reports
      // the socket again when more arrives, so no extra read that would
      // only say "would block".
      decoder.retain();
      return;
    }
    if (reads === READS_PER_TURN) {
      decoder.retain();
      ctx.moreWork = true;
      return;
    }
    if (pool.idle === 0) {
      pool.get("poolOnly"); // records the refusal, so a later put wakes the engine
      return starve(ctx, ch);
    }
    // Read buffers are shared: whatever the decoder still borrows from one
    // (a partial frame) must be copied out before it is overwritten. Bodies
    // of whole frames borrow the slab read into; with none free, the scratch
    // buffer is read into and bodies are copied.
    decoder.retain();
    const slab = ctx.readSlabs.forRead();
    const buffer = slab === null ? ctx.readScratch : slab.bytes;
    const n = ctx.native.recv(ch.sock, buffer, 0, READ_CHUNK);
    reads++;
    if (n === NativeError.again) {
      if (ch.peerGone) closeChannel(ctx, ch, departure(ch));
      return;
    }
    if (n < 0) ch.failure ??= failureOf(n, "io", ctx.native);
    if (n <= 0) return closeChannel(ctx, ch, departure(ch));
    ch.bytesIn += n;
    decoder.feed(buffer, 0, n, slab);
    // A departing peer is read until the end of its stream ([N5]).
    drained = n < READ_CHUNK && !ch.peerGone;
  }
}

/**
 * Why a connection whose peer left is closed. After a Bye the peer's leaving
 * is the expected end, even as a reset (the side that gets the ByeResponse
 * closes abortively); otherwise what broke it, if anything did.
 */
function departure(ch: ConnectionChannel): Failure {
  if (ch.peerSaidBye || ch.outbox.byeSent) return PEER_SAID_BYE;
  return ch.failure ?? PEER_CLOSED;
}

/** The pool has nothing to receive into: stop reading, tell the app ([N10]). */
function starve(ctx: EngineContext, ch: ConnectionChannel): void {
  ch.decoder.retain();
  if (ch.peerGone) {
    // A starved channel whose peer is gone cannot be drained: close it now.
    closeChannel(ctx, ch, departure(ch));
    return;
  }
  if (!ch.starved) {
    ch.starved = true;
    ctx.starved.add(ch);
    notifyPoolEmpty(ctx, ch);
  }
  ch.expected &= ~Trigger.recv;
  ctx.touch(ch);
}

function notifyPoolEmpty(ctx: EngineContext, ch: ConnectionChannel): void {
  const now = performance.now();
  const wait = ch.lastPoolEmptyAt + POOL_EMPTY_INTERVAL_MS - now;
  if (wait <= 0) {
    ch.lastPoolEmptyAt = now;
    ch.group.poolEmptyNotices++;
    // A new message, not a pooled one: what the pool holds is for receiving.
    const note = ctx.pool.make();
    ctx.deliver(ch, engineSignal(note, AmpeStatus.poolEmpty, ch.number));
    return;
  }
  if (ch.poolEmptyTimer !== undefined) return;
  ch.poolEmptyTimer = setTimeout(() => {
    ch.poolEmptyTimer = undefined;
    if (ch.starved && ch.state === ChannelState.open && ctx.running) notifyPoolEmpty(ctx, ch);
  }, wait);
}

/** Reading resumes on starved channels while the pool has messages to give. */
export function resumeStarved(ctx: EngineContext): void {
  for (const ch of ctx.starved) {
    if (ctx.pool.idle === 0) {
      // Channels are still waiting: record the refusal, so that the next put wakes the engine.
      ctx.pool.get("poolOnly");
      return;
    }
    ctx.starved.delete(ch);
    ch.starved = false;
    if (ch.state !== ChannelState.open) continue;
    ch.expected |= Trigger.recv;
    ctx.touch(ch);
    receive(ctx, ch);
  }
}
