/**
 * Closing channels (spec §11): the close bundle (every unsent message handed
 * back with the failure's status, then one `channel_closed` Signal that says
 * why), deletion without notifications, and the interest update whose
 * refusal closes a channel.
 *
 * @module
 */

import { AmpeStatus } from "./status.ts";
import type { MessageStore } from "./message_store.ts";
import { OpCode } from "./opcode.ts";
import { type Channel, ChannelKind, ChannelState } from "./channel.ts";
import { addFailureHeaders, engineSignal, opCodeOf, setOpCode } from "./engine_messages.ts";
import { type Failure, failureOf } from "./failure.ts";
import type { EngineContext } from "./engine_context.ts";

/** Statuses of a connect that never happened: its HelloRequest comes back as HelloResponse ([N4]). */
const CONNECT_FAILURES: ReadonlySet<number> = new Set([
  AmpeStatus.connectFailed,
  AmpeStatus.invalidAddress,
  AmpeStatus.udsPathNotFound,
  AmpeStatus.notImplementedYet,
]);

/** A Hello/Welcome request failed before its channel opened: the request comes back as the response. */
export function failRequest(
  ctx: EngineContext,
  ch: Channel,
  request: MessageStore,
  why: Failure,
): void {
  const response = opCodeOf(request) === OpCode.WelcomeRequest
    ? OpCode.WelcomeResponse
    : OpCode.HelloResponse;
  setOpCode(request, response);
  addFailureHeaders(request, why);
  ctx.returnToApp(ch, request, why.status);
  closeChannel(ctx, ch, why);
}

/**
 * Deletes a channel with its close bundle: every unsent message returned
 * with the failure's status, then one `channel_closed` Signal that says why
 * (`~reason`, and the OS error if one caused it); then the socket is closed
 * abortively and the number released (spec §11).
 */
export function closeChannel(ctx: EngineContext, ch: Channel, why: Failure): void {
  if (ch.state === ChannelState.closed) return;
  let midHi: number;
  let midLo: number;
  if (ch.kind === ChannelKind.listener) {
    midHi = ch.welcomeMidHi;
    midLo = ch.welcomeMidLo;
  } else {
    const connectFailure = CONNECT_FAILURES.has(why.status);
    for (const store of ch.outbox.takeUnsent()) {
      // [N4]: a HelloRequest that never got through comes back as HelloResponse.
      if (connectFailure && opCodeOf(store) === OpCode.HelloRequest) {
        setOpCode(store, OpCode.HelloResponse);
        addFailureHeaders(store, why);
      }
      ctx.returnToApp(ch, store, why.status);
    }
    // The first message received, else the HelloRequest (spec §10.5).
    midHi = ch.mid0Hi;
    midLo = ch.mid0Lo;
  }
  const last = engineSignal(
    ctx.pool.make(),
    AmpeStatus.channelClosed,
    ch.number,
    midHi,
    midLo,
  );
  addFailureHeaders(last, why);
  ctx.deliver(ch, last);
  dropChannel(ctx, ch);
}

/** Deletes a channel without notifications: unsent messages go back to the pool. */
export function dropChannel(ctx: EngineContext, ch: Channel): void {
  if (ch.state === ChannelState.closed) return;
  ch.state = ChannelState.closed;
  if (ch.sock >= 0) {
    ctx.core.detach(ch);
    ctx.native.close(ch.sock, true);
    ch.sock = -1;
  }
  if (ch.kind === ChannelKind.listener) {
    if (ch.acceptTimer !== undefined) clearTimeout(ch.acceptTimer);
    ch.acceptTimer = undefined;
  } else {
    for (const store of ch.outbox.takeUnsent()) ctx.pool.put(store);
    ch.decoder.reset();
    if (ch.poolEmptyTimer !== undefined) clearTimeout(ch.poolEmptyTimer);
    ch.poolEmptyTimer = undefined;
    ctx.starved.delete(ch);
  }
  ctx.numbers.release(ch.number);
  ctx.channels.delete(ch.number);
  ch.group.forget(ch);
}

/**
 * Applies the channel's interest to the poller. A change the OS refuses
 * would leave the channel watched for the wrong events (stalled, or
 * spinning), so the channel is closed with communication_failed instead.
 */
export function reconcile(ctx: EngineContext, ch: Channel): void {
  const result = ctx.core.reconcile(ch);
  if (result < 0) closeChannel(ctx, ch, failureOf(result, "poller", ctx.native));
}
