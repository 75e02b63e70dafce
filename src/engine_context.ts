/**
 * What the engine's parts share: the native library, the poller, the pool,
 * the channel table, the buffers, and the lists a turn fills (channels to
 * flush, to reconcile, waiting for the pool). The loop (`engine.ts`) owns
 * it; the channel parts (`channel_opening.ts`, `connection_io.ts`,
 * `channel_closing.ts`) are functions over it.
 *
 * @module
 */

import type { MessageStore } from "./message_store.ts";
import type { Native } from "./native_port.ts";
import type { PollerCore } from "./poller_core.ts";
import type { Pool } from "./pool.ts";
import type { AmpeStatus } from "./status.ts";
import { MAX_FRAME_SIZE } from "./wire.ts";
import { BATCH_BYTES } from "./outbox.ts";
import { ChannelNumbers } from "./channel_numbers.ts";
import type { Channel, ConnectionChannel } from "./channel.ts";
import { ReadSlabs } from "./read_slabs.ts";
import { handBack } from "./engine_messages.ts";

/** Bytes read per recv call: at most one maximal frame, so a starved channel holds at most that much. */
export const READ_CHUNK = 128 * 1024;
/**
 * Read buffers that received bodies may borrow (zero-copy receive): at most
 * this many per engine (2 MiB); when all are lent, reads go to the scratch
 * buffer and bodies are copied.
 */
const READ_SLABS = 16;
/** Connections accepted per accept call. */
export const ACCEPT_BATCH = 64;

/** The state the engine's parts share. */
export class EngineContext {
  readonly native: Native;
  readonly core: PollerCore;
  readonly pool: Pool;
  /** The longest UDS path this OS takes. */
  readonly udsPathLimit: number;
  readonly numbers: ChannelNumbers = new ChannelNumbers();
  readonly channels: Map<number, Channel> = new Map();

  /** Channels that got posts this turn (each once: `ConnectionChannel.flushQueued`). */
  readonly toFlush: ConnectionChannel[] = [];
  /** Channels whose interest may have changed this turn (each once: `Channel.touched`). */
  readonly touched: Channel[] = [];
  /** Connections waiting for the pool to give them a message to receive into. */
  readonly starved: Set<ConnectionChannel> = new Set();
  /** A channel stopped early to let others run: turn again soon instead of parking. */
  moreWork = false;
  /** False once the engine is being destroyed: late callbacks do nothing. */
  running = true;
  /** Asks the engine for a turn (a microtask). */
  readonly schedule: () => void;

  readonly readScratch: Uint8Array = new Uint8Array(READ_CHUNK);
  readonly readSlabs: ReadSlabs = new ReadSlabs(READ_SLABS, READ_CHUNK);
  readonly sendScratch: Uint8Array = new Uint8Array(BATCH_BYTES + MAX_FRAME_SIZE);
  readonly acceptOut: Int32Array = new Int32Array(ACCEPT_BATCH);
  /** Where a completely written message goes: back to the pool. */
  readonly sent: (store: MessageStore) => void;

  constructor(
    native: Native,
    core: PollerCore,
    pool: Pool,
    udsPathLimit: number,
    schedule: () => void,
  ) {
    this.native = native;
    this.core = core;
    this.pool = pool;
    this.udsPathLimit = udsPathLimit;
    this.schedule = schedule;
    this.sent = (store) => pool.put(store);
  }

  /** Lists the channel for interest reconciliation at the end of the turn. */
  touch(ch: Channel): void {
    if (ch.touched) return;
    ch.touched = true;
    this.touched.push(ch);
  }

  /** Hands a message to the channel's group, or back to the pool if the group is gone. */
  deliver(ch: Channel, store: MessageStore): void {
    if (ch.group.destroyed) this.pool.put(store);
    else ch.group.deliver(store);
  }

  /** Returns a posted message to the app as ⟨op | E | status | ch | mid⟩. */
  returnToApp(ch: Channel, store: MessageStore, status: AmpeStatus): void {
    handBack(store, status, ch.number);
    this.deliver(ch, store);
  }
}
