/**
 * Message ids: the process-global counter that `post` uses for messages
 * posted with id 0 (spec §6.3), and conversions between the bigint id of the
 * API and the two u32 halves the store keeps.
 *
 * @module
 */

import { AmpeError } from "./ampe_error.ts";
import type { MessageStore } from "./message_store.ts";
import { AmpeStatus } from "./status.ts";

const TWO_32 = 4294967296;
const MAX_U64 = 0xffff_ffff_ffff_ffffn;

// On globalThis so that two copies of this module (say, two import URLs) share one counter.
const COUNTER_KEY = Symbol.for("tofu.nextMessageId");

interface Counter {
  next: number;
}

function counter(): Counter {
  const g = globalThis as unknown as Record<symbol, Counter | undefined>;
  let c = g[COUNTER_KEY];
  if (c === undefined) {
    c = { next: 1 };
    g[COUNTER_KEY] = c;
  }
  return c;
}

const shared = counter();

/**
 * Gives `store` the next id of the process-global counter (1, 2, 3, ...) and
 * returns it. Ids are safe integers; at a million ids a second the counter
 * stays exact for about 285 years.
 *
 * @example
 * ```ts
 * import { MessageStore } from "./message_store.ts";
 * import { nextMessageId } from "./message_id.ts";
 * const a = nextMessageId(new MessageStore());
 * const b = nextMessageId(new MessageStore());
 * b === a + 1; // true
 * ```
 */
export function nextMessageId(store: MessageStore): number {
  const id = shared.next++;
  store.midHi = Math.floor(id / TWO_32);
  store.midLo = id >>> 0;
  return id;
}

/**
 * The store's message id as a bigint.
 *
 * @example
 * ```ts
 * import { MessageStore } from "./message_store.ts";
 * import { getMessageId } from "./message_id.ts";
 * getMessageId(new MessageStore()); // 0n
 * ```
 */
export function getMessageId(fields: { midHi: number; midLo: number }): bigint {
  return fields.midHi === 0
    ? BigInt(fields.midLo)
    : (BigInt(fields.midHi) << 32n) | BigInt(fields.midLo);
}

/**
 * Sets the message id from a bigint (0..2^64-1) or a non-negative safe
 * integer; anything else throws `AmpeError` (`invalidMessageId`).
 *
 * @example
 * ```ts
 * import { MessageStore } from "./message_store.ts";
 * import { setMessageId } from "./message_id.ts";
 * const s = new MessageStore();
 * setMessageId(s, 0xAABBCCDDEEFF0011n);
 * s.midHi.toString(16); // "aabbccdd"
 * ```
 */
export function setMessageId(
  fields: { midHi: number; midLo: number },
  id: bigint | number,
): void {
  if (typeof id === "bigint") {
    if (id < 0n || id > MAX_U64) throw badId(id);
    fields.midHi = Number(id >> 32n);
    fields.midLo = Number(id & 0xffff_ffffn);
  } else if (typeof id === "number" && Number.isSafeInteger(id) && id >= 0) {
    fields.midHi = Math.floor(id / TWO_32);
    fields.midLo = id >>> 0;
  } else {
    throw badId(id);
  }
}

function badId(id: unknown): AmpeError {
  return new AmpeError(
    AmpeStatus.invalidMessageId,
    `Message id must be a bigint 0..2^64-1 or a safe non-negative integer, got ${String(id)}`,
  );
}
