/**
 * Shared by the native library's tests (native_poller_test.ts,
 * native_socket_test.ts): the loaded library, a scope that closes whatever a
 * test opened, the leak check around each test, and connected TCP pairs.
 *
 * @module
 */

import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { loadNative, NativeError } from "../../ffi/mod.ts";
import { openFds } from "./resources.ts";
import { sleep, until } from "./wait.ts";

/** The library under test, loaded once per test file. */
export const native = loadNative();
/** UTF-8 bytes of `text` (addresses cross the boundary as bytes). */
export const enc = (text: string): Uint8Array => new TextEncoder().encode(text);
/** 127.0.0.1 as bytes. */
export const LOOPBACK = enc("127.0.0.1");

/** Closes whatever a test opened, even when it fails. */
export class Scope {
  readonly #sockets = new Set<number>();
  readonly #pollers: number[] = [];
  readonly #files: string[] = [];

  /** Keeps `handle` for closing; a negative one fails the test, naming `what`. */
  socket(handle: number, what = "socket"): number {
    assert.ok(handle >= 0, `${what} failed with code ${handle}`);
    this.#sockets.add(handle);
    return handle;
  }

  /** A new poller with `backend`, destroyed at the end. */
  poller(backend: number): number {
    const poller = native.pollerCreate(backend);
    assert.ok(poller >= 0, `pollerCreate(${backend}) failed with code ${poller}`);
    this.#pollers.push(poller);
    return poller;
  }

  /** Closes a socket now (abortive unless told otherwise) and expects success. */
  close(handle: number, abortive = true): void {
    assert.equal(native.close(handle, abortive), 0);
    this.#sockets.delete(handle);
  }

  /** Marks a socket as already closed by the test. */
  forget(handle: number): void {
    this.#sockets.delete(handle);
  }

  /** Removes `path` at the end. */
  file(path: string): string {
    this.#files.push(path);
    return path;
  }

  /** Closes every socket and poller and removes every file still held. */
  closeAll(): void {
    for (const sock of this.#sockets) native.close(sock, true);
    this.#sockets.clear();
    for (const poller of this.#pollers.splice(0)) native.pollerDestroy(poller);
    for (const file of this.#files.splice(0)) rmSync(file, { force: true });
  }
}

let parkWarmed: Promise<void> | undefined;

/**
 * Parks once on a throwaway poller, so that whatever the runtime opens for its
 * first park (Bun's park worker thread and its own descriptors) is open before
 * any test counts descriptors, not charged to the test that parks first.
 */
function warmPark(): Promise<void> {
  parkWarmed ??= (async () => {
    const poller = native.pollerCreate(0);
    if (poller < 0) return;
    await native.pollerPark(poller, 0);
    await native.pollerPark(poller, 1);
    native.pollerDestroy(poller);
    await sleep(20);
  })();
  return parkWarmed;
}

/** Runs `body` and checks that native handles and descriptors are back where they were. */
export function leakFree(body: (scope: Scope) => Promise<void> | void): () => Promise<void> {
  return async () => {
    await warmPark();
    const handles = native.handleCount();
    const fds = openFds();
    const scope = new Scope();
    try {
      await body(scope);
    } finally {
      scope.closeAll();
    }
    assert.equal(native.handleCount(), handles, "native handles leaked");
    assert.equal(openFds(), fds, "descriptors leaked");
  };
}

/** Accepts one connection from `listener`. */
export function acceptOne(scope: Scope, listener: number): Promise<number> {
  const out = new Int32Array(1);
  return until(
    "accept",
    () => native.accept(listener, out) === 1 ? scope.socket(out[0]!) : undefined,
  );
}

/** Waits until a non-blocking connect has completed. */
export async function connected(client: number): Promise<void> {
  await until("connect", () => {
    const state = native.connectCheck(client);
    if (state === NativeError.again) return undefined;
    assert.equal(state, 0, "connect failed");
    return true;
  });
}

/** A connected pair over `listener`'s address family. */
export async function pairOn(
  scope: Scope,
  listener: number,
  connect: () => number,
): Promise<{ client: number; server: number }> {
  const client = scope.socket(connect(), "connect");
  const server = await acceptOne(scope, listener);
  await connected(client);
  return { client, server };
}

/** A connected TCP pair on 127.0.0.1. */
export async function tcpPair(scope: Scope): Promise<{ client: number; server: number }> {
  const listener = scope.socket(native.tcpListen(LOOPBACK, 0, 16), "tcpListen");
  const port = native.localPort(listener);
  return await pairOn(scope, listener, () => native.tcpConnect(LOOPBACK, port));
}
