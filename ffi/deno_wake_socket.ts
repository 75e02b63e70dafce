/**
 * The wake socket on Deno (see `wake_socket.ts`): `Deno.listen` on an
 * abstract Unix name; each read of the verified connection that carries
 * bytes is one wake.
 *
 * @module
 */

import { newWakeAddress, TokenGate, type WakeSocket } from "./wake_socket.ts";

/** Room for the token and the wakes that pile up while the JS thread is busy. */
const READ_BYTES = 64;

/** Listens for the library's connection; undefined where Deno cannot. */
export function openDenoWakeSocket(onWake: () => void): WakeSocket | undefined {
  // Deno asks for net access to listen on an abstract name: without it, use
  // the waiter thread rather than prompt the user.
  if (Deno.permissions.querySync({ name: "net" }).state !== "granted") return undefined;
  const { name, token } = newWakeAddress();
  let listener: Deno.UnixListener;
  try {
    listener = Deno.listen({ transport: "unix", path: name });
  } catch {
    return undefined;
  }
  const conns = new Set<Deno.UnixConn>();
  /** Every loop that reads a connection, and the accept loop: done once their descriptors are closed. */
  const loops: Promise<void>[] = [];
  let listening = true;
  let closed = false;
  const stopListening = () => {
    if (!listening) return;
    listening = false;
    closeQuietly(listener);
  };
  const serve = async (conn: Deno.UnixConn): Promise<void> => {
    const gate = new TokenGate(token);
    const buf = new Uint8Array(READ_BYTES);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) return;
        const wakes = gate.feed(buf.subarray(0, n));
        if (wakes < 0) return;
        // Verified: nobody else may connect from now on.
        if (gate.passed) stopListening();
        if (wakes > 0 && !closed) onWake();
      }
    } catch {
      // Closed under the read: the wake socket is going away.
    } finally {
      conns.delete(conn);
      closeQuietly(conn);
    }
  };
  loops.push((async () => {
    try {
      for await (const conn of listener) {
        conns.add(conn);
        loops.push(serve(conn));
      }
    } catch {
      // The listener was closed.
    }
  })());
  return {
    name,
    token,
    close() {
      closed = true;
      stopListening();
      for (const conn of conns) closeQuietly(conn);
      return Promise.all(loops).then(() => {});
    },
  };
}

function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // Already closed.
  }
}
