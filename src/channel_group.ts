/**
 * ChannelGroup: a set of channels with one receive queue (spec §7.2).
 *
 * @module
 */

import { AmpeError } from "./ampe_error.ts";
import { AmpeStatus } from "./status.ts";
import { MessageStore } from "./message_store.ts";
import { detachStore, type Message, storeOf, wrapStore } from "./message.ts";
import type { BinaryHeader } from "./binary_header.ts";
import { OpCode } from "./opcode.ts";
import { ORIGIN_BIT } from "./proto.ts";
import type { Engine } from "./engine.ts";
import type { GroupCore } from "./group_core.ts";

/** Wait forever in `waitReceive`. */
export const WAIT_INFINITE: number = Infinity;
/** One second, in `waitReceive` units (milliseconds). */
export const WAIT_SECOND = 1000;

/** Options of `waitReceive`. */
export interface WaitReceiveOptions {
  /** Aborting rejects the pending wait with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * A set of channels sharing one receive queue. Every outcome for its channels
 * (data, failures, closes, pool exhaustion) arrives as a message through
 * `waitReceive` or async iteration.
 *
 * @example
 * ```ts
 * import { AllocationStrategy, Reactor, TCPServerAddress } from "./mod.ts";
 *
 * await using rtr = await Reactor.create();
 * const ampe = rtr.ampe();
 * const group = ampe.create();
 * const msg = ampe.get(AllocationStrategy.always)!;
 * new TCPServerAddress("127.0.0.1", 0).format(msg);
 * group.post(msg);
 * const reply = await group.waitReceive(1000);
 * ampe.put(reply);
 * ```
 */
export class ChannelGroup {
  readonly #engine: Engine;
  readonly #core: GroupCore;

  /** Made by `Ampe.create()`; not constructed directly. */
  constructor(engine: Engine, core: GroupCore) {
    this.#engine = engine;
    this.#core = core;
  }

  /**
   * Validates and queues a message for sending (spec §7.2, §8). On success
   * the message object is consumed (later use throws `nullMessage`) and the
   * final binary header (assigned channel and message id) is returned. On a
   * synchronous error an `AmpeError` is thrown and the caller keeps the message.
   */
  post(msg: Message): BinaryHeader {
    return this.#engine.post(this.#core, msg);
  }

  /**
   * The next message for this group, waiting up to `timeoutMs` milliseconds
   * (`0` = only what is queued, `WAIT_INFINITE` = no limit). Resolves null on
   * timeout; rejects with `AmpeError` `shutdownStarted` once the group or its
   * engine is destroyed, or with the signal's reason when aborted.
   */
  waitReceive(timeoutMs: number, opts?: WaitReceiveOptions): Promise<Message | null> {
    const refused = this.#refuseWait(timeoutMs, opts);
    if (refused !== null) return refused;
    const queue = this.#core.queue;
    const store = queue.shift();
    if (store !== undefined) return Promise.resolve(wrapStore(store));
    if (timeoutMs === 0) return Promise.resolve(null);
    return queue.take(timeoutMs, opts?.signal);
  }

  /**
   * Up to `max` messages in arrival order, waiting up to `timeoutMs`
   * milliseconds for the first one (`0` = only what is queued,
   * `WAIT_INFINITE` = no limit): it resolves as soon as at least one message
   * is there, with everything then queued up to `max`, and with an empty
   * array on timeout. One promise per batch instead of one per message, for
   * apps that stream. Every message is yours as if from `waitReceive`; the
   * array is yours too. `max` must be an integer >= 1 (else `RangeError`);
   * rejects like `waitReceive`.
   *
   * @example
   * ```ts
   * import { Reactor } from "./mod.ts";
   *
   * await using rtr = await Reactor.create();
   * const ampe = rtr.ampe();
   * const group = ampe.create();
   * group.updateReceiver(); // something to receive
   * for (const msg of await group.receiveBatch(256, 1000)) {
   *   // ... read msg ...
   *   ampe.put(msg);
   * }
   * ```
   */
  receiveBatch(max: number, timeoutMs: number, opts?: WaitReceiveOptions): Promise<Message[]> {
    if (!(Number.isInteger(max) && max >= 1)) {
      return Promise.reject(
        new RangeError(`Cannot receive a batch: max must be an integer >= 1, got ${max}`),
      );
    }
    const refused = this.#refuseWait(timeoutMs, opts);
    if (refused !== null) return refused;
    const queue = this.#core.queue;
    if (queue.length > 0) return Promise.resolve(this.#drainInto([], max));
    if (timeoutMs === 0) return Promise.resolve([]);
    // The first message wakes the wait; whatever the same engine turn queued behind it
    // is there by the time the continuation runs.
    return queue.take(timeoutMs, opts?.signal).then((first) =>
      first === null ? [] : this.#drainInto([first], max)
    );
  }

  /** Why a wait cannot start (as a rejected promise), or null. */
  #refuseWait(timeoutMs: number, opts: WaitReceiveOptions | undefined): Promise<never> | null {
    if (typeof timeoutMs !== "number" || Number.isNaN(timeoutMs) || timeoutMs < 0) {
      return Promise.reject(
        new RangeError(`Cannot wait: timeout must be a number >= 0, got ${timeoutMs}`),
      );
    }
    if (this.#core.queue.closed) {
      return Promise.reject(this.#core.queue.closedError());
    }
    const signal = opts?.signal;
    if (signal?.aborted && this.#core.queue.length === 0 && timeoutMs !== 0) {
      return Promise.reject(signal.reason);
    }
    return null;
  }

  /** Moves queued messages into `out` until it holds `max`; returns `out`. */
  #drainInto(out: Message[], max: number): Message[] {
    const queue = this.#core.queue;
    while (out.length < max) {
      const store = queue.shift();
      if (store === undefined) break;
      out.push(wrapStore(store));
    }
    return out;
  }

  /**
   * The next queued message, or null if none is queued, without waiting and
   * without a promise: a consumer that drains bursts with it pays no promise
   * per message. Throws `AmpeError` `shutdownStarted` once the group or its
   * engine is destroyed.
   */
  tryReceive(): Message | null {
    const queue = this.#core.queue;
    if (queue.closed) {
      throw queue.closedError();
    }
    const store = queue.shift();
    return store === undefined ? null : wrapStore(store);
  }

  /**
   * Puts a message straight into this group's receive queue (spec §7.2):
   * with no argument, a fresh `⟨Signal | engine | receiver_update⟩`; with a
   * message, that message with status `receiver_update` (consumed). Used to
   * wake or command whoever waits on the group.
   */
  updateReceiver(msg?: Message | null): void {
    if (this.#core.destroyed) {
      throw new AmpeError(
        AmpeStatus.shutdownStarted,
        "Cannot update the receiver: the channel group was destroyed",
      );
    }
    let store: MessageStore;
    if (msg === null || msg === undefined) {
      store = new MessageStore();
      store.proto = OpCode.Signal | ORIGIN_BIT;
    } else {
      storeOf(msg);
      store = detachStore(msg);
      store.proto &= ~ORIGIN_BIT;
    }
    store.status = AmpeStatus.receiverUpdate;
    this.#core.deliver(store);
  }

  /**
   * Yields every received message until the group or engine is destroyed.
   * Queued messages are handed out without waiting; for many at a time see
   * `receiveBatch`.
   */
  [Symbol.asyncIterator](): AsyncIterator<Message> {
    let finished = false;
    const done: IteratorResult<Message> = { value: undefined, done: true };
    const ended = (err: unknown): IteratorResult<Message> => {
      if (err instanceof AmpeError && err.status === AmpeStatus.shutdownStarted) {
        finished = true;
        return done;
      }
      throw err;
    };
    // An endless wait never resolves null.
    const item = (msg: Message | null): IteratorResult<Message> => ({ value: msg!, done: false });
    return {
      next: (): Promise<IteratorResult<Message>> => {
        if (finished) return Promise.resolve(done);
        const queue = this.#core.queue;
        if (!queue.closed) {
          const store = queue.shift();
          if (store !== undefined) return Promise.resolve({ value: wrapStore(store), done: false });
        }
        return this.waitReceive(WAIT_INFINITE).then(item, ended);
      },
      return: (): Promise<IteratorResult<Message>> => {
        finished = true;
        return Promise.resolve(done);
      },
    };
  }
}
