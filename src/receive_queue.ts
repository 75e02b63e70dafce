import { Ring } from "./ring.ts";

/**
 * The receive queue of one channel group: an unbounded FIFO of messages for the
 * app, with promise-based waiters (spec §7.2 `waitReceive`).
 *
 * @module
 */

/** A pending `take`: settled by a push, by its timeout, by its abort signal or by close. */
interface Waiter<U> {
  resolve(value: U | null): void;
  reject(reason: unknown): void;
  timer: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * FIFO ring of items with waiters. `T` is what the engine queues; `U` is what a
 * waiter gets (`deliver` converts at the moment of hand-over, so nothing is
 * converted for items that are dropped at close).
 */
export class ReceiveQueue<T, U> {
  #items = new Ring<T>();
  #waiters: Waiter<U>[] = [];
  #closed = false;
  #closeReason: () => unknown;
  #deliver: (item: T) => U;

  /** `closeReason` makes the error that waiters get once the queue is closed. */
  constructor(deliver: (item: T) => U, closeReason: () => unknown) {
    this.#deliver = deliver;
    this.#closeReason = closeReason;
  }

  /** Number of queued items. */
  get length(): number {
    return this.#items.length;
  }

  /** True once `close` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Queues an item, handing it straight to the oldest waiter if there is one. */
  push(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      this.#settle(waiter);
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
    return new Promise<U | null>((resolve, reject) => {
      const waiter: Waiter<U> = { resolve, reject, timer: undefined, signal, onAbort: undefined };
      if (Number.isFinite(timeoutMs)) {
        waiter.timer = setTimeout(() => this.#expire(waiter, null), timeoutMs);
      }
      if (signal !== undefined) {
        waiter.onAbort = () => this.#expire(waiter, signal.reason ?? new Error("Aborted"));
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.#waiters.push(waiter);
    });
  }

  /** Closes the queue: pending and later waiters reject; returns what was still queued. */
  close(): T[] {
    this.#closed = true;
    const left = this.#items.drain();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) {
      this.#settle(waiter);
      waiter.reject(this.#closeReason());
    }
    return left;
  }

  #expire(waiter: Waiter<U>, abortReason: unknown): void {
    const index = this.#waiters.indexOf(waiter);
    if (index < 0) return;
    this.#waiters.splice(index, 1);
    this.#settle(waiter);
    if (abortReason === null) waiter.resolve(null);
    else waiter.reject(abortReason);
  }

  #settle(waiter: Waiter<U>): void {
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener("abort", waiter.onAbort);
  }
}
