// Echo service stress S-080, strict variant: a multi-homed echo service (TCP +
// UDS in one group; TCP only where a host check rules UDS out) and 10 clients per transport x 100
// echoes, every echo checked
// (spec §10.4, §12; recipes/services.zig EchoService, EchoClient).
import { describe as suite, test } from "node:test";
import assert from "node:assert/strict";
import {
  type Ampe,
  AmpeStatus,
  type ChannelGroup,
  echo,
  Message,
  OpCode,
  type Options,
} from "../mod.ts";
import {
  type Addresses,
  addresses,
  connect,
  describe,
  listen,
  postNew,
  recv,
  withEngines,
} from "./_support/scenario.ts";
import { HOST_TRANSPORTS } from "./_support/host.ts";

/** bun test applies its 5 s default to node:test tests unless a test names its own limit. */
const LIMIT = { timeout: 60_000 };

const E16_64: Options = { initialPoolMsgs: 16, maxPoolMsgs: 64 };
const CLIENTS_PER_TRANSPORT = 10;
const ECHOES = 100;

/** What the echo service saw. */
interface ServiceTally {
  hellos: number;
  requests: number;
  poolEmpty: number;
}

/**
 * The echo service on group `gs` until a receiver_update arrives: pool_empty
 * adds one new message to the pool; other engine messages are ignored;
 * requests are answered with `echo()`; every reply's body is the 16-byte
 * header of what it answers. Clients send no Signals, so none may arrive.
 */
async function echoService(ampe: Ampe, gs: ChannelGroup): Promise<ServiceTally> {
  const tally: ServiceTally = { hellos: 0, requests: 0, poolEmpty: 0 };
  for (;;) {
    const m = await recv(gs, 20000);
    if (m.bhdr.status === AmpeStatus.receiverUpdate) {
      ampe.put(m);
      return tally;
    }
    if (m.isFromEngine()) {
      if (m.bhdr.status === AmpeStatus.poolEmpty) {
        tally.poolEmpty++;
        ampe.put(Message.create());
      }
      ampe.put(m);
      continue;
    }
    const op = m.bhdr.proto.opCode;
    assert.ok(
      op === OpCode.HelloRequest || op === OpCode.Request,
      `echo service: unexpected ${describe(m)}`,
    );
    assert.equal(m.bhdr.status, AmpeStatus.success, `echo service: status of ${describe(m)}`);
    if (op === OpCode.HelloRequest) tally.hellos++;
    else tally.requests++;
    const header = m.bhdr.toBytes();
    m.bhdr.proto.opCode = echo(op);
    m.body.set(header);
    gs.post(m);
  }
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** The 16 bytes the service sees for this client's Request `k` on the server channel S. */
function requestHeader(S: number, k: number): Uint8Array {
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  view.setUint16(0, S);
  out[2] = OpCode.Request;
  view.setBigUint64(4, BigInt(k));
  view.setUint16(14, 16);
  return out;
}

/** The next message that is not a pool_empty Signal (those are put back). */
async function nextNonPoolEmpty(ampe: Ampe, g: ChannelGroup): Promise<Message> {
  for (;;) {
    const m = await recv(g, 20000);
    if (m.isFromEngine() && m.bhdr.status === AmpeStatus.poolEmpty) {
      ampe.put(m);
      continue;
    }
    return m;
  }
}

/** One EchoClient: connect, 100 checked echoes, ByeSignal, close bundle. Returns its echo count. */
async function echoClient(
  ampe: Ampe,
  gc: ChannelGroup,
  a: Addresses,
  who: string,
): Promise<number> {
  const { C, H } = connect(ampe, gc, a.client);
  const hello = await nextNonPoolEmpty(ampe, gc);
  assert.equal(
    describe(hello),
    `⟨HelloResponse | A | success | ${C} | ${H}⟩`,
    `${who}: the HelloResponse`,
  );
  // The service answered with the HelloRequest's header as it arrived: it names S.
  const seen = hello.body.bytes();
  assert.equal(seen.length, 16, `${who}: HelloResponse body is a 16-byte header`);
  const view = new DataView(seen.buffer, seen.byteOffset, 16);
  const S = view.getUint16(0);
  assert.equal(seen[2], OpCode.HelloRequest, `${who}: the service saw a HelloRequest`);
  assert.equal(view.getBigUint64(4), H, `${who}: the service saw H`);
  ampe.put(hello);

  let echoes = 0;
  for (let k = 1; k <= ECHOES; k++) {
    postNew(ampe, gc, (m) => {
      m.bhdr.channelNumber = C;
      m.bhdr.messageId = BigInt(k);
      m.body.append(requestHeader(0, k)); // 16 bytes of payload
    });
    const reply = await nextNonPoolEmpty(ampe, gc);
    assert.equal(describe(reply), `⟨Response | A | success | ${C} | ${k}⟩`, `${who}: echo ${k}`);
    assert.equal(hex(reply.body.bytes()), hex(requestHeader(S, k)), `${who}: body of echo ${k}`);
    ampe.put(reply);
    echoes++;
  }

  const b = postNew(ampe, gc, (m) => {
    m.bhdr.proto.opCode = OpCode.ByeSignal;
    m.bhdr.proto.oob = 1;
    m.bhdr.channelNumber = C;
  });
  const first = await nextNonPoolEmpty(ampe, gc);
  assert.equal(describe(first), `⟨ByeSignal | E | channelClosed | ${C} | ${b.mid}⟩`, `${who}: bye`);
  ampe.put(first);
  const last = await nextNonPoolEmpty(ampe, gc);
  assert.equal(describe(last), `⟨Signal | E | channelClosed | ${C} | ${H}⟩`, `${who}: closed`);
  ampe.put(last);
  return echoes;
}

/** Runs the whole S-080 setup: server on `server`, 10 clients per transport each in its own group on `client`. */
async function echoRun(serverAmpe: Ampe, clientAmpe: Ampe): Promise<void> {
  const gs = serverAmpe.create();
  // Over every transport this host has (both, except where a host check rules UDS out).
  const served = [];
  for (const t of HOST_TRANSPORTS) {
    const a = await addresses(t);
    await listen(serverAmpe, gs, a.server);
    served.push({ t, a });
  }
  const service = echoService(serverAmpe, gs);
  const clients: Promise<number>[] = [];
  for (let i = 0; i < CLIENTS_PER_TRANSPORT; i++) {
    for (const { t, a } of served) {
      const who = `client ${clients.length} (${t})`;
      clients.push(echoClient(clientAmpe, clientAmpe.create(), a, who));
    }
  }
  const settled = await Promise.allSettled(clients);
  gs.updateReceiver();
  const tally = await service;
  const failures = settled.filter((r) => r.status === "rejected")
    .map((r) => String((r as PromiseRejectedResult).reason));
  assert.deepEqual(failures, [], "every client completes");
  const total = settled.reduce((n, r) => n + (r.status === "fulfilled" ? r.value : 0), 0);
  assert.equal(total, served.length * CLIENTS_PER_TRANSPORT * ECHOES, "Σ echoes");
  assert.equal(
    tally.hellos,
    served.length * CLIENTS_PER_TRANSPORT,
    "the service accepted every client",
  );
  assert.equal(
    tally.requests,
    served.length * CLIENTS_PER_TRANSPORT * ECHOES,
    "the service answered every request",
  );
}

suite("echo", () => {
  test(
    "S-080 echo service stress, one engine E(16,64): 20 clients x 100 echoes",
    LIMIT,
    async () => {
      await withEngines([E16_64], async (rtr) => {
        await echoRun(rtr.ampe(), rtr.ampe());
      });
    },
  );

  test("S-080 echo service stress, server and clients in two engines", LIMIT, async () => {
    await withEngines([E16_64, E16_64], async (rs, rc) => {
      await echoRun(rs.ampe(), rc.ampe());
    });
  });
});
