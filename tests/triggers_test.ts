// The translation of raw OS readiness masks into Triggers (src/triggers.ts), for every backend
// family on any host: the masks are the documented constants of each OS (tofu.h's tofu_mask_bits),
// so the kqueue translator runs on Linux too. Where the host has a backend, the real library's
// constants are checked against the table first, so the table cannot drift from the OS.

import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { BackendId, loadNative } from "../ffi/mod.ts";
import { type MaskTranslator, maskTranslator, osInterestOf, Trigger } from "../src/triggers.ts";

/** [IN, OUT, ERR, HUP, NVAL, RDHUP, EOF, ERROR] of a backend, as tofu_mask_bits writes them. */
type Bits = readonly [number, number, number, number, number, number, number, number];

const EPOLL_LINUX: Bits = [0x001, 0x004, 0x008, 0x010, 0, 0x2000, 0, 0];
const POLL_LINUX: Bits = [0x001, 0x004, 0x008, 0x010, 0x020, 0x2000, 0, 0];
/** WSAPoll: POLLRDNORM, POLLWRNORM, POLLERR, POLLHUP, POLLNVAL. */
const WSAPOLL: Bits = [0x0100, 0x0010, 0x0001, 0x0002, 0x0004, 0, 0, 0];
/** kqueue: the mask is (-filter & 0xffff) | (flags << 16); EV_EOF 0x8000, EV_ERROR 0x4000. */
const EV_EOF = 0x8000 << 16;
const EV_ERROR = 0x4000 << 16;
const KQUEUE: Bits = [1, 2, 0, 0, 0, 0, EV_EOF, EV_ERROR];
const READ_FILTER = 1;
const WRITE_FILTER = 2;

const { accept, connect, send, recv, err } = Trigger;

test("the table's constants are the host library's, for every backend compiled in", (t) => {
  const native = loadNative();
  try {
    const compiled = native.backends();
    const expected: [number, Bits][] = process.platform === "linux"
      ? [[BackendId.epoll, EPOLL_LINUX], [BackendId.poll, POLL_LINUX]]
      : process.platform === "win32"
      ? [[BackendId.wsapoll, WSAPOLL], [BackendId.afd, EPOLL_LINUX]]
      : [[BackendId.kqueue, KQUEUE]];
    for (const [backend, bits] of expected) {
      if ((compiled & (1 << backend)) === 0) {
        t.diagnostic(`backend ${backend} is not compiled in here`);
        continue;
      }
      assert.deepEqual([...native.maskBits(backend)], bits, `mask bits of backend ${backend}`);
    }
  } finally {
    native.unload();
  }
});

test("osInterestOf: receiving and accepting read; sending and connecting write", () => {
  assert.equal(osInterestOf(0), 0);
  assert.equal(osInterestOf(recv), 1);
  assert.equal(osInterestOf(accept), 1);
  assert.equal(osInterestOf(send), 2);
  assert.equal(osInterestOf(connect), 2);
  assert.equal(osInterestOf(recv | send), 3);
  assert.equal(osInterestOf(recv | send | err), 3, "err is reported, never asked for");
});

/** The poll-like families: the same cases with each backend's own bits. */
for (
  const [name, family, bits] of [
    ["epoll (and afd, which reports epoll's bits)", "epoll", EPOLL_LINUX],
    ["poll", "poll", POLL_LINUX],
    ["WSAPoll", "poll", WSAPOLL],
  ] as const
) {
  const [IN, OUT, ERR, HUP, NVAL, RDHUP] = bits;
  const translate: MaskTranslator = maskTranslator(family, bits);

  test(`${name}: readable is the one read trigger the channel expects`, () => {
    assert.equal(translate(IN, recv | send), recv);
    assert.equal(translate(IN, accept), accept);
    assert.equal(translate(IN, recv | accept), recv, "recv comes first");
    assert.equal(translate(IN, send), 0, "nobody reads: nothing");
  });

  test(`${name}: writable is send, else connect`, () => {
    assert.equal(translate(OUT, send | recv), send);
    assert.equal(translate(OUT, connect), connect);
    assert.equal(translate(OUT, send | connect), send);
    assert.equal(translate(OUT, recv), 0);
    assert.equal(translate(IN | OUT, recv | send), recv | send);
  });

  test(`${name}: a hang-up with data is readable first, the error kept`, () => {
    assert.equal(translate(IN | HUP, recv), recv | err);
    assert.equal(translate(HUP, recv), err);
    assert.equal(translate(ERR, send), err);
    assert.equal(translate(OUT | ERR | HUP, connect), connect | err, "a refused connect");
    if (NVAL !== 0) assert.equal(translate(NVAL, recv), err);
    if (RDHUP !== 0) assert.equal(translate(RDHUP, recv), 0, "half-close alone is not a failure");
  });
}

test("kqueue: the read filter is the read trigger; EOF there fails only a non-receiver", () => {
  const translate = maskTranslator("kqueue", KQUEUE);
  assert.equal(translate(READ_FILTER, recv | send), recv);
  assert.equal(translate(READ_FILTER, accept), accept);
  assert.equal(translate(READ_FILTER, send), 0);
  assert.equal(translate(READ_FILTER | EV_EOF, recv), recv, "the read sees the end of stream");
  assert.equal(translate(READ_FILTER | EV_EOF, accept), accept | err);
  assert.equal(translate(READ_FILTER | EV_EOF, send), err);
});

test("kqueue: the write filter is send, else connect; EOF there is a failure", () => {
  const translate = maskTranslator("kqueue", KQUEUE);
  assert.equal(translate(WRITE_FILTER, send), send);
  assert.equal(translate(WRITE_FILTER, connect), connect);
  assert.equal(translate(WRITE_FILTER, recv), 0);
  assert.equal(translate(WRITE_FILTER | EV_EOF, send), err);
  assert.equal(translate(WRITE_FILTER | EV_EOF, connect), err, "a refused connect");
});

test("kqueue: EV_ERROR is a failure on any filter; other filters are nothing", () => {
  const translate = maskTranslator("kqueue", KQUEUE);
  assert.equal(translate(READ_FILTER | EV_ERROR, recv), err);
  assert.equal(translate(WRITE_FILTER | EV_ERROR, send | recv), err);
  assert.equal(translate(10, recv | send), 0, "an unknown filter (EVFILT_USER = -10)");
});
