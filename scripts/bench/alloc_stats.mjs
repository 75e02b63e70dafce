// Plain JavaScript so that Node 20 runs it; JSDoc carries the types, which this lint rule cannot read.
// deno-lint-ignore-file explicit-module-boundary-types
/**
 * Bytes a benchmark peer allocates on the JavaScript heap per message, in the
 * timed phase only. A tofu peer writes two marker lines on stderr:
 *
 *     TOFU-ALLOC start
 *     TOFU-ALLOC end <messages> <bytes|->
 *
 * On Deno, V8 counts every byte it allocates (`total_allocated_bytes` of
 * `node:v8`'s heap statistics) and the peer gives the difference itself. JSC
 * (Bun) has no such counter, so the peer runs with `BUN_JSC_logGC=1` and the
 * bytes are the sum of "bytes allocated this cycle" of the collections logged
 * between the markers: exact to one collection's threshold (about 8 MB) at
 * either end, which a long phase makes small per message. The log slows Bun
 * down, so the benchmark counts in a run of its own (`allocEnv`).
 *
 * @module
 */

const MARK = "TOFU-ALLOC ";
const GC_LINE = /bytes allocated this cycle: (\d+)/;

/** Environment a Bun peer needs for {@linkcode allocPerMessage}. */
export const BUN_ALLOC_ENV = { BUN_JSC_logGC: "1" };

/**
 * Bytes allocated per message in the timed phase of one peer, from its stderr;
 * undefined when the peer did not report (not a tofu peer, or no end marker).
 *
 * @param {string} stderr
 * @returns {number | undefined}
 */
export function allocPerMessage(stderr) {
  let inPhase = false;
  let gcBytes = 0;
  // Without Bun's GC log anywhere in its output a peer that cannot count reports nothing.
  const gcLogged = GC_LINE.test(stderr);
  for (const line of stderr.split("\n")) {
    const at = line.indexOf(MARK);
    if (at >= 0) {
      const [what, messages, bytes] = line.slice(at + MARK.length).trim().split(/\s+/);
      if (what === "start") {
        inPhase = true;
        gcBytes = 0;
      } else if (what === "end" && inPhase) {
        const n = Number(messages);
        if (!(n > 0)) return undefined;
        if (bytes !== undefined && bytes !== "-") return Number(bytes) / n;
        return gcLogged ? gcBytes / n : undefined;
      }
      continue;
    }
    const gc = inPhase ? line.match(GC_LINE) : null;
    if (gc !== null) gcBytes += Number(gc[1]);
  }
  return undefined;
}
