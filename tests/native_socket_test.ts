// The native socket calls (scenario S-112, N13, N17, N18) and the boundary's
// defences: bad addresses, bad handles, bad lengths and offsets. Real sockets,
// the real library; every test checks that handles and descriptors are back.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { BackendId, NativeError } from "../ffi/mod.ts";
import { enc, leakFree, LOOPBACK, native, pairOn, Scope, tcpPair } from "./_support/native.ts";
import { abortiveCloseSkip, UDS_SKIP } from "./_support/host.ts";
import { until } from "./_support/wait.ts";

const RESET_SKIP = await abortiveCloseSkip();

/** Linux and Windows `sun_path` hold 108 bytes with the NUL; macOS and BSD 104. */
const SUN_PATH = process.platform === "linux" || process.platform === "win32" ? 108 : 104;

let pathCount = 0;
/** A fresh UDS path in the temp directory (not created). */
function tempPath(): string {
  return join(tmpdir(), `tofu_t${process.pid}_${pathCount++}.sock`);
}

async function udsPair(scope: Scope): Promise<{ client: number; server: number }> {
  const path = enc(scope.file(tempPath()));
  const listener = scope.socket(native.udsListen(path, 16), "udsListen");
  return await pairOn(scope, listener, () => native.udsConnect(path));
}

/** Sends all of `data`, retrying when the socket would block. */
async function sendAll(sock: number, data: Uint8Array): Promise<void> {
  let off = 0;
  await until("send", () => {
    const n = native.send(sock, data, off, data.length - off);
    if (n !== NativeError.again) {
      assert.ok(n > 0, `send failed with code ${n}`);
      off += n;
    }
    return off === data.length ? true : undefined;
  });
}

/** Receives exactly `length` bytes. */
async function recvExactly(sock: number, length: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let off = 0;
  await until("recv", () => {
    const n = native.recv(sock, buf, off, length - off);
    if (n !== NativeError.again) {
      assert.ok(n > 0, `recv gave ${n} after ${off} of ${length} bytes`);
      off += n;
    }
    return off === length ? true : undefined;
  });
  return buf;
}

/** The first result of `recv` that is not "would block". */
function recvResult(sock: number): Promise<number> {
  const buf = new Uint8Array(64);
  return until("recv result", () => {
    const n = native.recv(sock, buf, 0, buf.length);
    return n === NativeError.again ? undefined : n;
  });
}

/** True when a listener can bind ::1 here (containers often lack IPv6). */
function hasIpv6Loopback(): boolean {
  const listener = native.tcpListen(enc("::1"), 0, 1);
  if (listener < 0) return false;
  native.close(listener, true);
  return true;
}

function pattern(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 7 + seed) & 0xff);
}

for (const [family, pair] of [["TCP", tcpPair], ["UDS", udsPair]] as const) {
  describe(`S-112 ${family} sockets`, { skip: family === "UDS" ? UDS_SKIP : false }, () => {
    test(
      "1000-byte messages round-trip intact both ways",
      leakFree(async (scope) => {
        const { client, server } = await pair(scope);
        const ping = pattern(1000, 1);
        await sendAll(client, ping);
        assert.deepEqual(await recvExactly(server, 1000), ping);
        const pong = pattern(1000, 2);
        await sendAll(server, pong);
        assert.deepEqual(await recvExactly(client, 1000), pong);
      }),
    );

    test(
      "recv with no data would block (again), it is not EOF",
      leakFree(async (scope) => {
        const { client } = await pair(scope);
        assert.equal(native.recv(client, new Uint8Array(16), 0, 16), NativeError.again);
      }),
    );

    test(
      "an orderly close gives the peer EOF (0)",
      leakFree(async (scope) => {
        const { client, server } = await pair(scope);
        scope.close(server, false);
        assert.equal(await recvResult(client), 0);
      }),
    );

    test(
      "shutdown of the write side gives the peer EOF while the socket stays open",
      leakFree(async (scope) => {
        const { client, server } = await pair(scope);
        assert.equal(native.shutdown(server, 1), 0);
        assert.equal(await recvResult(client), 0);
        await sendAll(client, enc("still readable"));
        assert.deepEqual(await recvExactly(server, 14), enc("still readable"));
      }),
    );

    test(
      "sending 0 bytes sends nothing and is not an error",
      leakFree(async (scope) => {
        const { client, server } = await pair(scope);
        assert.equal(native.send(client, new Uint8Array(4), 4, 0), 0);
        assert.equal(native.recv(server, new Uint8Array(4), 0, 4), NativeError.again);
      }),
    );
  });
}

describe("S-112 TCP listeners and clients", () => {
  test(
    "accept before any client gives 0 (none), not an error",
    leakFree((scope) => {
      const listener = scope.socket(native.tcpListen(LOOPBACK, 0, 16));
      assert.equal(native.accept(listener, new Int32Array(4)), 0);
    }),
  );

  test(
    "an empty listen address means every interface, with an ephemeral port",
    leakFree(async (scope) => {
      const listener = scope.socket(native.tcpListen(new Uint8Array(0), 0, 16));
      const port = native.localPort(listener);
      assert.ok(port > 0 && port < 65536, `port ${port}`);
      await pairOn(scope, listener, () => native.tcpConnect(LOOPBACK, port));
    }),
  );

  test(
    "IPv6 loopback works",
    { skip: hasIpv6Loopback() ? false : "this host has no IPv6 loopback" },
    leakFree(async (scope) => {
      const listener = scope.socket(native.tcpListen(enc("::1"), 0, 16), "tcpListen ::1");
      const port = native.localPort(listener);
      await pairOn(scope, listener, () => native.tcpConnect(enc("::1"), port));
    }),
  );

  test(
    "a connect to a live listener gives a handle, connected or in progress",
    leakFree((scope) => {
      const listener = scope.socket(native.tcpListen(LOOPBACK, 0, 16));
      const client = scope.socket(native.tcpConnect(LOOPBACK, native.localPort(listener)));
      const state = native.connectCheck(client);
      assert.ok(state === 0 || state === NativeError.again, `connectCheck gave ${state}`);
    }),
  );

  test(
    "a connect where nobody listens fails with connRefused",
    leakFree(async (scope) => {
      const listener = scope.socket(native.tcpListen(LOOPBACK, 0, 16));
      const port = native.localPort(listener);
      scope.close(listener);
      const client = native.tcpConnect(LOOPBACK, port);
      if (client < 0) {
        assert.equal(client, NativeError.connRefused);
        return;
      }
      scope.socket(client);
      const state = await until("connect result", () => {
        const s = native.connectCheck(client);
        return s === NativeError.again ? undefined : s;
      });
      assert.equal(state, NativeError.connRefused);
    }),
  );

  test(
    "accept takes many pending connections, up to the capacity of its buffer per call",
    leakFree(async (scope) => {
      const listener = scope.socket(native.tcpListen(LOOPBACK, 0, 64));
      const port = native.localPort(listener);
      const clients = 20;
      for (let i = 0; i < clients; i++) scope.socket(native.tcpConnect(LOOPBACK, port));
      const out = new Int32Array(8);
      let accepted = 0;
      await until("20 accepted", () => {
        const n = native.accept(listener, out);
        assert.ok(n >= 0 && n <= out.length, `accept gave ${n}`);
        for (let i = 0; i < n; i++) scope.socket(out[i]!);
        accepted += n;
        return accepted === clients ? true : undefined;
      });
      assert.equal(native.accept(listener, out), 0, "nothing more is pending");
    }),
  );

  test(
    "an abortive close makes the peer see a reset",
    { skip: RESET_SKIP },
    leakFree(async (scope) => {
      const { client, server } = await tcpPair(scope);
      scope.close(server, true);
      assert.equal(await recvResult(client), NativeError.connReset);
    }),
  );

  test(
    "N17: a second listener on a live ip:port fails with addrInUse; after close one succeeds",
    leakFree((scope) => {
      const first = scope.socket(native.tcpListen(LOOPBACK, 0, 16));
      const port = native.localPort(first);
      assert.equal(native.tcpListen(LOOPBACK, port, 16), NativeError.addrInUse);
      scope.close(first);
      const again = scope.socket(native.tcpListen(LOOPBACK, port, 16), "listen after close");
      assert.equal(native.localPort(again), port);
    }),
  );

  for (
    const bad of [
      "localhost",
      "1.2.3",
      "256.1.1.1",
      "1.2.3.4.5",
      "127.0.0.1 ",
      "[::1]",
      "::zz",
      "\0",
    ]
  ) {
    test(
      `a malformed numeric address ${JSON.stringify(bad)} gives badAddr`,
      leakFree(() => {
        assert.equal(native.tcpListen(enc(bad), 0, 16), NativeError.badAddr);
        assert.equal(native.tcpConnect(enc(bad), 9), NativeError.badAddr);
      }),
    );
  }

  test(
    "ports outside 0..65535 and a negative backlog give inval",
    leakFree(() => {
      for (const port of [-1, 65536, 2 ** 31 - 1]) {
        assert.equal(native.tcpListen(LOOPBACK, port, 16), NativeError.inval, `listen ${port}`);
        assert.equal(native.tcpConnect(LOOPBACK, port), NativeError.inval, `connect ${port}`);
      }
      assert.equal(native.tcpConnect(LOOPBACK, 0), NativeError.inval, "connect to port 0");
      assert.equal(native.tcpListen(LOOPBACK, 0, -5), NativeError.inval, "negative backlog");
    }),
  );
});

test(
  "a refused connect keeps the OS error, and the library names it as the OS does",
  leakFree(async (scope) => {
    const listener = scope.socket(native.tcpListen(LOOPBACK, 0, 16), "listen");
    const port = native.localPort(listener);
    scope.close(listener, true);
    const sock = native.tcpConnect(LOOPBACK, port);
    let result = sock;
    if (sock >= 0) {
      scope.socket(sock);
      result = await until("the connect's outcome", () => {
        const r = native.connectCheck(sock);
        return r === NativeError.again ? undefined : r;
      });
    }
    assert.equal(result, NativeError.connRefused);
    const os = native.lastOsError();
    const expected = process.platform === "win32" ? "WSAECONNREFUSED" : "ECONNREFUSED";
    assert.equal(native.osErrorName(os), expected, `OS error ${os}`);
    assert.equal(native.osErrorName(-123456), "", "an unknown number has no name");
  }),
);

test(
  "without AF_UNIX, UDS listen and connect fail with afNoSupport before any path rule",
  { skip: UDS_SKIP ? false : "this host has AF_UNIX: nothing to check" },
  leakFree(() => {
    for (const path of [new Uint8Array(0), enc(tempPath())]) {
      assert.equal(native.udsListen(path, 16), NativeError.afNoSupport);
      assert.notEqual(native.lastOsError(), 0, "the OS error is kept for diagnostics");
    }
    // A missing path would be noEnt where AF_UNIX exists: here the family is what is missing.
    assert.equal(native.udsConnect(enc(tempPath())), NativeError.afNoSupport);
  }),
);

describe("S-112 UDS listeners and clients", { skip: UDS_SKIP }, () => {
  test(
    "accept before any client gives 0; the file is removed when the listener closes",
    leakFree((scope) => {
      const path = scope.file(tempPath());
      const listener = scope.socket(native.udsListen(enc(path), 16));
      assert.equal(native.accept(listener, new Int32Array(4)), 0);
      assert.ok(existsSync(path));
      assert.deepEqual(native.udsPath(listener), enc(path));
      scope.close(listener);
      assert.ok(!existsSync(path), "the listener's file is gone");
    }),
  );

  test(
    "connect to a missing path gives noEnt",
    leakFree(() => {
      assert.equal(native.udsConnect(enc("/tmp/tofu_no_such_socket_xyz.sock")), NativeError.noEnt);
    }),
  );

  test(
    "an empty listen path creates a fresh temporary path that works and is removed on close",
    leakFree(async (scope) => {
      const listener = scope.socket(native.udsListen(new Uint8Array(0), 16));
      const path = native.udsPath(listener);
      assert.ok(path instanceof Uint8Array && path.length > 0, `udsPath gave ${path}`);
      await pairOn(scope, listener, () => native.udsConnect(path));
      const text = new TextDecoder().decode(path);
      if (path[0] !== 0) assert.ok(existsSync(text), `${text} exists`);
      scope.close(listener);
      if (path[0] !== 0) assert.ok(!existsSync(text), `${text} is removed`);
    }),
  );

  test(
    "a path that does not fit sun_path gives nameTooLong; the longest that fits works",
    leakFree(async (scope) => {
      const dir = tmpdir();
      const fits = join(dir, "f".repeat(SUN_PATH - 1 - dir.length - 1));
      assert.equal(fits.length, SUN_PATH - 1);
      const tooLong = fits + "x";
      assert.equal(native.udsListen(enc(tooLong), 16), NativeError.nameTooLong);
      assert.equal(native.udsConnect(enc(tooLong)), NativeError.nameTooLong);
      assert.equal(native.udsListen(new Uint8Array(1 << 20).fill(65), 16), NativeError.nameTooLong);
      const listener = scope.socket(native.udsListen(enc(scope.file(fits)), 16));
      await pairOn(scope, listener, () => native.udsConnect(enc(fits)));
    }),
  );

  test(
    "N18: a live path gives addrInUse and keeps serving its owner",
    leakFree(async (scope) => {
      const path = enc(scope.file(tempPath()));
      const first = scope.socket(native.udsListen(path, 16));
      assert.equal(native.udsListen(path, 16), NativeError.addrInUse);
      await pairOn(scope, first, () => native.udsConnect(path));
    }),
  );

  test(
    "N18: a stale socket file is replaced; connecting to it before gives connRefused",
    leakFree(async (scope) => {
      const path = scope.file(tempPath());
      const moved = scope.file(tempPath());
      const old = scope.socket(native.udsListen(enc(path), 16));
      // Move the live socket's file away, so that closing its listener leaves
      // the moved file behind as a stale socket (nobody listens on it).
      renameSync(path, moved);
      scope.close(old);
      assert.ok(existsSync(moved), "the stale socket file is still there");
      assert.equal(native.udsConnect(enc(moved)), NativeError.connRefused);
      const fresh = scope.socket(native.udsListen(enc(moved), 16), "listen on a stale path");
      await pairOn(scope, fresh, () => native.udsConnect(enc(moved)));
    }),
  );

  test(
    "N18: a regular file gives notSock and is left untouched",
    leakFree((scope) => {
      const path = scope.file(tempPath());
      writeFileSync(path, "precious data");
      assert.equal(native.udsListen(enc(path), 16), NativeError.notSock);
      assert.equal(readFileSync(path, "utf8"), "precious data");
    }),
  );

  test(
    "N13: closing a listener does not unlink a path another listener owns now",
    leakFree(async (scope) => {
      const path = scope.file(tempPath());
      const old = scope.socket(native.udsListen(enc(path), 16));
      rmSync(path);
      const owner = scope.socket(native.udsListen(enc(path), 16), "listen on the freed path");
      scope.close(old);
      assert.ok(existsSync(path), "the new owner's file survived");
      await pairOn(scope, owner, () => native.udsConnect(enc(path)));
      scope.close(owner);
      assert.ok(!existsSync(path), "its owner's close removes it");
    }),
  );
});

describe("the boundary rejects bad handles", () => {
  test(
    "made-up handles give badHandle everywhere",
    leakFree(() => {
      const buf = new Uint8Array(8);
      for (const handle of [-1, 0, 123456, 2 ** 31 - 1, -(2 ** 31)]) {
        assert.equal(native.send(handle, buf, 0, 8), NativeError.badHandle, `send ${handle}`);
        assert.equal(native.recv(handle, buf, 0, 8), NativeError.badHandle, `recv ${handle}`);
        assert.equal(native.close(handle, true), NativeError.badHandle, `close ${handle}`);
        assert.equal(native.localPort(handle), NativeError.badHandle);
        assert.equal(native.connectCheck(handle), NativeError.badHandle);
        assert.equal(native.accept(handle, new Int32Array(2)), NativeError.badHandle);
        assert.equal(native.shutdown(handle, 2), NativeError.badHandle);
        assert.equal(native.udsPath(handle), NativeError.badHandle);
        assert.equal(native.pollerWake(handle), NativeError.badHandle);
        assert.equal(native.pollerDestroy(handle), NativeError.badHandle);
        assert.equal(native.pollerWait(handle, new Int32Array(8), 0), NativeError.badHandle);
      }
    }),
  );

  test(
    "a socket used as a poller and a poller used as a socket give badHandle",
    leakFree((scope) => {
      const sock = scope.socket(native.tcpListen(LOOPBACK, 0, 4));
      const poller = native.pollerCreate(BackendId.default);
      try {
        assert.equal(native.pollerWake(sock), NativeError.badHandle);
        assert.equal(native.pollerRegister(sock, sock, 1, 1), NativeError.badHandle);
        assert.equal(native.pollerRegister(poller, poller, 1, 1), NativeError.badHandle);
        assert.equal(native.close(poller, true), NativeError.badHandle);
        assert.equal(native.send(poller, new Uint8Array(1), 0, 1), NativeError.badHandle);
      } finally {
        native.pollerDestroy(poller);
      }
    }),
  );

  test(
    "a closed handle gives badHandle, and closing it twice too",
    leakFree(async (scope) => {
      const { client } = await tcpPair(scope);
      scope.close(client);
      assert.equal(native.send(client, new Uint8Array(1), 0, 1), NativeError.badHandle);
      assert.equal(native.recv(client, new Uint8Array(1), 0, 1), NativeError.badHandle);
      assert.equal(native.close(client, true), NativeError.badHandle);
      // A new socket never reuses the closed handle's number right away.
      const next = scope.socket(native.tcpListen(LOOPBACK, 0, 4));
      assert.notEqual(next, client);
      assert.equal(native.close(client, true), NativeError.badHandle);
    }),
  );

  test(
    "wake and wait after destroy give badHandle",
    leakFree(() => {
      const poller = native.pollerCreate(BackendId.default);
      assert.ok(poller >= 0);
      assert.equal(native.pollerDestroy(poller), 0);
      assert.equal(native.pollerWake(poller), NativeError.badHandle);
      assert.equal(native.pollerWait(poller, new Int32Array(8), 0), NativeError.badHandle);
      assert.equal(native.pollerDestroy(poller), NativeError.badHandle);
    }),
  );

  test(
    "an unknown backend id gives an error code",
    leakFree(() => {
      for (const backend of [-1, 6, 99]) {
        const poller = native.pollerCreate(backend);
        if (poller >= 0) native.pollerDestroy(poller);
        assert.ok(poller < 0, `pollerCreate(${backend}) gave ${poller}`);
      }
    }),
  );
});

describe("the boundary keeps C inside the caller's buffer", () => {
  // A made-up handle: if C were called it would answer badHandle, so `inval`
  // proves the span was rejected on the TypeScript side first.
  const NO_SOCKET = -1;
  const spans: [string, number, number][] = [
    ["offset beyond the end", 11, 0],
    ["length beyond the end", 0, 11],
    ["offset + length beyond the end", 6, 5],
    ["negative offset", -1, 2],
    ["negative length", 0, -1],
    ["huge length", 0, 2 ** 31 - 1],
    ["length above int32", 0, 2 ** 32 + 1],
    ["fractional offset", 0.5, 1],
    ["NaN length", 0, NaN],
    ["infinite length", 0, Infinity],
  ];

  for (const [what, off, len] of spans) {
    test(`send and recv with ${what} give inval without calling C`, () => {
      const buf = new Uint8Array(10);
      assert.equal(native.send(NO_SOCKET, buf, off, len), NativeError.inval);
      assert.equal(native.recv(NO_SOCKET, buf, off, len), NativeError.inval);
    });
  }

  for (const [what, off, len] of spans) {
    test(`sendv with a piece with ${what} gives inval without calling C`, () => {
      const buf = new Uint8Array(10);
      const segs = Int32Array.of(0, 0, 1, 1, 0, 0);
      segs[4] = off;
      segs[5] = len;
      // Int32Array wraps what is not an int32; the check sees the stored values.
      const stored = segs[4] !== off || segs[5] !== len;
      const got = native.sendv(NO_SOCKET, segs, 2, [buf, buf]);
      assert.equal(
        got,
        stored && segs[4]! >= 0 && segs[5]! >= 0 && segs[4]! + segs[5]! <= 10
          ? NativeError.badHandle
          : NativeError.inval,
      );
    });
  }

  test("sendv with a bad slot, count or slot list gives inval without calling C", () => {
    const buf = new Uint8Array(10);
    const one = Int32Array.of(0, 0, 1);
    assert.equal(native.sendv(NO_SOCKET, Int32Array.of(1, 0, 1), 1, [buf]), NativeError.inval);
    assert.equal(native.sendv(NO_SOCKET, Int32Array.of(-1, 0, 1), 1, [buf]), NativeError.inval);
    assert.equal(native.sendv(NO_SOCKET, one, 2, [buf]), NativeError.inval, "count beyond segs");
    assert.equal(native.sendv(NO_SOCKET, one, -1, [buf]), NativeError.inval);
    assert.equal(native.sendv(NO_SOCKET, one, 1.5, [buf]), NativeError.inval);
    const many = new Int32Array(3 * 65);
    assert.equal(native.sendv(NO_SOCKET, many, 65, [buf]), NativeError.inval, "65 pieces");
    assert.equal(native.sendv(NO_SOCKET, one, 1, []), NativeError.inval, "no slots");
    const slots = new Array<Uint8Array>(17).fill(buf);
    assert.equal(native.sendv(NO_SOCKET, one, 1, slots), NativeError.inval, "17 slots");
    assert.equal(native.sendv(NO_SOCKET, one, 1, [buf]), NativeError.badHandle, "C was called");
  });

  test(
    "sendv writes pieces of several buffers in order, with one call",
    leakFree(async (scope) => {
      const { client, server } = await tcpPair(scope);
      const head = enc("[header]");
      const body = enc("0123456789");
      const slots = [head, body, ...new Array<Uint8Array>(14).fill(head)];
      // "[he", "2345", an empty piece, "89" from the last slot, "der]"
      const segs = Int32Array.of(0, 0, 3, 1, 2, 4, 0, 5, 0, 15, 0, 0, 0, 4, 4);
      slots[15] = body.subarray(8);
      assert.equal(native.sendv(client, segs, 5, slots), 3 + 4 + 0 + 0 + 4);
      segs[11] = 2;
      assert.equal(native.sendv(client, segs.subarray(9), 1, slots), 2);
      assert.deepEqual(await recvExactly(server, 13), enc("[he2345der]89"));
      assert.equal(native.sendv(client, segs, 0, slots), 0, "nothing to send");
    }),
  );

  test(
    "a rejected recv leaves the buffer and the socket's data untouched",
    leakFree(async (scope) => {
      const { client, server } = await tcpPair(scope);
      await sendAll(server, enc("0123456789"));
      const buf = new Uint8Array(10).fill(0xee);
      assert.equal(native.recv(client, buf, 5, 6), NativeError.inval);
      assert.deepEqual(buf, new Uint8Array(10).fill(0xee));
      assert.deepEqual(await recvExactly(client, 10), enc("0123456789"));
    }),
  );

  test(
    "a span at the very end and a view into a larger buffer address the right bytes",
    leakFree(async (scope) => {
      const { client, server } = await tcpPair(scope);
      await sendAll(server, enc("abcd"));
      const backing = new Uint8Array(16);
      const view = backing.subarray(8, 12);
      await until("4 bytes", () => native.recv(client, view, 0, 4) === 4 ? true : undefined);
      assert.deepEqual([...backing], [...new Uint8Array(8), ...enc("abcd"), 0, 0, 0, 0]);
      assert.equal(native.send(client, view, 4, 0), 0, "an empty span at the end is valid");
      assert.equal(native.send(client, view, 2, 2), 2);
      assert.deepEqual(await recvExactly(server, 2), enc("cd"));
    }),
  );

  test(
    "zero-capacity event and accept buffers give inval",
    leakFree((scope) => {
      const poller = native.pollerCreate(BackendId.default);
      try {
        assert.equal(native.pollerWait(poller, new Int32Array(0), 0), NativeError.inval);
        assert.equal(native.pollerWait(poller, new Int32Array(1), 0), NativeError.inval);
        const listener = scope.socket(native.tcpListen(LOOPBACK, 0, 4));
        assert.equal(native.accept(listener, new Int32Array(0)), NativeError.inval);
      } finally {
        native.pollerDestroy(poller);
      }
    }),
  );
});
