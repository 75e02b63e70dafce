/**
 * The figures `Reactor.stats()` and `ChannelGroup.stats()` report: plain
 * numbers, counted where the engine already touches the data (per channel,
 * per group), and summed only when asked, so that counting costs the hot
 * path an increment and reading them every second costs one walk over the
 * channels.
 *
 * @module
 */

/** Channels by where they are in their life. */
export interface ChannelStats {
  /** Listeners accepting connections. */
  listening: number;
  /** Channels being opened: posted, resolving their host, or connecting. */
  opening: number;
  /** Connections open for messages (client and server side). */
  open: number;
}

/** Messages and bytes that crossed the sockets. */
export interface TrafficStats {
  /** Messages received from peers (engine-made Signals are not counted). */
  messagesIn: number;
  /** Messages completely written to peers. */
  messagesOut: number;
  /** Bytes read from sockets (frames: headers and bodies). */
  bytesIn: number;
  /** Bytes written to sockets. */
  bytesOut: number;
}

/** The figures of one channel group, from its creation on. */
export interface GroupStats extends TrafficStats {
  /** Its channels now, by state. */
  channels: ChannelStats;
  /** Messages waiting in its receive queue now. */
  queued: number;
  /** `pool_empty` Signals it was sent. */
  poolEmptyNotices: number;
}

/** The message pool of a reactor. */
export interface PoolStats {
  /** Messages idle in the pool now. */
  free: number;
  /** Messages taken from the pool (or made by `always`) and not put back. */
  inUse: number;
  /** The most messages the pool keeps idle (`maxPoolMsgs`). */
  max: number;
  /** Times the pool had nothing to give (`poolOnly` gets, receive starvation). */
  refusals: number;
}

/** The figures of a reactor: its groups' figures summed, and the engine's own. */
export interface ReactorStats extends GroupStats {
  /** Channel groups alive now. */
  groups: number;
  /** The message pool. */
  pool: PoolStats;
  /** Times the engine woke from waiting off the JS thread. */
  wakeUps: number;
  /**
   * What wakes the engine when it waits: `"kernel"` (the kernel tells the
   * runtime's event loop itself; Linux), `"thread"` (a native waiter thread
   * calls back), `"park"` (a wait run off the JS thread by the runtime), or
   * `"none"` before the engine first waited.
   */
  wake: "kernel" | "thread" | "park" | "none";
  /** Turns the engine took: each collects readiness, takes posts and serves channels. */
  turns: number;
  /** Turns taken only to keep watching for more (the spin policy), instead of waiting. */
  spinTurns: number;
}

/** Traffic counters that can be added up. */
export class Traffic implements TrafficStats {
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;

  /** Adds `other`'s counts to these. */
  add(other: TrafficStats): void {
    this.messagesIn += other.messagesIn;
    this.messagesOut += other.messagesOut;
    this.bytesIn += other.bytesIn;
    this.bytesOut += other.bytesOut;
  }
}
