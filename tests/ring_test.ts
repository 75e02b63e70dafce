// The FIFO ring of src/ring.ts: order kept across wrap-around and growth, removal from the middle,
// and what an empty ring answers.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Ring } from "../src/ring.ts";

/** The ring's items from head to tail, read through `at`. */
function contents<T>(ring: Ring<T>): (T | undefined)[] {
  return Array.from({ length: ring.length }, (_, i) => ring.at(i));
}

test("an empty ring has nothing to shift, peek or remove", () => {
  const ring = new Ring<number>();
  assert.equal(ring.length, 0);
  assert.equal(ring.shift(), undefined);
  assert.equal(ring.peek(), undefined);
  assert.equal(ring.at(0), undefined);
  assert.equal(ring.removeAt(0), undefined);
  assert.deepEqual(ring.drain(), []);
});

test("items come out in the order they went in, across wrap-around and growth", () => {
  const ring = new Ring<number>(4);
  const expected: number[] = [];
  let next = 0;
  // Push three, shift two, repeatedly: the head walks around the buffer while it grows.
  for (let round = 0; round < 50; round++) {
    for (let k = 0; k < 3; k++) {
      ring.push(next);
      expected.push(next++);
    }
    for (let k = 0; k < 2; k++) assert.equal(ring.shift(), expected.shift());
    assert.equal(ring.length, expected.length);
    assert.equal(ring.peek(), expected[0]);
  }
  assert.deepEqual(contents(ring), expected);
  assert.deepEqual(ring.drain(), expected);
  assert.equal(ring.length, 0);
});

test("at: positions from the head; out of range is undefined", () => {
  const ring = new Ring<string>(2);
  for (const s of ["a", "b", "c", "d", "e"]) ring.push(s);
  ring.shift();
  assert.deepEqual(contents(ring), ["b", "c", "d", "e"]);
  assert.equal(ring.at(-1), undefined);
  assert.equal(ring.at(4), undefined);
});

test("removeAt keeps the order of the rest, also when the items wrap around", () => {
  const ring = new Ring<number>(8);
  for (let i = 0; i < 6; i++) ring.push(i);
  for (let i = 0; i < 5; i++) ring.shift(); // head near the end of the buffer
  for (let i = 6; i < 12; i++) ring.push(i); // items wrap around: 5..11
  assert.deepEqual(contents(ring), [5, 6, 7, 8, 9, 10, 11]);
  assert.equal(ring.removeAt(3), 8);
  assert.deepEqual(contents(ring), [5, 6, 7, 9, 10, 11]);
  assert.equal(ring.removeAt(0), 5, "the head");
  assert.equal(ring.removeAt(ring.length - 1), 11, "the tail");
  assert.equal(ring.removeAt(ring.length), undefined, "past the tail");
  assert.deepEqual(contents(ring), [6, 7, 9, 10]);
  ring.push(12);
  assert.deepEqual(ring.drain(), [6, 7, 9, 10, 12]);
});
