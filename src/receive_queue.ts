/**
 * The receive queue of one channel group: an unbounded FIFO of messages for the
 * app, with promise-based waiters (spec §7.2 `waitReceive`).
 *
 * @module
 */

import { Ring } from "./ring.ts";

/** The longest delay timers take (2^31 - 1 ms); a longer one fires at once. */
export const MAX_TIMER_MS = 0x7fffffff;

/** A pending `take`: settled by a push, by its deadline, by its abort signal or by close. */
interface Waiter<U> {
  resolve(value: U | null): void;
  reject(reason: unknown): void;
  /** performance.now() time at which it resolves null; Infinity = never. */
  deadline: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * FIFO ring of items with waiters. `T` is what the engine queues; `U` is what a
 * waiter gets (`deliver` converts at the moment of hand-over, so nothing is
 * converted for items that are dropped at close).
 *
 * Timeouts share one timer per queue, armed for the earliest deadline and left
 * running when a waiter is served early (it re-arms itself when it fires), so
 * an app that waits with a timeout for every message does not create and
 * cancel a timer per message.
 */
export class ReceiveQueue<T, U> {
  #items = new Ring<T>();
  #waiters: Waiter<U>[] = [];
  #closed = false;
  #closeReason: () => unknown;
  #deliver: (item: T) => U;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #timerAt = Infinity;
  readonly #onTimer = () => this.#expireDue();

  /** `closeReason` makes the error that waiters get once the queue is closed. */
  constructor(deliver: (item: T) => U, closeReason: () => unknown) {
    this.#deliver = deliver;
    this.#closeReason = closeReason;
  }

  /** Number of queued items. */
  get length(): number {
    return this.#items.length;
  }

  /** Number of pending `take`s. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** True once `close` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The error a waiter gets once the queue is closed (made by the constructor's `closeReason`). */
  closedError(): unknown {
    return this.#closeReason();
  }

  /** Queues an item, handing it straight to the oldest waiter if there is one. */
  push(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      this.#unlisten(waiter);
      waiter.resolve(this.#deliver(item));
      return;
    }
    this.#items.push(item);
  }

  /** The oldest item, or undefined if none is queued. */
  shift(): T | undefined {
    return this.#items.shift();
  }

  /**
   * Waits up to `timeoutMs` for an item: resolves the item, or null on timeout;
   * rejects with the close reason once closed, or with the signal's reason.
   */
  take(timeoutMs: number, signal: AbortSignal | undefined): Promise<U | null> {
    if (this.#closed) return Promise.reject(this.closedError());
    return new Promise<U | null>((resolve, reject) => {
      const deadline = Number.isFinite(timeoutMs) ? performance.now() + timeoutMs : Infinity;
      const waiter: Waiter<U> = { resolve, reject, deadline, signal, onAbort: undefined };
      if (signal !== undefined) {
        waiter.onAbort = () => this.#remove(waiter, signal.reason ?? new Error("Aborted"));
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.#waiters.push(waiter);
      if (deadline < this.#timerAt) this.#arm(deadline);
    });
  }

  /** Closes the queue: pending and later waiters reject; returns what was still queued. */
  close(): T[] {
    this.#closed = true;
    this.#disarm();
    const left = this.#items.drain();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) {
      this.#unlisten(waiter);
      waiter.reject(this.#closeReason());
    }
    return left;
  }

  /** Resolves null for every waiter whose deadline passed; re-arms for the next one. */
  #expireDue(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    const kept: Waiter<U>[] = [];
    const due: Waiter<U>[] = [];
    for (const waiter of this.#waiters) {
      if (waiter.deadline <= now) due.push(waiter);
      else {
        kept.push(waiter);
        if (waiter.deadline < next) next = waiter.deadline;
      }
    }
    this.#waiters = kept;
    if (next < Infinity) this.#arm(next);
    for (const waiter of due) {
      this.#unlisten(waiter);
      waiter.resolve(null);
    }
  }

  #remove(waiter: Waiter<U>, reason: unknown): void {
    const index = this.#waiters.indexOf(waiter);
    if (index < 0) return;
    this.#waiters.splice(index, 1);
    this.#unlisten(waiter);
    waiter.reject(reason);
  }

  #arm(deadline: number): void {
    this.#disarm();
    this.#timerAt = deadline;
    // A timer that fires early (a little, or a deadline beyond the longest
    // delay a timer takes) finds nothing due and re-arms for the rest.
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(deadline - performance.now())));
    this.#timer = setTimeout(this.#onTimer, delay);
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #unlisten(waiter: Waiter<U>): void {
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener("abort", waiter.onAbort);
  }
}
