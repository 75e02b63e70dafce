/**
 * The message flow of one conversation, printed as it happens: listen,
 * connect, accept, a request and its response, a graceful bye. Server and
 * client are two channel groups of one engine.
 *
 * @module
 */

import { AllocationStrategy, OpCode, Reactor, TCPClientAddress, TCPServerAddress } from "../mod.ts";
import { findFreeTcpPort } from "../testing.ts";
import { isClosed, next, show } from "./pair.ts";

await using rtr = await Reactor.create();
const ampe = rtr.ampe();
const server = ampe.create();
const client = ampe.create();
const port = await findFreeTcpPort();

// #region flow
// Server: WelcomeRequest -> the engine answers WelcomeResponse once it listens.
const welcome = ampe.get(AllocationStrategy.always)!;
new TCPServerAddress("127.0.0.1", port).format(welcome);
server.post(welcome);
let msg = await next(server);
console.log("server <-", show(msg));
ampe.put(msg);

// Client: HelloRequest -> travels to the server, which accepts with HelloResponse.
const hello = ampe.get(AllocationStrategy.always)!;
new TCPClientAddress("127.0.0.1", port).format(hello);
const ch = client.post(hello).channelNumber;
msg = await next(server);
console.log("server <-", show(msg));
msg.bhdr.proto.opCode = OpCode.HelloResponse;
server.post(msg);
msg = await next(client);
console.log("client <-", show(msg));
ampe.put(msg);

// Request -> Response: same channel, same message id.
const request = ampe.get(AllocationStrategy.always)!;
request.bhdr.channelNumber = ch;
request.body.append("2+2");
client.post(request);
msg = await next(server);
console.log("server <-", show(msg));
msg.bhdr.proto.opCode = OpCode.Response;
msg.body.set("4");
server.post(msg);
msg = await next(client);
console.log("client <-", show(msg));
ampe.put(msg);

// ByeRequest -> ByeResponse; then each side gets the engine's channel_closed Signal.
const bye = ampe.get(AllocationStrategy.always)!;
bye.bhdr.proto.opCode = OpCode.ByeRequest;
bye.bhdr.channelNumber = ch;
client.post(bye);
msg = await next(server);
console.log("server <-", show(msg));
msg.bhdr.proto.opCode = OpCode.ByeResponse;
server.post(msg);
for (const [name, group] of [["client", client], ["server", server]] as const) {
  let closed = false;
  while (!closed) {
    msg = await next(group);
    console.log(`${name} <-`, show(msg));
    closed = isClosed(msg);
    ampe.put(msg);
  }
}
// #endregion flow
