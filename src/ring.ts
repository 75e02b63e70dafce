/**
 * A growable FIFO ring buffer: O(1) push and shift with no allocation in the
 * steady state (arrays' own `shift` is O(n) and queues are hot here).
 *
 * @module
 */

/** FIFO of items. */
export class Ring<T> {
  #items: (T | undefined)[];
  /** Capacity - 1; the capacity is a power of two so that wrapping is a mask. */
  #mask: number;
  #head = 0;
  #count = 0;

  /** `capacity` is the initial size (rounded up to a power of two); the ring doubles when full. */
  constructor(capacity = 16) {
    let size = 2;
    while (size < capacity) size *= 2;
    this.#items = new Array(size);
    this.#mask = size - 1;
  }

  /** Number of items. */
  get length(): number {
    return this.#count;
  }

  /** Appends an item at the tail. */
  push(item: T): void {
    if (this.#count === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#count) & this.#mask] = item;
    this.#count++;
  }

  /** Removes and returns the head, or undefined when empty. */
  shift(): T | undefined {
    if (this.#count === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#count--;
    return item;
  }

  /** The head without removing it. */
  peek(): T | undefined {
    return this.#count === 0 ? undefined : this.#items[this.#head];
  }

  /** The item at position `i` from the head (0 = head). */
  at(i: number): T | undefined {
    return i < 0 || i >= this.#count ? undefined : this.#items[(this.#head + i) & this.#mask];
  }

  /** Removes the item at position `i` from the head, keeping the order of the rest. */
  removeAt(i: number): T | undefined {
    if (i === 0) return this.shift();
    if (i < 0 || i >= this.#count) return undefined;
    const mask = this.#mask;
    const item = this.#items[(this.#head + i) & mask];
    for (let k = i; k < this.#count - 1; k++) {
      this.#items[(this.#head + k) & mask] = this.#items[(this.#head + k + 1) & mask];
    }
    this.#items[(this.#head + this.#count - 1) & mask] = undefined;
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
    for (let i = 0; i < this.#count; i++) bigger[i] = this.#items[(this.#head + i) & this.#mask];
    this.#items = bigger;
    this.#mask = bigger.length - 1;
    this.#head = 0;
  }
}
