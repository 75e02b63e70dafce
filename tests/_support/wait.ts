/**
 * Waiting in tests: a plain delay, and polling for a condition or a value
 * with a deadline, so that a test never hangs on something that must happen.
 *
 * @module
 */

import assert from "node:assert/strict";

/** How long a test waits for something that must happen (ms). */
export const DEADLINE_MS = 5_000;

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, ms));
}

/** Waits until `cond` holds, polling every 10 ms, failing after `ms`. */
export async function eventually(
  cond: () => boolean,
  ms = DEADLINE_MS,
  what = "condition",
): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Retries `attempt` every millisecond until it gives a value, failing after DEADLINE_MS. */
export async function until<T>(what: string, attempt: () => T | undefined): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const value = attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(1);
  }
}
