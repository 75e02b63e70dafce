/**
 * The engine side of a channel group: its channels, its receive queue and
 * its counters. The public `ChannelGroup` is a thin facade over it.
 *
 * @module
 */

import { AmpeError } from "./ampe_error.ts";
import { AmpeStatus } from "./status.ts";
import type { MessageStore } from "./message_store.ts";
import { type Message, wrapStore } from "./message.ts";
import { type Channel, ChannelKind, ChannelState, type ConnectionChannel } from "./channel.ts";
import { ReceiveQueue } from "./receive_queue.ts";
import { type GroupStats, Traffic } from "./stats.ts";
import type { PendingRequests } from "./pending_requests.ts";

function groupClosed(): AmpeError {
  return new AmpeError(
    AmpeStatus.shutdownStarted,
    "Cannot receive: the channel group was destroyed",
  );
}

/** Channels and receive queue of one group. */
export class GroupCore {
  /** Channels owned by this group (listeners, clients, and connections accepted by its listeners). */
  readonly channels: Set<Channel> = new Set();
  /** Messages for the app; each becomes a fresh `Message` handle when handed over. */
  readonly queue: ReceiveQueue<MessageStore, Message> = new ReceiveQueue(wrapStore, groupClosed);
  /** Set once by the engine when the group is destroyed. */
  destroyed = false;
  /** Traffic of this group's channels that are gone. */
  readonly closedTraffic: Traffic = new Traffic();
  /** `pool_empty` Signals sent to this group. */
  poolEmptyNotices = 0;
  /**
   * Requests awaiting a response (`ChannelGroup.request`); null while none is
   * pending, so that delivery then costs this one check.
   */
  awaiting: PendingRequests | null = null;

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

  /** Keeps the counts of a channel that is being deleted. */
  forget(ch: Channel): void {
    this.channels.delete(ch);
    if (ch.kind !== ChannelKind.listener) addTraffic(this.closedTraffic, ch);
  }

  /** This group's figures now. */
  stats(): GroupStats {
    const traffic = new Traffic();
    traffic.add(this.closedTraffic);
    const channels = { listening: 0, opening: 0, open: 0 };
    for (const ch of this.channels) {
      if (ch.kind === ChannelKind.listener) {
        if (ch.state === ChannelState.open) channels.listening++;
        else channels.opening++;
        continue;
      }
      addTraffic(traffic, ch);
      if (ch.state === ChannelState.open) channels.open++;
      else if (ch.state !== ChannelState.closed) channels.opening++;
    }
    return {
      channels,
      messagesIn: traffic.messagesIn,
      messagesOut: traffic.messagesOut,
      bytesIn: traffic.bytesIn,
      bytesOut: traffic.bytesOut,
      queued: this.queue.length,
      poolEmptyNotices: this.poolEmptyNotices,
    };
  }
}

/** Adds a connection's counts to `into`. */
function addTraffic(into: Traffic, ch: ConnectionChannel): void {
  into.messagesIn += ch.messagesIn;
  into.bytesIn += ch.bytesIn;
  into.messagesOut += ch.outbox.messagesWritten;
  into.bytesOut += ch.outbox.bytesWritten;
}
