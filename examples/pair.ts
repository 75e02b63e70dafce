/**
 * A connected pair in one process, used by the pattern examples: a server
 * group listening on a free TCP port (or a UDS path) and a client group
 * connected to it, with the hello handshake done.
 *
 * @module
 */

import {
  AllocationStrategy,
  type Ampe,
  AmpeStatus,
  type ChannelGroup,
  type Message,
  OpCode,
  statusName,
  TCPClientAddress,
  TCPServerAddress,
} from "../mod.ts";
import { findFreeTcpPort } from "../testing.ts";

/** The channel numbers of a connected pair, as each side sees them. */
export interface Pair {
  /** The listener's channel, in the server group. */
  readonly listener: number;
  /** The accepted connection, in the server group. */
  readonly server: number;
  /** The connection, in the client group. */
  readonly client: number;
}

const OP_NAMES = Object.fromEntries(Object.entries(OpCode).map(([name, code]) => [code, name]));

/** One line about a message: `Response | app | success | ch 7 | id 3 | "text"`. */
export function show(msg: Message): string {
  const { bhdr } = msg;
  const body = msg.body.byteLength > 0 ? ` | "${msg.body.text()}"` : "";
  const more = msg.hasMore() ? " | more" : "";
  return `${OP_NAMES[bhdr.proto.opCode]} | ${msg.isFromEngine() ? "engine" : "app"} | ${
    statusName(bhdr.status)
  } | ch ${bhdr.channelNumber} | id ${bhdr.messageId}${more}${body}`;
}

/** True for the engine's last message about a channel: a Signal with status channel_closed. */
export function isClosed(msg: Message): boolean {
  return msg.bhdr.proto.opCode === OpCode.Signal && msg.bhdr.status === AmpeStatus.channelClosed;
}

/** Waits for the next message and fails loudly when none comes in 5 s. */
export async function next(group: ChannelGroup): Promise<Message> {
  const msg = await group.waitReceive(5000);
  if (msg === null) throw new Error("no message within 5 s");
  return msg;
}

// #region pair
/**
 * Listens in `serverGroup`, connects from `clientGroup`, accepts: returns the
 * channels. `clientAmpe` is the client group's engine when it has its own.
 */
export async function connectPair(
  ampe: Ampe,
  serverGroup: ChannelGroup,
  clientGroup: ChannelGroup,
  clientAmpe: Ampe = ampe,
): Promise<Pair> {
  const port = await findFreeTcpPort();

  const welcome = ampe.get(AllocationStrategy.always)!;
  new TCPServerAddress("127.0.0.1", port).format(welcome);
  const listener = serverGroup.post(welcome).channelNumber;
  expectSuccess(await next(serverGroup), OpCode.WelcomeResponse, ampe);

  const hello = clientAmpe.get(AllocationStrategy.always)!;
  new TCPClientAddress("127.0.0.1", port).format(hello);
  const client = clientGroup.post(hello).channelNumber;

  const helloIn = await next(serverGroup); // the client's HelloRequest
  const server = helloIn.bhdr.channelNumber;
  helloIn.bhdr.proto.opCode = OpCode.HelloResponse; // accept it
  serverGroup.post(helloIn);
  expectSuccess(await next(clientGroup), OpCode.HelloResponse, clientAmpe);
  return { listener, server, client };
}
// #endregion pair

function expectSuccess(msg: Message, opCode: number, ampe: Ampe): void {
  const { status } = msg.bhdr;
  const got = msg.bhdr.proto.opCode;
  ampe.put(msg);
  if (got !== opCode || status !== 0) {
    throw new Error(
      `expected opCode ${opCode} with success, got ${got} with ${statusName(status)}`,
    );
  }
}
