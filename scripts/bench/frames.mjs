// Plain JavaScript so that Node 20 runs it; JSDoc carries the types, which this lint rule cannot read.
// deno-lint-ignore-file explicit-module-boundary-types
/**
 * The tofu wire frame (spec §3.1) for the raw-socket contenders: they encode
 * and parse every 16-byte binary header themselves, so they do the same
 * framing work as the engine.
 *
 * Layout: channel u16 | proto u8 | status u8 | message id u64 | thl u16 | bl u16,
 * all big-endian, then thl bytes of text headers and bl bytes of body.
 *
 * @module
 */

/** Size of the binary header. */
export const HEADER_SIZE = 16;
/** Largest frame: header + 65535 bytes of text headers + 65535 bytes of body. */
export const MAX_FRAME_SIZE = HEADER_SIZE + 65535 + 65535;
/** OpCode of what clients send. */
export const OP_REQUEST = 0;
/** OpCode of what servers answer (echo replies and acknowledgements). */
export const OP_RESPONSE = 1;
/** OpCodes above this are protocol violations ([N1]). */
const MAX_OPCODE = 9;

/**
 * Writes one frame with an empty text-header section at `buf[off]` and
 * returns the offset just after it.
 *
 * @param {Uint8Array} buf destination, with room for the frame
 * @param {number} off where the frame starts
 * @param {number} opCode 0..9
 * @param {number} mid message id (u32; the high half is written as zero)
 * @param {Uint8Array} body the body bytes (copied)
 * @returns {number}
 */
export function encodeFrame(buf, off, opCode, mid, body) {
  const bl = body.length;
  buf[off] = 0;
  buf[off + 1] = 1;
  buf[off + 2] = opCode;
  buf[off + 3] = 0;
  buf[off + 4] = 0;
  buf[off + 5] = 0;
  buf[off + 6] = 0;
  buf[off + 7] = 0;
  buf[off + 8] = mid >>> 24;
  buf[off + 9] = (mid >>> 16) & 0xff;
  buf[off + 10] = (mid >>> 8) & 0xff;
  buf[off + 11] = mid & 0xff;
  buf[off + 12] = 0;
  buf[off + 13] = 0;
  buf[off + 14] = bl >>> 8;
  buf[off + 15] = bl & 0xff;
  if (bl > 0) buf.set(body, off + HEADER_SIZE);
  return off + HEADER_SIZE + bl;
}

/**
 * Size of the frame whose header starts at `b[pos]` (16 + thl + bl). Throws
 * when the header's opCode is invalid: the stream is then unusable.
 *
 * @param {Uint8Array} b
 * @param {number} pos
 * @returns {number}
 */
export function frameSize(b, pos) {
  const opCode = /** @type {number} */ (b[pos + 2]) & 0x0f;
  if (opCode > MAX_OPCODE) {
    throw new Error(`Received a frame with invalid opCode ${opCode} (expected 0..${MAX_OPCODE})`);
  }
  const thl = (/** @type {number} */ (b[pos + 12]) << 8) | /** @type {number} */ (b[pos + 13]);
  const bl = (/** @type {number} */ (b[pos + 14]) << 8) | /** @type {number} */ (b[pos + 15]);
  return HEADER_SIZE + thl + bl;
}

/**
 * OpCode of the frame at `b[pos]`.
 *
 * @param {Uint8Array} b
 * @param {number} pos
 * @returns {number}
 */
export function opCodeAt(b, pos) {
  return /** @type {number} */ (b[pos + 2]) & 0x0f;
}

/**
 * Low 32 bits of the message id of the frame at `b[pos]`.
 *
 * @param {Uint8Array} b
 * @param {number} pos
 * @returns {number}
 */
export function midAt(b, pos) {
  return ((/** @type {number} */ (b[pos + 8]) << 24) | (/** @type {number} */ (b[pos + 9]) << 16) |
    (/** @type {number} */ (b[pos + 10]) << 8) | /** @type {number} */ (b[pos + 11])) >>> 0;
}

/**
 * Called once per complete frame: the frame is `buf[pos..pos+size]`, valid
 * only during the call.
 *
 * @callback FrameHandler
 * @param {Uint8Array} buf
 * @param {number} pos
 * @param {number} size
 * @returns {void}
 */

/**
 * Reassembles frames from a byte stream delivered in arbitrary chunks.
 * Complete frames are parsed in place in the chunk; only a frame split
 * across chunks is copied (into the reader's own carry buffer).
 */
export class FrameReader {
  #carry = new Uint8Array(MAX_FRAME_SIZE);
  #carryLength = 0;

  /**
   * Hands every frame completed by `chunk` to `onFrame`, in stream order.
   * The chunk may be reused by the caller afterwards.
   *
   * @param {Uint8Array} chunk
   * @param {FrameHandler} onFrame
   * @returns {void}
   */
  feed(chunk, onFrame) {
    let pos = 0;
    if (this.#carryLength > 0) {
      pos = this.#completeCarry(chunk, onFrame);
      if (pos < 0) return;
    }
    const end = chunk.length;
    while (end - pos >= HEADER_SIZE) {
      const size = frameSize(chunk, pos);
      if (end - pos < size) break;
      onFrame(chunk, pos, size);
      pos += size;
    }
    if (pos < end) {
      this.#carry.set(chunk.subarray(pos, end), 0);
      this.#carryLength = end - pos;
    }
  }

  /**
   * Tops up the carried partial frame from the front of `chunk`; returns how
   * much of the chunk it used, or -1 if the frame is still incomplete.
   *
   * @param {Uint8Array} chunk
   * @param {FrameHandler} onFrame
   * @returns {number}
   */
  #completeCarry(chunk, onFrame) {
    const carry = this.#carry;
    let pos = 0;
    if (this.#carryLength < HEADER_SIZE) {
      pos = Math.min(HEADER_SIZE - this.#carryLength, chunk.length);
      carry.set(chunk.subarray(0, pos), this.#carryLength);
      this.#carryLength += pos;
      if (this.#carryLength < HEADER_SIZE) return -1;
    }
    const size = frameSize(carry, 0);
    const take = Math.min(size - this.#carryLength, chunk.length - pos);
    carry.set(chunk.subarray(pos, pos + take), this.#carryLength);
    this.#carryLength += take;
    pos += take;
    if (this.#carryLength < size) return -1;
    this.#carryLength = 0;
    onFrame(carry, 0, size);
    return pos;
  }
}
