/**
 * The engine's read buffers ("slabs") that received bodies borrow instead of
 * being copied out of (zero-copy receive). A slab is read into only while no
 * body borrows from it; a borrowed one comes back when its last borrower is
 * cleared (the message put back or changed). At most `max` slabs exist: when
 * all are lent, the engine reads into its scratch buffer and copies.
 *
 * @module
 */

import { type Lender, viewOf } from "./byte_buffer.ts";

/** One read buffer; bodies of the frames read into it borrow its bytes. */
export class ReadSlab implements Lender {
  /** The memory read into. */
  readonly bytes: Uint8Array;
  /** A DataView of `bytes`. */
  readonly view: DataView;
  /** Bodies that borrow from it now. */
  refs = 0;
  readonly #owner: ReadSlabs;

  /** Internal: made by `ReadSlabs`. */
  constructor(owner: ReadSlabs, size: number) {
    this.#owner = owner;
    this.bytes = new Uint8Array(size);
    this.view = viewOf(this.bytes);
  }

  /** A borrower gave its bytes back. */
  release(): void {
    if (--this.refs === 0) this.#owner.returned(this);
  }
}

/**
 * The slabs of one engine.
 *
 * @example
 * ```ts
 * import { ReadSlabs } from "./read_slabs.ts";
 * const slabs = new ReadSlabs(2, 1024);
 * const a = slabs.forRead()!; // read into a; frames' bodies may borrow from it
 * a.refs++; // a body borrows
 * const b = slabs.forRead()!; // a is lent: another one
 * a.release(); // the body was cleared: a is free again
 * ```
 */
export class ReadSlabs {
  readonly #max: number;
  readonly #size: number;
  readonly #free: ReadSlab[] = [];
  #count = 0;
  #current: ReadSlab | null = null;

  /** At most `max` slabs of `size` bytes, made when first needed. */
  constructor(max: number, size: number) {
    this.#max = max;
    this.#size = size;
  }

  /**
   * The slab to read into now: the last one if nothing borrows from it, else
   * a free or new one; null when all `max` are lent (read elsewhere and copy).
   */
  forRead(): ReadSlab | null {
    const current = this.#current;
    if (current !== null && current.refs === 0) return current;
    let next = this.#free.pop() ?? null;
    if (next === null && this.#count < this.#max) {
      next = new ReadSlab(this, this.#size);
      this.#count++;
    }
    // A lent slab that stops being current comes back through `returned`.
    this.#current = next;
    return next;
  }

  /** Internal: `slab` has no borrowers left. */
  returned(slab: ReadSlab): void {
    if (slab !== this.#current) this.#free.push(slab);
  }
}
