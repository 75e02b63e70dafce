/**
 * ChannelGroup: a set of channels with one receive queue (spec §7.2).
 *
 * @module
 */

import { AmpeError } from "./ampe_error.ts";
import { AmpeStatus } from "./status.ts";
import { detachStore, type Message, storeOf, wrapStore } from "./message.ts";
import type { BinaryHeader } from "./binary_header.ts";
import { ORIGIN_BIT } from "./proto.ts";
import { engineSignal } from "./engine_messages.ts";
import { Engine } from "./engine.ts";
import { GroupCore } from "./group_core.ts";
import type { GroupStats } from "./stats.ts";
import { PendingRequests, type RequestOptions } from "./pending_requests.ts";
import { checkMessage } from "./store_handle.ts";
import { describeValue } from "./describe_value.ts";
import { checkWaitArgs, WAIT_INFINITE, type WaitReceiveOptions } from "./wait_args.ts";

// The private constructor, for newChannelGroup; set by the class's static block.
let makeGroup: (engine: Engine, core: GroupCore) => ChannelGroup;

/** Internal: the group of `core` in `engine` (`Ampe.create()` makes groups this way). */
export function newChannelGroup(engine: Engine, core: GroupCore): ChannelGroup {
  return makeGroup(engine, core);
}

/**
 * A set of channels sharing one receive queue. Every outcome for its channels
 * (data, failures, closes, pool exhaustion) arrives as a message through
 * `waitReceive` or async iteration.
 *
 * @example
 * ```ts
 * import { AllocationStrategy, Reactor, TCPServerAddress } from "@tofu/tofu";
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
  #requests: PendingRequests | null = null;

  /**
   * Made by `Ampe.create()` (through {@linkcode newChannelGroup}); called
   * from JavaScript with anything else than an engine's group it throws
   * `AmpeError` (`notAllowed`).
   *
   * @ignore
   */
  private constructor(engine: Engine, core: GroupCore) {
    if (!(engine instanceof Engine && core instanceof GroupCore)) {
      throw new AmpeError(AmpeStatus.notAllowed, "A ChannelGroup is made by ampe.create()");
    }
    this.#engine = engine;
    this.#core = core;
  }

  static {
    makeGroup = (engine, core) => new ChannelGroup(engine, core);
  }

  /**
   * This group's figures: its channels by state, messages and bytes in and
   * out of its channels (closed ones included), queued messages and
   * `pool_empty` notices (see {@linkcode GroupStats}).
   */
  stats(): GroupStats {
    return this.#core.stats();
  }

  /**
   * Validates and queues a message for sending (spec §7.2, §8). On success
   * the message object is consumed (later use throws `nullMessage`) and the
   * final binary header is returned: the assigned channel, and the message id
   * (a bigint) that the answer will carry. On a synchronous error an
   * `AmpeError` is thrown and the caller keeps the message (`nullMessage` for
   * no message or one already handed over, `invalidMessage` for anything else
   * than a message).
   */
  post(msg: Message): BinaryHeader {
    checkMessage(msg, "post");
    return this.#engine.post(this.#core, msg);
  }

  /**
   * Posts a request and resolves with its response: the first message on the
   * same channel with the same message id and the answering opCode
   * (Request → Response, HelloRequest → HelloResponse, ByeRequest →
   * ByeResponse, WelcomeRequest → WelcomeResponse). That message is taken
   * out of the group's delivery and handed to you here (it is yours: `put`
   * it or post it); every other message, a Signal with the same id
   * included, stays in the receive queue in order for `waitReceive`,
   * `tryReceive`, `receiveBatch` and `for await`. Any number of requests may
   * be pending at once, on one channel or many. A multi-part response
   * (`more` set) resolves with its first part; the later parts go to the
   * queue. (A server that answers a HelloRequest with another message id is
   * not matched: its HelloResponse goes to the queue.)
   *
   * Refusals before anything is sent throw at once, like `post`, and the
   * caller keeps the message: the errors of `post`, an opCode that is not a
   * request (`invalidOpCode`), a timeout that is not a number >= 0 or options
   * that are not `{ signal?: AbortSignal }` (`notAllowed`), an already
   * aborted signal (`processingFailed`, code `"Aborted"`). After the post the
   * promise rejects with an `AmpeError`:
   * - the channel closed before the response came: `channelClosed`, with
   *   `reason`, `osError` and `osErrno` from the final `channel_closed`
   *   Signal's reserved headers when it has them (the Signal itself still
   *   goes to the queue);
   * - the engine handed the request back (unsent when the channel closed, a
   *   failed connect or listen): the status it came back with, the same
   *   fields; the returned message goes back to the pool;
   * - no response within `timeoutMs` milliseconds (`WAIT_INFINITE`: no
   *   limit): `processingFailed`, code `"Timeout"`;
   * - aborted through `opts.signal`: `processingFailed`, code `"Aborted"`,
   *   `cause` = the signal's reason;
   * - the group or engine was destroyed: `shutdownStarted`.
   * A response that comes after a timeout or abort goes to the receive queue.
   *
   * @example
   * ```ts
   * import { AmpeError, type ChannelGroup, type Message } from "@tofu/tofu";
   *
   * async function ask(client: ChannelGroup, request: Message): Promise<void> {
   *   request.body.append("2+2"); // request.bhdr.channelNumber is a connected channel
   *   try {
   *     const response = await client.request(request, 5000);
   *     console.log(response.body.text()); // "4"
   *   } catch (err) {
   *     if (!(err instanceof AmpeError)) throw err;
   *     console.log(err.code, err.reason ?? ""); // e.g. "ChannelClosed peer_closed"
   *   }
   * }
   * ```
   */
  request(msg: Message, timeoutMs: number, opts?: RequestOptions): Promise<Message> {
    this.#requests ??= new PendingRequests(
      this.#core,
      (m) => this.#engine.post(this.#core, m),
      (store) => this.#engine.pool.put(store),
    );
    return this.#requests.send(msg, timeoutMs, opts);
  }

  /**
   * The next message for this group, waiting up to `timeoutMs` milliseconds
   * (`0` = only what is queued, `WAIT_INFINITE` = no limit). Resolves null on
   * timeout; rejects with `AmpeError` `shutdownStarted` once the group or its
   * engine is destroyed, or with the signal's reason when aborted; with
   * `notAllowed` for a timeout that is not a number >= 0 or a `signal` that
   * is not an `AbortSignal`.
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
   * array is yours too. `max` must be an integer >= 1 (else `AmpeError`
   * `notAllowed`); rejects like `waitReceive`.
   *
   * @example
   * ```ts
   * import { Reactor } from "@tofu/tofu";
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
        new AmpeError(
          AmpeStatus.notAllowed,
          `Cannot receive a batch: max must be an integer >= 1, got ${describeValue(max)}`,
        ),
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
    const argsError = checkWaitArgs(timeoutMs, opts);
    if (argsError !== null) return Promise.reject(argsError);
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
   * wake or command whoever waits on the group. Anything else than a message
   * throws `AmpeError` (`invalidMessage`).
   */
  updateReceiver(msg?: Message | null): void {
    if (msg !== null && msg !== undefined) checkMessage(msg, "update the receiver");
    if (this.#core.destroyed) {
      throw new AmpeError(
        AmpeStatus.shutdownStarted,
        "Cannot update the receiver: the channel group was destroyed",
      );
    }
    if (msg === null || msg === undefined) {
      const note = this.#engine.pool.make();
      this.#core.deliver(engineSignal(note, AmpeStatus.receiverUpdate, 0));
      return;
    }
    storeOf(msg);
    const store = detachStore(msg);
    store.proto &= ~ORIGIN_BIT;
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
