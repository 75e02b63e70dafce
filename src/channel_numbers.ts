/**
 * Channel number allocation for one engine (spec §6.1, [N3]): numbers are
 * uniformly random in 1..65534, never one that is active, and never one of
 * the 1024 most recently released (so a late message for a closed channel
 * cannot reach a new one).
 *
 * @module
 */

/** Lowest and highest usable channel numbers; 0 = unassigned, 65535 = reserved. */
export const FIRST_CHANNEL = 1;
export const LAST_CHANNEL = 65534;
/** How many released numbers stay out of use. */
export const QUARANTINE_SIZE = 1024;

const USABLE = LAST_CHANNEL - FIRST_CHANNEL + 1;

/** Allocates and releases channel numbers. */
export class ChannelNumbers {
  /** 0 free, 1 active, 2 quarantined. */
  #state = new Uint8Array(65536);
  #quarantine = new Uint16Array(QUARANTINE_SIZE);
  #quarantineHead = 0;
  #quarantineCount = 0;
  #active = 0;
  #random = new Uint16Array(256);
  #randomLeft = 0;

  /** Number of active channels. */
  get active(): number {
    return this.#active;
  }

  /** True if `n` is an active channel number. */
  isActive(n: number): boolean {
    return this.#state[n] === 1;
  }

  /** A fresh random number, now active; 0 if every number is taken. */
  allocate(): number {
    if (this.#active + this.#quarantineCount >= USABLE) return this.#allocateScan();
    for (;;) {
      const n = this.#nextRandom();
      if (n >= FIRST_CHANNEL && n <= LAST_CHANNEL && this.#state[n] === 0) {
        this.#state[n] = 1;
        this.#active++;
        return n;
      }
    }
  }

  /** Releases an active number into the quarantine; the oldest quarantined number becomes free. */
  release(n: number): void {
    if (this.#state[n] !== 1) return;
    this.#active--;
    if (this.#quarantineCount === QUARANTINE_SIZE) {
      const oldest = this.#quarantine[this.#quarantineHead]!;
      this.#state[oldest] = 0;
      this.#quarantineCount--;
      this.#quarantineHead = (this.#quarantineHead + 1) % QUARANTINE_SIZE;
    }
    const tail = (this.#quarantineHead + this.#quarantineCount) % QUARANTINE_SIZE;
    this.#quarantine[tail] = n;
    this.#quarantineCount++;
    this.#state[n] = 2;
  }

  /** With (almost) everything taken, random probing would spin: scan instead. */
  #allocateScan(): number {
    for (let n = FIRST_CHANNEL; n <= LAST_CHANNEL; n++) {
      if (this.#state[n] === 0) {
        this.#state[n] = 1;
        this.#active++;
        return n;
      }
    }
    return 0;
  }

  #nextRandom(): number {
    if (this.#randomLeft === 0) {
      crypto.getRandomValues(this.#random);
      this.#randomLeft = this.#random.length;
    }
    return this.#random[--this.#randomLeft]!;
  }
}
