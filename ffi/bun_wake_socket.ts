/**
 * The wake socket on Bun (see `wake_socket.ts`): `Bun.listen` on an abstract
 * Unix name; each byte-carrying chunk of the verified connection is one wake.
 *
 * @module
 */

import { newWakeAddress, TokenGate, type WakeSocket } from "./wake_socket.ts";

/** The part of a Bun socket this file uses. */
interface BunSocket {
  data: TokenGate | undefined;
  end(): void;
}

/** The part of `Bun.listen` this file uses. */
interface BunListen {
  listen(options: {
    unix: string;
    socket: {
      open(socket: BunSocket): void;
      data(socket: BunSocket, chunk: Uint8Array): void;
    };
  }): { stop(closeActiveConnections?: boolean): void };
}

/** Listens for the library's connection; undefined where Bun cannot (no abstract names). */
export function openBunWakeSocket(onWake: () => void): WakeSocket | undefined {
  const bun = (globalThis as { Bun?: BunListen }).Bun;
  if (bun === undefined) return undefined;
  const { name, token } = newWakeAddress();
  let verified: BunSocket | undefined;
  let listener: { stop(closeActiveConnections?: boolean): void };
  try {
    listener = bun.listen({
      unix: name,
      socket: {
        open(socket) {
          socket.data = new TokenGate(token);
        },
        data(socket, chunk) {
          const gate = socket.data!;
          const wakes = gate.feed(chunk);
          if (wakes < 0) return socket.end();
          if (verified === undefined && gate.passed) {
            verified = socket;
            // Nobody else may connect from now on.
            listener.stop(false);
          }
          if (wakes > 0) onWake();
        },
      },
    });
  } catch {
    return undefined;
  }
  return {
    name,
    token,
    close() {
      listener.stop(true);
      verified?.end();
      return Promise.resolve();
    },
  };
}
