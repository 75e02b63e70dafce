/**
 * A channel: one listener or one connection, identified by its number, owned
 * by one group. The reactor drives it; this file holds its state. The two
 * shapes are told apart by `kind`, so code that has checked it sees only the
 * fields that shape has.
 *
 * @module
 */

import type { Pollable } from "./poller_core.ts";
import type { GroupCore } from "./group_core.ts";
import type { Failure } from "./failure.ts";
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

/** What every channel has: its number, group, life state and poller registration. */
abstract class ChannelBase implements Pollable {
  readonly number: number;
  readonly group: GroupCore;
  state: ChannelState = ChannelState.posted;

  // Pollable
  sock = -1;
  token = 0;
  expected = 0;
  registeredOs = 0;
  act = 0;

  /** Listed for interest reconciliation at the end of this turn. */
  touched = false;

  constructor(number: number, group: GroupCore) {
    this.number = number;
    this.group = group;
  }
}

/** A listener: accepts connections for its group. */
export class ListenerChannel extends ChannelBase {
  readonly kind = ChannelKind.listener;
  /** The WelcomeRequest's id, reported in the listener's close Signal. */
  welcomeMidHi = 0;
  welcomeMidLo = 0;
  /** Set while accepting rests after a failure (e.g. the descriptor limit). */
  acceptTimer: ReturnType<typeof setTimeout> | undefined = undefined;
}

/** A connection, client or server side: frames out through the outbox, in through the decoder. */
export class ConnectionChannel extends ChannelBase {
  readonly kind: typeof ChannelKind.client | typeof ChannelKind.server;
  readonly outbox: Outbox = new Outbox();
  readonly decoder: FrameDecoder = new FrameDecoder();

  /** Id of the first message this channel received, for the final Signal (spec §10.5). */
  mid0Hi = 0;
  mid0Lo = 0;
  hasMid0 = false;

  /** Listed for a flush at the end of this turn. */
  flushQueued = false;
  /** Waiting for a pooled message to receive into (spec §12). */
  starved = false;
  /** When the last pool_empty Signal went to the app (ms, monotonic). */
  lastPoolEmptyAt = -Infinity;
  poolEmptyTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** The peer is gone (error/hang-up or end of stream seen): close after draining. */
  peerGone = false;
  /** A ByeRequest came from the peer: its leaving next is the Bye exchange, not a break. */
  peerSaidBye = false;
  /** Why the connection broke, as first seen (a failed send, an error event), for the close Signal. */
  failure: Failure | null = null;
  /** Messages handed to the app, and bytes read. */
  messagesIn = 0;
  bytesIn = 0;

  constructor(
    number: number,
    kind: typeof ChannelKind.client | typeof ChannelKind.server,
    group: GroupCore,
  ) {
    super(number, group);
    this.kind = kind;
  }

  /** Records the id of the first message this channel received (its `mid0`, spec §10.5). */
  noteMid0(hi: number, lo: number): void {
    if (this.hasMid0) return;
    this.hasMid0 = true;
    this.mid0Hi = hi;
    this.mid0Lo = lo;
  }
}

/** A channel of either shape. */
export type Channel = ListenerChannel | ConnectionChannel;
