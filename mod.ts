/**
 * tofu for Deno and Bun: an asynchronous, peer-to-peer message-passing engine
 * over TCP and Unix domain sockets.
 *
 * Every message is a 16-byte binary header, optional text headers and an
 * optional body. Channels open with WelcomeRequest (listen) or HelloRequest
 * (connect) and close with Bye; every outcome (data, failure, close, pool
 * exhaustion) reaches the app as a message through `waitReceive` (or, for
 * streams, many at a time through `receiveBatch`).
 *
 * @example
 * ```ts
 * import {
 *   AllocationStrategy, OpCode, Reactor, TCPClientAddress, TCPServerAddress,
 * } from "@tofu/tofu";
 * import { findFreeTcpPort } from "@tofu/tofu/testing";
 *
 * await using rtr = await Reactor.create();
 * const ampe = rtr.ampe();
 * const server = ampe.create();
 * const client = ampe.create();
 * const port = await findFreeTcpPort();
 *
 * const welcome = ampe.get(AllocationStrategy.always)!;
 * new TCPServerAddress("127.0.0.1", port).format(welcome);
 * server.post(welcome);
 * ampe.put(await server.waitReceive(1000)); // WelcomeResponse: listening
 *
 * const hello = ampe.get(AllocationStrategy.always)!;
 * new TCPClientAddress("127.0.0.1", port).format(hello);
 * client.post(hello);
 *
 * const request = (await server.waitReceive(1000))!; // the client's HelloRequest
 * request.bhdr.proto.opCode = OpCode.HelloResponse;
 * server.post(request); // accept
 * const accepted = await client.waitReceive(1000); // HelloResponse
 * ampe.put(accepted);
 * ```
 *
 * @module
 */

export { DefaultOptions, Reactor } from "./src/reactor.ts";
export type { BackendName, Options } from "./src/reactor.ts";
export { Ampe } from "./src/ampe.ts";
export { ChannelGroup } from "./src/channel_group.ts";
export { WAIT_INFINITE, WAIT_SECOND } from "./src/wait_args.ts";
export type { WaitReceiveOptions } from "./src/wait_args.ts";
export type { RequestOptions } from "./src/pending_requests.ts";
export { AllocationStrategy } from "./src/pool.ts";
export { Message } from "./src/message.ts";
export { BinaryHeader } from "./src/binary_header.ts";
export type { BinaryHeaderConstructor, ProtoFields } from "./src/binary_header.ts";
export { TextHeaders } from "./src/text_headers.ts";
export type { TextHeader } from "./src/text_headers.ts";
export { Body } from "./src/body.ts";
export {
  echo,
  getRole,
  getType,
  isRequest,
  isResponse,
  isSignal,
  isValidOpCode,
  MessageRole,
  MessageType,
  MoreMessagesFlag,
  OobFlag,
  OpCode,
  OriginFlag,
} from "./src/opcode.ts";
export { AmpeStatus, errorName, rawToStatus, statusName } from "./src/status.ts";
export type { AmpeStatusName } from "./src/status.ts";
export { AmpeError, errorToStatus, rawToError } from "./src/ampe_error.ts";
export type { AmpeErrorOptions } from "./src/ampe_error.ts";
export {
  CONNECT_TO,
  LISTEN_ON,
  LISTENING_ON,
  TCPClientAddress,
  TCPServerAddress,
  UDSClientAddress,
  UDSServerAddress,
} from "./src/address.ts";
export { HEADER_SIZE, MAX_FRAME_SIZE } from "./src/wire.ts";
export {
  CloseReason,
  OS_ERRNO_HEADER,
  OS_ERROR_HEADER,
  REASON_HEADER,
  whyOf,
} from "./src/close_reason.ts";
export type { Why } from "./src/close_reason.ts";
export type {
  ChannelStats,
  GroupStats,
  PoolStats,
  ReactorStats,
  TrafficStats,
} from "./src/stats.ts";
