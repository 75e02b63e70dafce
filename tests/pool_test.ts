// Message pool: spec §7.1 and §12, scenarios S-011 and S-018..S-020 at the pool level
// (the engine-level versions go through ampe.get/put, which wrap exactly these calls).
import { test } from "node:test";
import assert from "node:assert/strict";
import { AmpeError } from "../src/ampe_error.ts";
import { AmpeStatus } from "../src/status.ts";
import { AllocationStrategy, normalizePoolOptions, Pool } from "../src/pool.ts";
import { detachStore, Message, wrapStore } from "../src/message.ts";
import type { MessageStore } from "../src/message_store.ts";
import { OpCode } from "../src/opcode.ts";

function drainCount(pool: Pool): MessageStore[] {
  const taken: MessageStore[] = [];
  for (let s = pool.get("poolOnly"); s !== null; s = pool.get("poolOnly")) taken.push(s);
  return taken;
}

test("AllocationStrategy is a const object of the two strategy names", () => {
  assert.deepEqual(AllocationStrategy, { poolOnly: "poolOnly", always: "always" });
});

test("S-018: option normalisation", () => {
  assert.deepEqual(normalizePoolOptions(), { initialPoolMsgs: 16, maxPoolMsgs: 64 });
  assert.deepEqual(normalizePoolOptions({ initialPoolMsgs: null, maxPoolMsgs: null }), {
    initialPoolMsgs: 16,
    maxPoolMsgs: 64,
  });
  assert.deepEqual(normalizePoolOptions({ initialPoolMsgs: 0, maxPoolMsgs: 0 }), {
    initialPoolMsgs: 16,
    maxPoolMsgs: 64,
  });
  assert.deepEqual(normalizePoolOptions({ initialPoolMsgs: 1, maxPoolMsgs: 1 }), {
    initialPoolMsgs: 1,
    maxPoolMsgs: 1,
  });
  assert.deepEqual(normalizePoolOptions({ initialPoolMsgs: 32, maxPoolMsgs: 8 }), {
    initialPoolMsgs: 32,
    maxPoolMsgs: 32,
  });
  assert.deepEqual(normalizePoolOptions({ initialPoolMsgs: 100 }), {
    initialPoolMsgs: 100,
    maxPoolMsgs: 100,
  });
});

test("S-018: option values that are not u16 integers are refused", () => {
  for (const bad of [-1, 1.5, 65536, Number.NaN]) {
    const refused = (e: unknown) => e instanceof AmpeError && e.status === AmpeStatus.notAllowed;
    assert.throws(() => normalizePoolOptions({ initialPoolMsgs: bad }), refused);
    assert.throws(() => normalizePoolOptions({ maxPoolMsgs: bad }), refused);
  }
});

test("S-018: poolOnly gets until null count the initial messages", () => {
  const cases: [number | null, number | null, number][] = [
    [null, null, 16],
    [0, 0, 16],
    [1, 1, 1],
    [32, 8, 32],
  ];
  for (const [initial, max, expected] of cases) {
    const pool = new Pool(initial, max);
    const taken = drainCount(pool);
    assert.equal(taken.length, expected, `(${initial}, ${max})`);
    for (const s of taken) pool.put(s);
    assert.equal(pool.idle, expected);
  }
});

test("S-018: (2,2) keeps at most 2 idle messages", () => {
  const pool = new Pool(2, 2);
  const got = [1, 2, 3, 4].map(() => pool.get("always"));
  assert.ok(got.every((s) => s !== null));
  for (const s of got) pool.put(s as MessageStore);
  assert.equal(pool.idle, 2);
  assert.notEqual(pool.get("poolOnly"), null);
  assert.notEqual(pool.get("poolOnly"), null);
  assert.equal(pool.get("poolOnly"), null);
});

test("S-019: the smallest pool", () => {
  const pool = new Pool(1, 1);
  const m1 = pool.get("always");
  assert.notEqual(m1, null);
  assert.equal(pool.get("poolOnly"), null);
  const m3 = pool.get("always");
  assert.notEqual(m3, null);
  pool.put(m1 as MessageStore);
  pool.put(m3 as MessageStore);
  assert.notEqual(pool.get("poolOnly"), null);
  assert.equal(pool.get("poolOnly"), null);
});

test("S-020: last put is first out", () => {
  const pool = new Pool(1, 4);
  drainCount(pool);
  const a = pool.get("always") as MessageStore;
  const b = pool.get("always") as MessageStore;
  assert.notEqual(a, b);
  pool.put(a);
  pool.put(b);
  assert.equal(pool.get("poolOnly"), b);
  assert.equal(pool.get("poolOnly"), a);
  assert.equal(pool.get("poolOnly"), null);
});

test("S-011: a message put back comes out reset, and the old handle is dead", () => {
  const pool = new Pool(1, 1);
  const m = wrapStore(pool.get("always") as MessageStore);
  m.bhdr.channelNumber = 5;
  m.bhdr.messageId = 9n;
  m.bhdr.proto.opCode = OpCode.Signal;
  m.bhdr.proto.more = 1;
  m.bhdr.status = 3;
  m.thdrs.append("a", "b");
  m.body.append("body");
  pool.put(detachStore(m));
  const m2 = wrapStore(pool.get("poolOnly") as MessageStore);
  assert.deepEqual([...m2.bhdr.toBytes()], new Array(16).fill(0));
  assert.equal(m2.thdrs.byteLength, 0);
  assert.equal(m2.body.byteLength, 0);
  assert.throws(
    () => m.body.text(),
    (e: unknown) => e instanceof AmpeError && e.status === AmpeStatus.nullMessage,
  );
});

test("an application-made message joins the pool when put", () => {
  const pool = new Pool(1, 2);
  drainCount(pool);
  const extra = Message.create();
  extra.body.append("x");
  pool.put(detachStore(extra));
  assert.equal(pool.idle, 1);
  assert.equal(pool.get("poolOnly")?.body.length, 0);
});

test("onFreed runs once when a put lands in an empty pool after a refused poolOnly get", () => {
  let freed = 0;
  const pool = new Pool(1, 4, () => freed++);
  const a = pool.get("poolOnly") as MessageStore;
  const b = pool.get("always") as MessageStore;
  pool.put(a); // nobody was refused yet
  assert.equal(freed, 0);
  assert.equal(pool.get("poolOnly"), a);
  assert.equal(pool.get("poolOnly"), null); // refused
  assert.equal(pool.get("poolOnly"), null); // refused again: still one episode
  pool.put(a);
  assert.equal(freed, 1);
  pool.put(b); // the pool was not empty
  assert.equal(freed, 1);
  drainCount(pool); // refused again at the end
  pool.put(a);
  assert.equal(freed, 2);
});

test("after close, get throws shutdownStarted and put drops the message", () => {
  const pool = new Pool(2, 2);
  const s = pool.get("poolOnly") as MessageStore;
  pool.close();
  assert.equal(pool.closed, true);
  assert.equal(pool.idle, 0);
  for (const strategy of ["poolOnly", "always"] as const) {
    assert.throws(
      () => pool.get(strategy),
      (e: unknown) => e instanceof AmpeError && e.status === AmpeStatus.shutdownStarted,
    );
  }
  pool.put(s);
  assert.equal(pool.idle, 0);
});

test("inUse counts what was handed out and not put back; refusals count empty poolOnly gets", () => {
  const pool = new Pool(2, 2);
  const a = pool.get(AllocationStrategy.poolOnly)!;
  const b = pool.get(AllocationStrategy.poolOnly)!;
  assert.equal(pool.get(AllocationStrategy.poolOnly), null);
  const c = pool.get(AllocationStrategy.always)!;
  assert.deepEqual([pool.inUse, pool.refusals, pool.idle], [3, 1, 0]);
  pool.put(a);
  pool.put(b);
  pool.put(c); // beyond max: dropped, no longer in use either
  assert.deepEqual([pool.inUse, pool.refusals, pool.idle], [0, 1, 2]);
});
