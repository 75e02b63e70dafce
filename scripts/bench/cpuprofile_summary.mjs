// Plain JavaScript so that Node 20 runs it; JSDoc carries the types, which this lint rule cannot read.
// deno-lint-ignore-file explicit-module-boundary-types
/**
 * Reads a `.cpuprofile` (the Chrome format that `deno run --cpu-prof` and
 * `bun --cpu-prof` write) and ranks functions by self time.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { basename } from "node:path";

/**
 * @typedef {object} ProfileNode
 * @property {number} id
 * @property {{ functionName: string, url: string, lineNumber: number }} callFrame
 * @property {number[]} [children]
 */

/**
 * @typedef {object} SelfTime
 * @property {string} name function name with file and line
 * @property {number} ms self time
 * @property {number} share fraction of all samples (0..1)
 */

/**
 * @typedef {object} ProfileSummary
 * @property {number} wallMs time the profile covers
 * @property {number} sampledMs time covered by samples (sum of the sample intervals)
 * @property {number} idleMs samples in which the thread was idle
 * @property {SelfTime[]} functions by self time, largest first
 */

/**
 * @param {ProfileNode["callFrame"]} frame
 * @returns {string}
 */
function frameName(frame) {
  const name = frame.functionName === "" ? "(anonymous)" : frame.functionName;
  if (frame.url === "") return name;
  return `${name} ${basename(frame.url)}:${frame.lineNumber + 1}`;
}

/**
 * Self time per function (summed over every node of the same function).
 * A sample's time is the interval up to the next sample.
 *
 * @param {string} path
 * @returns {ProfileSummary}
 */
export function summarizeProfile(path) {
  const profile = JSON.parse(readFileSync(path, "utf8"));
  /** @type {ProfileNode[]} */
  const nodes = profile.nodes;
  /** @type {number[]} */
  const samples = profile.samples ?? [];
  /** @type {number[]} */
  const deltas = profile.timeDeltas ?? [];
  /** @type {Map<number, string>} */
  const nameOf = new Map(nodes.map((n) => [n.id, frameName(n.callFrame)]));
  /** @type {Map<string, number>} */
  const selfUs = new Map();
  let sampledUs = 0;
  for (let i = 0; i < samples.length; i++) {
    const us = Math.max(0, deltas[i + 1] ?? 0);
    sampledUs += us;
    const name = nameOf.get(/** @type {number} */ (samples[i])) ?? "(unknown)";
    selfUs.set(name, (selfUs.get(name) ?? 0) + us);
  }
  const idleUs = selfUs.get("(idle)") ?? 0;
  const functions = [...selfUs.entries()]
    .map(([name, us]) => ({ name, ms: us / 1000, share: sampledUs > 0 ? us / sampledUs : 0 }))
    .sort((a, b) => b.ms - a.ms);
  return {
    wallMs: (profile.endTime - profile.startTime) / 1000,
    sampledMs: sampledUs / 1000,
    idleMs: idleUs / 1000,
    functions,
  };
}
