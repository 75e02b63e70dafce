// The receive queue of a channel group (src/receive_queue.ts): FIFO items, FIFO waiters served by
// a push, timeouts that resolve null, abort signals that reject with their reason, and close.

import { test } from "node:test";
import assert from "node:assert/strict";
import { ReceiveQueue } from "../src/receive_queue.ts";

/** A queue of numbers handed over as strings, so the test sees that `deliver` ran. */
function queue(): ReceiveQueue<number, string> {
  return new ReceiveQueue<number, string>((n) => `#${n}`, () => new Error("closed"));
}

test("queued items come out in order through shift", () => {
  const q = queue();
  for (const n of [3, 1, 2]) q.push(n);
  assert.equal(q.length, 3);
  assert.deepEqual([q.shift(), q.shift(), q.shift(), q.shift()], [3, 1, 2, undefined]);
  assert.equal(q.length, 0);
});

test("a push goes to the oldest waiter, converted by deliver, not into the queue", async () => {
  const q = queue();
  const first = q.take(Infinity, undefined);
  const second = q.take(Infinity, undefined);
  q.push(7);
  q.push(8);
  q.push(9);
  assert.deepEqual(await Promise.all([first, second]), ["#7", "#8"]);
  assert.equal(q.length, 1, "the third push had no waiter");
  assert.equal(q.shift(), 9, "queued items are not converted");
});

test("a take times out with null; a take served before its deadline gets the item", async () => {
  const q = queue();
  const short = q.take(10, undefined);
  const long = q.take(60_000, undefined);
  assert.equal(await short, null);
  q.push(1);
  assert.equal(await long, "#1", "the expired waiter was removed, the next one served");
  q.push(2);
  assert.equal(q.length, 1, "no waiter is left");
  q.close(); // stops the shared timer, still armed for the served waiter's deadline
});

test("waiters with different deadlines each time out (one shared timer re-arms)", async () => {
  const q = queue();
  const results = await Promise.all([
    q.take(30, undefined),
    q.take(5, undefined),
    q.take(15, undefined),
  ]);
  assert.deepEqual(results, [null, null, null]);
  q.push(4);
  assert.equal(q.length, 1);
});

test("an abort rejects that waiter with the signal's reason and leaves the others", async () => {
  const q = queue();
  const controller = new AbortController();
  const aborted = q.take(60_000, controller.signal);
  const other = q.take(60_000, undefined);
  const reason = new Error("stop");
  controller.abort(reason);
  await assert.rejects(aborted, (error) => error === reason);
  q.push(5);
  assert.equal(await other, "#5");
  q.close(); // stops the shared timer
});

test("close rejects pending and later waiters and returns what was still queued", async () => {
  const q = queue();
  const waiting = q.take(60_000, undefined);
  const closedError = (error: unknown) => error instanceof Error && error.message === "closed";
  assert.deepEqual(q.close(), [], "nothing was queued while someone waited");
  await assert.rejects(waiting, closedError);
  assert.equal(q.closed, true);
  await assert.rejects(q.take(60_000, undefined), closedError);

  const full = queue();
  full.push(1);
  full.push(2);
  assert.deepEqual(full.close(), [1, 2]);
  assert.equal(full.length, 0);
});
