/**
 * The runtime's end of a kernel wake (`tofu_ring_start`): a Unix socket the
 * runtime's own event loop reads, to which the kernel sends a byte whenever
 * the poller it watches has something ready. The JavaScript thread is then
 * woken once, exactly as by the runtime's own sockets, instead of twice
 * (kernel → waiter thread → JavaScript thread).
 *
 * The runtime listens on a fresh abstract name (Linux: no file, no cleanup);
 * the library connects to it and first sends a random token, so that a
 * connection from anybody else is told apart and dropped; then the listener
 * closes.
 *
 * @module
 */

/** A listening wake socket, made by a runtime adapter. */
export interface WakeSocket {
  /** The abstract socket name the library connects to (starts with NUL). */
  readonly name: string;
  /** What the library's connection sends first. */
  readonly token: Uint8Array;
  /**
   * Closes the listener and the connection; no wake runs afterwards. Resolves
   * once the runtime has let go of their descriptors.
   */
  close(): Promise<void>;
}

/** Makes a wake socket whose verified connection calls `onWake`, or undefined if the runtime cannot listen. */
export type WakeSocketFactory = (onWake: () => void) => WakeSocket | undefined;

const TOKEN_BYTES = 16;

/** A fresh abstract name and token for one wake socket. */
export function newWakeAddress(): { name: string; token: Uint8Array } {
  const token = crypto.getRandomValues(new Uint8Array(TOKEN_BYTES));
  const hex = Array.from(token.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
  return { name: `\0tofu-wake-${hex}`, token };
}

/**
 * Checks the token at the start of one accepted connection's bytes. `feed`
 * returns how many wake bytes a chunk carries after the token (0 while the
 * token is still incomplete), or -1 once the bytes differ from it.
 */
export class TokenGate {
  readonly #token: Uint8Array;
  #matched = 0;

  constructor(token: Uint8Array) {
    this.#token = token;
  }

  /** True once the whole token has arrived. */
  get passed(): boolean {
    return this.#matched === this.#token.length;
  }

  feed(chunk: Uint8Array): number {
    let i = 0;
    while (!this.passed && i < chunk.length) {
      if (chunk[i] !== this.#token[this.#matched]) return -1;
      this.#matched++;
      i++;
    }
    return chunk.length - i;
  }
}
