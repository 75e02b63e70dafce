/**
 * Why a channel closed, and what the OS said. Every message the engine hands
 * back about a failure or a close carries reserved text headers: `~reason`
 * (peer_closed, peer_reset, bye, connect_failed, listen_failed…) and, when an
 * OS call failed, `~os_error` and `~os_errno`. `whyOf(msg)` reads them.
 * `rtr.stats()` shows what the engine did, as plain numbers.
 *
 * @module
 */

import { tmpdir } from "node:os";
import {
  AllocationStrategy,
  type Message,
  Reactor,
  TCPClientAddress,
  TCPServerAddress,
  UDSServerAddress,
  whyOf,
} from "../mod.ts";
import { connectPair, isClosed, next, show } from "./pair.ts";

// #region why
/** One line: the message, then why (and the OS error, if one caused it). */
function explain(msg: Message): string {
  const why = whyOf(msg);
  const os = why.osErrno === undefined ? "" : ` (${why.osError} ${why.osErrno})`;
  return `${show(msg)} | ${why.reason}${os}`;
}
// #endregion why

await using rtr = await Reactor.create();
const ampe = rtr.ampe();
const group = ampe.create();

/** Posts a request and prints everything that comes back until its channel closes. */
async function tell(what: string, request: Message): Promise<void> {
  const channel = group.post(request).channelNumber;
  for (;;) {
    const msg = await next(group);
    if (msg.bhdr.channelNumber !== channel) {
      ampe.put(msg);
      continue;
    }
    const closed = isClosed(msg);
    console.log(`${what}: ${explain(msg)}`);
    ampe.put(msg);
    if (closed) return;
  }
}

// A server that goes away without a Bye: here its engine is destroyed. Like a
// killed tofu process, it resets its connections: peer_reset (Wine closes
// them orderly instead: peer_closed).
{
  await using server = await Reactor.create();
  const serverAmpe = server.ampe();
  const serverGroup = serverAmpe.create();
  const { client } = await connectPair(serverAmpe, serverGroup, group, ampe);
  await server.destroy();
  for (;;) {
    const msg = await next(group);
    if (isClosed(msg) && msg.bhdr.channelNumber === client) {
      console.log(`server gone: ${explain(msg)}`);
      ampe.put(msg);
      break;
    }
    ampe.put(msg);
  }
}

// A port someone else listens on.
const taken = ampe.get(AllocationStrategy.always)!;
new TCPServerAddress("127.0.0.1", 0).format(taken);
group.post(taken);
const listening = await next(group);
const port = Number(listening.thdrs.get("~listening_on")!.split("|")[2]);
ampe.put(listening);
const again = ampe.get(AllocationStrategy.always)!;
new TCPServerAddress("127.0.0.1", port).format(again);
await tell("port in use", again);

// A port nobody listens on: a listener on it is closed first.
const closedPort = await (async () => {
  await using probe = await Reactor.create();
  const probeAmpe = probe.ampe();
  const probeGroup = probeAmpe.create();
  const m = probeAmpe.get(AllocationStrategy.always)!;
  new TCPServerAddress("127.0.0.1", 0).format(m);
  probeGroup.post(m);
  const r = await next(probeGroup);
  const free = Number(r.thdrs.get("~listening_on")!.split("|")[2]);
  probeAmpe.put(r);
  return free;
})();
const hello = ampe.get(AllocationStrategy.always)!;
new TCPClientAddress("127.0.0.1", closedPort).format(hello);
await tell("closed port", hello);

// A Unix socket path that is something else (the temporary directory): the
// engine never deletes what is not a stale socket of its own kind.
const welcome = ampe.get(AllocationStrategy.always)!;
new UDSServerAddress(tmpdir()).format(welcome);
await tell("not a socket", welcome);

// #region stats
const stats = rtr.stats();
console.log(
  `stats: ${stats.channels.listening} listening, ${stats.channels.open} open, ` +
    `${stats.messagesIn} in, ${stats.messagesOut} out, pool ${stats.pool.free} free ` +
    `${stats.pool.inUse} in use`,
);
// #endregion stats
