/**
 * Requests awaiting their responses (`ChannelGroup.request`): the routing
 * that takes a Response out of the group's delivery stream and hands it to
 * the promise of its Request, matched by channel number and message id,
 * while every other message goes on to the receive queue.
 *
 * @module
 */

import { AmpeError } from "./ampe_error.ts";
import { AmpeStatus, statusName } from "./status.ts";
import { echo, isRequest, OpCode } from "./opcode.ts";
import type { MessageStore } from "./message_store.ts";
import { Message, storeOf, wrapStore } from "./message.ts";
import type { BinaryHeader } from "./binary_header.ts";
import { MAX_TIMER_MS } from "./receive_queue.ts";
import { OPCODE_MASK, ORIGIN_BIT } from "./proto.ts";
import { type Why, whyOfStore } from "./close_reason.ts";

/** Options of `ChannelGroup.request`. */
export interface RequestOptions {
  /**
   * Aborting rejects the pending request with an `AmpeError` (status
   * `processingFailed`, code `"Aborted"`, the signal's reason as `cause`);
   * a response that comes later goes to the receive queue.
   */
  signal?: AbortSignal;
}

/** What the engine said about a failure: the reserved headers of the message that reported it. */
/** One request awaiting its response. */
interface Pending {
  readonly channel: number;
  readonly midHi: number;
  readonly midLo: number;
  /** The request's opCode and the opCode of its response. */
  readonly requestOp: number;
  readonly responseOp: number;
  readonly resolve: (msg: Message) => void;
  readonly reject: (err: AmpeError) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** The next request of the same channel with the same low id half (usually none). */
  next: Pending | null;
}

/** A request the engine handed back, rejected once the rest of its close bundle was seen. */
interface Returned {
  readonly entry: Pending;
  readonly status: number;
  note: Why;
}

/** Where the delivery hook lives: the group's engine side (`GroupCore.awaiting`). */
export interface RequestHost {
  /** Set to the router while requests are pending, null otherwise. */
  awaiting: PendingRequests | null;
}

/**
 * The requests of one channel group that await a response. While none is
 * pending the group's delivery path does not call it at all
 * (`GroupCore.awaiting` is null).
 *
 * Matching, for a request with opCode `R` on channel `C` with id `M`:
 * - the first message on `C` with id `M` and opCode `echo(R)` that is not a
 *   failure (the peer's answer, or the engine's WelcomeResponse after a
 *   successful listen) resolves it; a multi-part answer (`more` set) resolves
 *   with its first part, the later parts go to the receive queue;
 * - the request itself handed back by the engine (origin engine, opCode `R`
 *   or `echo(R)`, a failure status) rejects it with that status; the message
 *   goes back to the pool;
 * - the final `channel_closed` Signal of `C` rejects every request still
 *   pending on `C` with `channelClosed`; the Signal itself still goes to the
 *   queue.
 */
export class PendingRequests {
  /** Number of pending requests. */
  count = 0;
  readonly #host: RequestHost;
  readonly #post: (msg: Message) => BinaryHeader;
  readonly #release: (store: MessageStore) => void;
  /** channel number -> low half of the message id -> requests (a chain, oldest first). */
  readonly #byChannel = new Map<number, Map<number, Pending>>();
  #returned: Returned[] = [];
  readonly #settleReturned = () => this.#rejectReturned();

  /**
   * `post` queues a message for the engine (throwing on a synchronous
   * refusal); `release` gives a store back to the pool.
   */
  constructor(
    host: RequestHost,
    post: (msg: Message) => BinaryHeader,
    release: (store: MessageStore) => void,
  ) {
    this.#host = host;
    this.#post = post;
    this.#release = release;
  }

  /** Posts `msg` and returns the promise of its response (see `ChannelGroup.request`). */
  send(msg: Message, timeoutMs: number, opts?: RequestOptions): Promise<Message> {
    if (typeof timeoutMs !== "number" || Number.isNaN(timeoutMs) || timeoutMs < 0) {
      throw new AmpeError(
        AmpeStatus.notAllowed,
        `Cannot send a request: timeout must be a number >= 0, got ${timeoutMs}`,
      );
    }
    if (msg === null || msg === undefined) {
      throw new AmpeError(AmpeStatus.nullMessage, "Cannot send a null request");
    }
    if (!(msg instanceof Message)) {
      throw new AmpeError(
        AmpeStatus.invalidMessage,
        `Cannot send a request: expected a Message, got ${typeof msg}`,
      );
    }
    const op = storeOf(msg).proto & OPCODE_MASK;
    if (!isRequest(op)) {
      throw new AmpeError(
        AmpeStatus.invalidOpCode,
        `Cannot await a response to opCode ${op}: request() takes a Request, HelloRequest, ` +
          "ByeRequest or WelcomeRequest (post other messages)",
      );
    }
    // JavaScript callers can pass anything as the options.
    if (opts !== undefined && (typeof opts !== "object" || opts === null)) {
      throw new AmpeError(
        AmpeStatus.notAllowed,
        `Cannot send a request: the options must be an object, got ${String(opts)}`,
      );
    }
    const signal = opts?.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new AmpeError(
        AmpeStatus.notAllowed,
        `Cannot send a request: signal must be an AbortSignal, got ${typeof signal}`,
      );
    }
    if (signal?.aborted) {
      throw aborted(signal, "Cannot send a request: its signal is already aborted");
    }
    const header = this.#post(msg);
    const mid = header.messageId;
    return new Promise<Message>((resolve, reject) => {
      const entry: Pending = {
        channel: header.channelNumber,
        midHi: Number(mid >> 32n),
        midLo: Number(mid & 0xffffffffn),
        requestOp: op,
        responseOp: echo(op),
        resolve,
        reject,
        timer: undefined,
        signal,
        onAbort: undefined,
        next: null,
      };
      const expire = () => {
        entry.timer = undefined;
        if (this.#remove(entry)) {
          this.#finish(entry);
          reject(
            new AmpeError(
              AmpeStatus.processingFailed,
              `${describe(entry)} got no response within ${timeoutMs} ms`,
              { code: "Timeout" },
            ),
          );
        }
      };
      // Timers take at most 2^31 - 1 ms (a longer delay fires at once): wait in steps.
      const arm = (ms: number) => {
        const step = Math.min(ms, MAX_TIMER_MS);
        entry.timer = setTimeout(ms > step ? () => arm(ms - step) : expire, step);
      };
      if (Number.isFinite(timeoutMs)) arm(timeoutMs);
      if (signal !== undefined) {
        entry.onAbort = () => {
          if (this.#remove(entry)) {
            this.#finish(entry);
            reject(aborted(signal, `${describe(entry)} was aborted before its response came`));
          }
        };
        signal.addEventListener("abort", entry.onAbort, { once: true });
      }
      this.#add(entry);
    });
  }

  /**
   * The delivery hook: true if `store` settled a pending request (it is then
   * taken: handed to the app through the promise, or given back to the pool),
   * false if it goes on to the receive queue.
   */
  claim(store: MessageStore): boolean {
    const proto = store.proto;
    const op = proto & OPCODE_MASK;
    const fromEngine = (proto & ORIGIN_BIT) !== 0;
    if (op === OpCode.Signal) {
      if (fromEngine && store.status === AmpeStatus.channelClosed) this.#channelClosed(store);
      return false;
    }
    const perChannel = this.#byChannel.get(store.channelNumber);
    if (perChannel === undefined) return false;
    let entry = perChannel.get(store.midLo) ?? null;
    while (entry !== null) {
      if (entry.midHi === store.midHi) {
        const status = store.status;
        // The answer: from the peer (or the engine's WelcomeResponse after a listen, which keeps
        // the application origin, spec §10.1); never what updateReceiver queued.
        const answered = op === entry.responseOp &&
          (fromEngine ? status === AmpeStatus.success : status !== AmpeStatus.receiverUpdate);
        if (answered) {
          this.#remove(entry);
          this.#finish(entry);
          entry.resolve(wrapStore(store));
          return true;
        }
        if (
          fromEngine && status !== AmpeStatus.success &&
          (op === entry.requestOp || op === entry.responseOp)
        ) {
          this.#remove(entry);
          this.#returnedByEngine(entry, store);
          return true;
        }
      }
      entry = entry.next;
    }
    return false;
  }

  /** The group or engine was destroyed: every pending request rejects with `shutdownStarted`. */
  shutdown(): void {
    this.#rejectReturned();
    for (const perChannel of [...this.#byChannel.values()]) {
      for (const head of [...perChannel.values()]) {
        for (let entry: Pending | null = head; entry !== null; entry = entry.next) {
          this.#remove(entry);
          this.#finish(entry);
          entry.reject(
            new AmpeError(
              AmpeStatus.shutdownStarted,
              `${describe(entry)} got no response: the channel group was destroyed`,
            ),
          );
        }
      }
    }
  }

  #add(entry: Pending): void {
    let perChannel = this.#byChannel.get(entry.channel);
    if (perChannel === undefined) {
      perChannel = new Map();
      this.#byChannel.set(entry.channel, perChannel);
    }
    const head = perChannel.get(entry.midLo);
    if (head === undefined) {
      perChannel.set(entry.midLo, entry);
    } else {
      // Same channel, same low id half: the older request answers first.
      let last = head;
      while (last.next !== null) last = last.next;
      last.next = entry;
    }
    this.count++;
    this.#host.awaiting = this;
  }

  /** Unlinks `entry`; false if it was no longer pending. */
  #remove(entry: Pending): boolean {
    const perChannel = this.#byChannel.get(entry.channel);
    if (perChannel === undefined) return false;
    const head = perChannel.get(entry.midLo);
    if (head === undefined) return false;
    if (head === entry) {
      if (entry.next === null) perChannel.delete(entry.midLo);
      else perChannel.set(entry.midLo, entry.next);
    } else {
      let prev = head;
      while (prev.next !== null && prev.next !== entry) prev = prev.next;
      if (prev.next !== entry) return false;
      prev.next = entry.next;
    }
    if (perChannel.size === 0) this.#byChannel.delete(entry.channel);
    this.count--;
    this.#unhookIfIdle();
    return true;
  }

  /**
   * Leaves the delivery path once nothing is pending and no handed-back
   * request waits for the rest of its close bundle.
   */
  #unhookIfIdle(): void {
    if (this.count === 0 && this.#returned.length === 0) this.#host.awaiting = null;
  }

  /** Stops the entry's timer and abort listener (it was just removed). */
  #finish(entry: Pending): void {
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    entry.timer = undefined;
    if (entry.onAbort !== undefined) entry.signal?.removeEventListener("abort", entry.onAbort);
    entry.onAbort = undefined;
  }

  /**
   * The engine handed the request back (failure, or the channel closed
   * before it was sent). The channel's final Signal, if the same close
   * bundle brings one, follows synchronously and may tell why: the
   * rejection waits for the end of the current task to include it.
   */
  #returnedByEngine(entry: Pending, store: MessageStore): void {
    this.#finish(entry);
    const returned: Returned = { entry, status: store.status, note: whyOfStore(store) };
    this.#release(store); // resets it: read first
    if (this.#returned.length === 0) queueMicrotask(this.#settleReturned);
    this.#returned.push(returned);
    this.#host.awaiting = this; // to see the channel's final Signal
  }

  #channelClosed(signal: MessageStore): void {
    const channel = signal.channelNumber;
    let note: Why | null = null;
    for (const returned of this.#returned) {
      if (returned.entry.channel === channel && returned.note.reason === undefined) {
        returned.note = note ??= whyOfStore(signal);
      }
    }
    const perChannel = this.#byChannel.get(channel);
    if (perChannel === undefined) return;
    note ??= whyOfStore(signal);
    for (const head of [...perChannel.values()]) {
      for (let entry: Pending | null = head; entry !== null; entry = entry.next) {
        this.#remove(entry);
        this.#finish(entry);
        entry.reject(failure(entry, AmpeStatus.channelClosed, note));
      }
    }
  }

  #rejectReturned(): void {
    const returned = this.#returned;
    if (returned.length === 0) return;
    this.#returned = [];
    this.#unhookIfIdle();
    for (const { entry, status, note } of returned) entry.reject(failure(entry, status, note));
  }
}

function describe(entry: Pending): string {
  const mid = (BigInt(entry.midHi) << 32n) | BigInt(entry.midLo);
  return `The request (message id ${mid}) on channel ${entry.channel}`;
}

/** The reserved failure headers of a message the engine made. */

function failure(entry: Pending, status: number, note: Why): AmpeError {
  const what = status === AmpeStatus.channelClosed
    ? "got no response: the channel closed"
    : `came back from the engine with status ${statusName(status)}`;
  const details: string[] = [];
  if (note.reason !== undefined) details.push(`reason ${note.reason}`);
  if (note.osError !== undefined || note.osErrno !== undefined) {
    details.push(
      `OS error ${[note.osError, note.osErrno].filter((x) => x !== undefined).join(" ")}`,
    );
  }
  const text = `${describe(entry)} ${what}${details.length > 0 ? ` (${details.join(", ")})` : ""}`;
  return new AmpeError(status, text, {
    ...(note.reason !== undefined ? { reason: note.reason } : {}),
    ...(note.osError !== undefined ? { osError: note.osError } : {}),
    ...(note.osErrno !== undefined ? { osErrno: note.osErrno } : {}),
  });
}

function aborted(signal: AbortSignal, text: string): AmpeError {
  return new AmpeError(AmpeStatus.processingFailed, text, {
    cause: signal.reason,
    code: "Aborted",
  });
}
