/**
 * A channel: one listener or one connection, identified by its number, owned
 * by one group. The reactor drives it; this file holds its state.
 *
 * @module
 */

import type { MessageStore } from "./message_store.ts";
import type { Pollable } from "./poller_core.ts";
import { FrameDecoder } from "./frame_decoder.ts";
import { Outbox } from "./outbox.ts";

/** What a channel is. */
export const ChannelKind = {
  /** Made by a WelcomeRequest: accepts connections. */
  listener: 0,
  /** Made by a HelloRequest: connects to a server. */
  client: 1,
  /** Made by accept on a listener. */
  server: 2,
} as const;
export type ChannelKind = typeof ChannelKind[keyof typeof ChannelKind];

/** Where a channel is in its life. */
export const ChannelState = {
  /** Number allocated by post; the engine has not processed the request yet. */
  posted: 0,
  /** Waiting for the host name to resolve. */
  resolving: 1,
  /** Non-blocking connect in progress. */
  connecting: 2,
  /** Listening, or connected and exchanging frames. */
  open: 3,
  /** Deleted: number released, socket closed. */
  closed: 4,
} as const;
export type ChannelState = typeof ChannelState[keyof typeof ChannelState];

/** The owner of channels as the reactor sees it (a channel group's engine side). */
export interface GroupSink {
  /** Hands a message to the app (appends to the group's receive queue). */
  deliver(store: MessageStore): void;
  /** True once the group was destroyed. */
  readonly destroyed: boolean;
}

/** State of one channel. */
export class Channel implements Pollable {
  readonly number: number;
  readonly kind: ChannelKind;
  readonly group: GroupSink;
  state: ChannelState = ChannelState.posted;

  // Pollable
  sock = -1;
  token = 0;
  expected = 0;
  registeredOs = 0;
  act = 0;

  /** Id of the first message this channel received, for the final Signal (spec §10.5). */
  mid0Hi = 0;
  mid0Lo = 0;
  hasMid0 = false;

  /** Listener: the WelcomeRequest's id, reported in its close Signal. */
  welcomeMidHi = 0;
  welcomeMidLo = 0;

  /** Connections: frames to send and frames being received. */
  readonly outbox: Outbox | null;
  readonly decoder: FrameDecoder | null;

  /** Listed for a flush at the end of this turn. */
  flushQueued = false;
  /** Listed for interest reconciliation at the end of this turn. */
  touched = false;
  /** Waiting for a pooled message to receive into (spec §12). */
  starved = false;
  /** When the last pool_empty Signal went to the app (ms, monotonic). */
  lastPoolEmptyAt = -Infinity;
  poolEmptyTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** The peer is gone (error/hang-up or end of stream seen): close after draining. */
  peerGone = false;
  /** Listener: set while accepting rests after a failure (e.g. the descriptor limit). */
  acceptTimer: ReturnType<typeof setTimeout> | undefined = undefined;

  constructor(number: number, kind: ChannelKind, group: GroupSink) {
    this.number = number;
    this.kind = kind;
    this.group = group;
    const io = kind !== ChannelKind.listener;
    this.outbox = io ? new Outbox() : null;
    this.decoder = io ? new FrameDecoder() : null;
  }

  /** Records the id of the first message this channel received (its `mid0`, spec §10.5). */
  noteMid0(hi: number, lo: number): void {
    if (this.hasMid0) return;
    this.hasMid0 = true;
    this.mid0Hi = hi;
    this.mid0Lo = lo;
  }
}
