/**
 * The engine side of a channel group: its channels and its receive queue.
 * The public `ChannelGroup` is a thin facade over it.
 *
 * @module
 */

import { AmpeError } from "./ampe_error.ts";
import { AmpeStatus } from "./status.ts";
import type { MessageStore } from "./message_store.ts";
import { type Message, wrapStore } from "./message.ts";
import type { Channel, GroupSink } from "./channel.ts";
import { ReceiveQueue } from "./receive_queue.ts";
import type { PendingRequests } from "./pending_requests.ts";

function groupClosed(): AmpeError {
  return new AmpeError(
    AmpeStatus.shutdownStarted,
    "Cannot receive: the channel group was destroyed",
  );
}

/** Channels and receive queue of one group. */
export class GroupCore implements GroupSink {
  /** Channels owned by this group (listeners, clients, and connections accepted by its listeners). */
  readonly channels: Set<Channel> = new Set();
  /** Messages for the app; each becomes a fresh `Message` handle when handed over. */
  readonly queue: ReceiveQueue<MessageStore, Message> = new ReceiveQueue(wrapStore, groupClosed);
  /** Set once by the engine when the group is destroyed. */
  destroyed = false;
  /** The engine that owns this group (opaque here, to keep the layers apart). */
  readonly owner: unknown;
  /**
   * Requests awaiting a response (`ChannelGroup.request`); null while none is
   * pending, so that delivery then costs this one check.
   */
  awaiting: PendingRequests | null = null;

  constructor(owner: unknown) {
    this.owner = owner;
  }

  /** Appends a message for the app. */
  deliver(store: MessageStore): void {
    if (this.awaiting !== null && this.awaiting.claim(store)) return;
    this.queue.push(store);
  }

  /** Closes the queue: waiters reject with shutdownStarted; returns what was still queued. */
  closeQueue(): MessageStore[] {
    this.awaiting?.shutdown();
    return this.queue.close();
  }
}
