// The routing of ChannelGroup.request (src/pending_requests.ts) on its own: which deliveries
// settle a pending request, and what the error says when the engine's messages carry the reserved
// failure headers (~reason, ~os_error, ~os_errno). The same routing over real sockets is in
// engine_request_test.ts; here the stores are made by hand, so every header case is covered.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { AmpeError } from "../src/ampe_error.ts";
import { AmpeStatus } from "../src/status.ts";
import { OpCode } from "../src/opcode.ts";
import { MessageStore } from "../src/message_store.ts";
import { detachStore, Message, storeOf } from "../src/message.ts";
import { snapshotHeader } from "../src/binary_header.ts";
import { appendHeader } from "../src/text_headers.ts";
import { MORE_BIT, ORIGIN_BIT } from "../src/proto.ts";
import { PendingRequests, type RequestHost } from "../src/pending_requests.ts";
import {
  CloseReason,
  OS_ERRNO_HEADER,
  OS_ERROR_HEADER,
  REASON_HEADER,
} from "../src/close_reason.ts";

const CH = 7;

/** A router whose `post` takes the message as is and whose pool is a list. */
function router(): { requests: PendingRequests; host: RequestHost; released: MessageStore[] } {
  const host: RequestHost = { awaiting: null };
  const released: MessageStore[] = [];
  const post = (msg: Message) => snapshotHeader(detachStore(msg));
  const requests = new PendingRequests(host, post, (store) => released.push(store));
  return { requests, host, released };
}

function request(mid: bigint, op: OpCode = OpCode.Request, ch = CH): Message {
  const m = Message.create();
  m.bhdr.proto.opCode = op;
  m.bhdr.channelNumber = ch;
  m.bhdr.messageId = mid;
  return m;
}

/** A delivered message: opCode, origin, status, channel, id, and text headers. */
function store(
  op: OpCode,
  fromEngine: boolean,
  status: number,
  mid: bigint,
  headers: [string, string][] = [],
  ch = CH,
): MessageStore {
  const s = storeOf(request(mid, op, ch));
  if (fromEngine) s.proto |= ORIGIN_BIT;
  s.status = status;
  for (const [name, value] of headers) appendHeader(s, name, value);
  return s;
}

async function rejection(p: Promise<unknown>): Promise<AmpeError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AmpeError, String(err));
    return err;
  }
  return assert.fail("expected a rejection");
}

describe("pending requests: routing", () => {
  test("the host's hook is set only while a request is pending", async () => {
    const { requests, host } = router();
    assert.equal(host.awaiting, null);
    const p = requests.send(request(1n), Infinity);
    assert.equal(host.awaiting, requests);
    assert.equal(requests.count, 1);
    assert.equal(requests.claim(store(OpCode.Response, false, 0, 1n)), true);
    assert.equal(host.awaiting, null);
    assert.equal(requests.count, 0);
    const msg = await p;
    assert.equal(msg.bhdr.messageId, 1n);
  });

  test("only the answering opCode from the application, same channel and id, settles a request", async () => {
    const { requests } = router();
    const p = requests.send(request(0x1_0000_0005n), Infinity);
    const passing = [
      store(OpCode.Response, false, 0, 5n), // same low half, other high half
      store(OpCode.Response, false, 0, 0x1_0000_0005n, [], CH + 1), // other channel
      store(OpCode.Signal, false, 0, 0x1_0000_0005n), // a progress Signal
      store(OpCode.Request, false, 0, 0x1_0000_0005n), // the peer asking with the same id
      store(OpCode.Response, false, AmpeStatus.receiverUpdate, 0x1_0000_0005n), // updateReceiver
      store(OpCode.Signal, true, AmpeStatus.poolEmpty, 0n), // an engine notice
    ];
    for (const s of passing) assert.equal(requests.claim(s), false);
    const answer = store(OpCode.Response, false, 0, 0x1_0000_0005n);
    answer.proto |= MORE_BIT; // the first part of several
    assert.equal(requests.claim(answer), true);
    assert.equal((await p).hasMore(), true);
  });

  test("requests with the same channel and id settle oldest first", async () => {
    const { requests } = router();
    const first = requests.send(request(9n), Infinity);
    const second = requests.send(request(9n), Infinity);
    const a = store(OpCode.Response, false, 0, 9n);
    appendHeader(a, "n", "1");
    const b = store(OpCode.Response, false, 0, 9n);
    appendHeader(b, "n", "2");
    assert.equal(requests.claim(a), true);
    assert.equal(requests.claim(b), true);
    assert.equal((await first).thdrs.get("n"), "1");
    assert.equal((await second).thdrs.get("n"), "2");
  });

  test("a request the engine hands back rejects after its close bundle, with the Signal's headers", async () => {
    const { requests, released } = router();
    const p = requests.send(request(3n), Infinity);
    const sent = requests.send(request(4n), Infinity);
    const errors = Promise.all([rejection(p), rejection(sent)]);
    const returned = store(OpCode.Request, true, AmpeStatus.peerDisconnected, 3n);
    assert.equal(requests.claim(returned), true);
    assert.deepEqual(released, [returned], "the returned request goes back to the pool");
    const signal = store(OpCode.Signal, true, AmpeStatus.channelClosed, 0n, [
      [REASON_HEADER, CloseReason.peerReset],
      [OS_ERROR_HEADER, "ECONNRESET"],
      [OS_ERRNO_HEADER, "104"],
    ]);
    assert.equal(requests.claim(signal), false, "the Signal still goes to the queue");
    const [e1, e2] = await errors;
    assert.equal(e1.status, AmpeStatus.peerDisconnected);
    assert.equal(e2.status, AmpeStatus.channelClosed);
    for (const e of [e1, e2]) {
      assert.equal(e.reason, "peer_reset");
      assert.equal(e.osError, "ECONNRESET");
      assert.equal(e.osErrno, 104);
      assert.match(e.message, /\(reason peer_reset, OS error ECONNRESET 104\)$/);
    }
    assert.match(e1.message, /message id 3\) on channel 7 came back .* peerDisconnected/);
    assert.match(e2.message, /message id 4\) on channel 7 got no response: the channel closed/);
  });

  test("a lone request handed back still gets the reason of the Signal that follows it", async () => {
    const { requests, host } = router();
    const p = requests.send(request(21n), Infinity);
    const rejected = rejection(p);
    assert.equal(requests.claim(store(OpCode.Request, true, AmpeStatus.connectFailed, 21n)), true);
    assert.equal(requests.count, 0);
    assert.equal(host.awaiting, requests, "still routing: the close bundle is not over");
    const signal = store(OpCode.Signal, true, AmpeStatus.channelClosed, 0n, [
      [REASON_HEADER, CloseReason.connectFailed],
      [OS_ERROR_HEADER, "ECONNREFUSED"],
      [OS_ERRNO_HEADER, "111"],
    ]);
    assert.equal(requests.claim(signal), false);
    const err = await rejected;
    assert.equal(host.awaiting, null, "out of the delivery path once settled");
    assert.equal(err.status, AmpeStatus.connectFailed);
    assert.equal(err.reason, "connect_failed");
    assert.equal(err.osError, "ECONNREFUSED");
    assert.equal(err.osErrno, 111);
  });

  test("a successful listen resolves whatever the WelcomeResponse's origin", async () => {
    for (const fromEngine of [false, true]) {
      const { requests } = router();
      const p = requests.send(request(31n, OpCode.WelcomeRequest), Infinity);
      assert.equal(requests.claim(store(OpCode.WelcomeResponse, fromEngine, 0, 31n)), true);
      assert.equal((await p).bhdr.proto.opCode, OpCode.WelcomeResponse);
    }
  });

  test("a failed listen rejects with the headers of the returned WelcomeResponse", async () => {
    const { requests } = router();
    const p = requests.send(request(11n, OpCode.WelcomeRequest), Infinity);
    const failed = store(OpCode.WelcomeResponse, true, AmpeStatus.listenFailed, 11n, [
      [REASON_HEADER, CloseReason.listenFailed],
      [OS_ERROR_HEADER, "EADDRINUSE"],
      [OS_ERRNO_HEADER, "98"],
    ]);
    assert.equal(requests.claim(failed), true);
    // No Signal in this task: the rejection comes at the end of it anyway.
    const err = await rejection(p);
    assert.equal(err.status, AmpeStatus.listenFailed);
    assert.equal(err.reason, "listen_failed");
    assert.equal(err.osError, "EADDRINUSE");
    assert.equal(err.osErrno, 98);
  });

  test("without reserved headers the error has no reason fields", async () => {
    const { requests } = router();
    const p = requests.send(request(12n), Infinity);
    requests.claim(store(OpCode.Signal, true, AmpeStatus.channelClosed, 0n, [["other", "x"]]));
    const err = await rejection(p);
    assert.equal(err.status, AmpeStatus.channelClosed);
    assert.equal("reason" in err, false, "no reason field at all");
    assert.equal(err.osError, undefined);
    assert.equal(err.osErrno, undefined);
    assert.match(err.message, /the channel closed$/);
  });

  test("a timeout longer than a timer can take (2^31 ms) does not expire at once", async () => {
    const { requests } = router();
    const rejected = rejection(requests.send(request(41n), 3e9));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(requests.count, 1, "still pending after 50 ms");
    requests.shutdown();
    assert.equal((await rejected).status, AmpeStatus.shutdownStarted);
  });

  test("shutdown rejects every pending request with shutdownStarted", async () => {
    const { requests, host } = router();
    const ps = [requests.send(request(1n), Infinity), requests.send(request(2n, 0, 8), 1000)];
    const errors = Promise.all(ps.map(rejection));
    requests.shutdown();
    assert.equal(host.awaiting, null);
    for (const err of await errors) assert.equal(err.status, AmpeStatus.shutdownStarted);
  });
});
