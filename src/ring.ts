/**
 * A growable FIFO ring buffer: O(1) push and shift with no allocation in the
 * steady state (arrays' own `shift` is O(n) and queues are hot here).
 *
 * @module
 */

/** FIFO of items. */
export class Ring<T> {
  #items: (T | undefined)[];
  #head = 0;
  #count = 0;

  /** `capacity` is the initial size; the ring doubles when full. */
  constructor(capacity = 16) {
    this.#items = new Array(capacity);
  }

  /** Number of items. */
  get length(): number {
    return this.#count;
  }

  /** Appends an item at the tail. */
  push(item: T): void {
    if (this.#count === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#count) % this.#items.length] = item;
    this.#count++;
  }

  /** Removes and returns the head, or undefined when empty. */
  shift(): T | undefined {
    if (this.#count === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#items.length;
    this.#count--;
    return item;
  }

  /** The head without removing it. */
  peek(): T | undefined {
    return this.#count === 0 ? undefined : this.#items[this.#head];
  }

  /** The item at position `i` from the head (0 = head). */
  at(i: number): T | undefined {
    return i < 0 || i >= this.#count ? undefined : this.#items[(this.#head + i) % this.#items.length];
  }

  /** Removes the item at position `i` from the head, keeping the order of the rest. */
  removeAt(i: number): T | undefined {
    if (i < 0 || i >= this.#count) return undefined;
    const size = this.#items.length;
    const item = this.#items[(this.#head + i) % size];
    for (let k = i; k < this.#count - 1; k++) {
      this.#items[(this.#head + k) % size] = this.#items[(this.#head + k + 1) % size];
    }
    this.#items[(this.#head + this.#count - 1) % size] = undefined;
    this.#count--;
    return item;
  }

  /** Removes every item, returning them in order. */
  drain(): T[] {
    const out: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) out.push(item);
    return out;
  }

  #grow(): void {
    const bigger: (T | undefined)[] = new Array(this.#items.length * 2);
    for (let i = 0; i < this.#count; i++) bigger[i] = this.#items[(this.#head + i) % this.#items.length];
    this.#items = bigger;
    this.#head = 0;
  }
}
