/**
 * Addresses (spec §5): the helpers that turn a message into a HelloRequest
 * or WelcomeRequest carrying `~connect_to` / `~listen_on`, and the parser the
 * engine applies to such a message (with the [N12] rules).
 *
 * @module
 */

import { AmpeError } from "./ampe_error.ts";
import { utf8Length } from "./byte_buffer.ts";
import { type Message, storeOf } from "./message.ts";
import type { MessageStore } from "./message_store.ts";
import { OpCode } from "./opcode.ts";
import { defaultProto, OPCODE_MASK } from "./proto.ts";
import { AmpeStatus } from "./status.ts";
import { describeValue } from "./describe_value.ts";
import { checkMessage } from "./store_handle.ts";
import { appendHeader, readHeaders } from "./text_headers.ts";

/** Header naming the address a HelloRequest connects to. */
export const CONNECT_TO = "~connect_to";
/** Header naming the address a WelcomeRequest listens on. */
export const LISTEN_ON = "~listen_on";
/**
 * Header the engine adds to a WelcomeResponse when the OS chose the address
 * (TCP port 0, empty UDS path): the address really listened on, in the
 * `~listen_on` format.
 */
export const LISTENING_ON = "~listening_on";

const DEFAULT_HOST = "127.0.0.1";
const DEFAULT_PORT = 7099;

function checkPort(port: number | null | undefined): number {
  const p = port ?? DEFAULT_PORT;
  if (!(Number.isInteger(p) && p >= 0 && p <= 0xffff)) {
    throw new AmpeError(
      AmpeStatus.wrongAddress,
      `Port must be an integer 0..65535, got ${describeValue(p)}`,
    );
  }
  return p;
}

// JavaScript callers can pass anything: only a string (or nothing) names a host or a path.
function checkText(what: string, value: string | null | undefined, fallback: string): string {
  if (value === null || value === undefined) return fallback;
  if (typeof value !== "string") {
    throw new AmpeError(
      AmpeStatus.wrongAddress,
      `The ${what} must be a string, got ${describeValue(value)}`,
    );
  }
  return value;
}

// Zig's format: append the address header, then replace the binary header.
function formatInto(msg: Message, op: OpCode, name: string, value: string): void {
  checkMessage(msg, "format an address into it");
  const store = storeOf(msg);
  appendHeader(store, name, value);
  store.channelNumber = 0;
  store.proto = defaultProto(op);
  store.status = 0;
  store.midHi = 0;
  store.midLo = 0;
}

// A NUL ends the path, as in a C string.
function cutAtNul(path: string): string {
  const nul = path.indexOf("\0");
  return nul < 0 ? path : path.slice(0, nul);
}

/**
 * A TCP address to listen on. `ip` defaults to empty, which `format`
 * rejects (`WrongAddress`), as in Zig; the port defaults to 7099.
 *
 * @example
 * ```ts
 * import { Message, TCPServerAddress } from "@tofu/tofu";
 * const m = Message.create();
 * new TCPServerAddress("0.0.0.0", 7099).format(m);
 * m.thdrs.get("~listen_on"); // "tcp|0.0.0.0|7099"
 * ```
 */
export class TCPServerAddress {
  /** IP address to listen on. */
  readonly ip: string;
  /** TCP port. */
  readonly port: number;

  /**
   * Throws `AmpeError` (`wrongAddress`) for a port that is not an integer
   * 0..65535 or an ip that is not a string.
   */
  constructor(ip?: string | null, port?: number | null) {
    this.ip = checkText("ip", ip, "");
    this.port = checkPort(port);
  }

  /**
   * Makes `msg` a WelcomeRequest (whole binary header replaced) and appends
   * `~listen_on:tcp|ip|port`. Empty ip: `AmpeError` (`wrongAddress`).
   */
  format(msg: Message): void {
    if (this.ip.length === 0) {
      throw new AmpeError(
        AmpeStatus.wrongAddress,
        "TCP server address needs an IP address, got an empty string",
      );
    }
    formatInto(msg, OpCode.WelcomeRequest, LISTEN_ON, `tcp|${this.ip}|${this.port}`);
  }
}

/**
 * A TCP address to connect to; defaults 127.0.0.1 and 7099.
 *
 * @example
 * ```ts
 * import { Message, TCPClientAddress } from "@tofu/tofu";
 * const m = Message.create();
 * new TCPClientAddress("127.0.0.1", 7099).format(m);
 * m.thdrs.get("~connect_to"); // "tcp|127.0.0.1|7099"
 * ```
 */
export class TCPClientAddress {
  /** Host name or IP address. */
  readonly host: string;
  /** TCP port. */
  readonly port: number;

  /**
   * Throws `AmpeError` (`wrongAddress`) for a port that is not an integer
   * 0..65535 or a host that is not a string.
   */
  constructor(host?: string | null, port?: number | null) {
    this.host = checkText("host", host, DEFAULT_HOST);
    this.port = checkPort(port);
  }

  /** Makes `msg` a HelloRequest (whole binary header replaced) and appends `~connect_to:tcp|host|port`. */
  format(msg: Message): void {
    formatInto(msg, OpCode.HelloRequest, CONNECT_TO, `tcp|${this.host}|${this.port}`);
  }
}

/**
 * A Unix domain socket path to listen on. The path is cut at the first NUL;
 * its length is checked by the engine (too long: `invalidAddress`).
 *
 * @example
 * ```ts
 * import { Message, UDSServerAddress } from "@tofu/tofu";
 * const m = Message.create();
 * new UDSServerAddress("/tmp/app.sock").format(m);
 * m.thdrs.get("~listen_on"); // "uds|/tmp/app.sock"
 * ```
 */
export class UDSServerAddress {
  /** Socket path. */
  readonly path: string;

  /**
   * An empty path makes the engine pick a temporary one; a path that is not
   * a string throws `AmpeError` (`wrongAddress`).
   */
  constructor(path?: string | null) {
    this.path = cutAtNul(checkText("path", path, ""));
  }

  /** Makes `msg` a WelcomeRequest (whole binary header replaced) and appends `~listen_on:uds|path`. */
  format(msg: Message): void {
    formatInto(msg, OpCode.WelcomeRequest, LISTEN_ON, `uds|${this.path}`);
  }
}

/**
 * A Unix domain socket path to connect to. The path is cut at the first NUL.
 *
 * @example
 * ```ts
 * import { Message, UDSClientAddress } from "@tofu/tofu";
 * const m = Message.create();
 * new UDSClientAddress("/tmp/app.sock").format(m);
 * m.thdrs.get("~connect_to"); // "uds|/tmp/app.sock"
 * ```
 */
export class UDSClientAddress {
  /** Socket path. */
  readonly path: string;

  /**
   * The path of the server's socket; a path that is not a string throws
   * `AmpeError` (`wrongAddress`).
   */
  constructor(path?: string | null) {
    this.path = cutAtNul(checkText("path", path, ""));
  }

  /** Makes `msg` a HelloRequest (whole binary header replaced) and appends `~connect_to:uds|path`. */
  format(msg: Message): void {
    formatInto(msg, OpCode.HelloRequest, CONNECT_TO, `uds|${this.path}`);
  }
}

/** What the engine makes of a Hello/WelcomeRequest's address; `wrong` says why. */
export type ParsedAddress =
  | { kind: "tcpClient" | "tcpServer"; host: string; port: number }
  | { kind: "udsClient" | "udsServer"; path: string }
  | { kind: "wrong"; reason: string };

/** Options of {@linkcode parseAddress}. */
export interface ParseAddressOptions {
  /** A UDS path must be shorter than this many bytes (108 on Linux and Windows, 104 on macOS/BSD). */
  udsPathLimit: number;
}

function wrong(reason: string): ParsedAddress {
  return { kind: "wrong", reason };
}

/**
 * Parses the address of a HelloRequest or WelcomeRequest (spec §5.3 with
 * [N12]). The first header named exactly `~connect_to` or `~listen_on`
 * decides; a HelloRequest needs `~connect_to`, a WelcomeRequest `~listen_on`.
 * The value is `tcp|host|port` (port: decimal digits, 0..65535; an empty
 * host means 0.0.0.0 for a server and is wrong for a client) or `uds|path`
 * (path shorter than `udsPathLimit` bytes, no NUL). Anything else is
 * `wrong`.
 *
 * @example
 * ```ts
 * import { parseAddress, TCPClientAddress } from "./address.ts";
 * import { Message, storeOf } from "./message.ts";
 * const m = Message.create();
 * new TCPClientAddress("localhost", 80).format(m);
 * parseAddress(storeOf(m), { udsPathLimit: 108 });
 * // { kind: "tcpClient", host: "localhost", port: 80 }
 * ```
 */
export function parseAddress(store: MessageStore, opts: ParseAddressOptions): ParsedAddress {
  let header: { name: string; value: string } | undefined;
  for (const h of readHeaders(() => store.headers)) {
    if (h.name === CONNECT_TO || h.name === LISTEN_ON) {
      header = h;
      break;
    }
  }
  if (header === undefined) return wrong("no ~connect_to or ~listen_on header");
  const op = store.proto & OPCODE_MASK;
  const server = header.name === LISTEN_ON;
  if (server && op !== OpCode.WelcomeRequest) {
    return wrong(`~listen_on needs a WelcomeRequest, got opCode ${op}`);
  }
  if (!server && op !== OpCode.HelloRequest) {
    return wrong(`~connect_to needs a HelloRequest, got opCode ${op}`);
  }
  const parts = header.value.split("|");
  const [scheme = "", first = "", second = ""] = parts;
  if (parts.length === 2) {
    if (scheme !== "uds") return wrong(`"${header.value}" is not uds|path`);
    if (first.includes("\0")) return wrong(`UDS path ${JSON.stringify(first)} contains a NUL`);
    const size = utf8Length(first);
    if (size >= opts.udsPathLimit) {
      return wrong(`UDS path is ${size} bytes; it must be shorter than ${opts.udsPathLimit}`);
    }
    return { kind: server ? "udsServer" : "udsClient", path: first };
  }
  if (parts.length === 3) {
    if (scheme !== "tcp") return wrong(`"${header.value}" is not tcp|host|port`);
    if (!/^[0-9]{1,5}$/.test(second) || Number(second) > 0xffff) {
      return wrong(`port "${second}" is not a decimal number 0..65535`);
    }
    const port = Number(second);
    if (first.length === 0) {
      return server
        ? { kind: "tcpServer", host: "0.0.0.0", port }
        : wrong("TCP client needs a host");
    }
    return { kind: server ? "tcpServer" : "tcpClient", host: first, port };
  }
  return wrong(`"${header.value}" has ${parts.length} |-separated parts; expected 2 or 3`);
}
