#!/usr/bin/env node
// Keeps the code in docs/ honest: every ```ts block in docs/*.md must be preceded by a marker
// `<!-- example: examples/<file>.ts#<region> -->` and be exactly that region of the example file
// (`// #region <name>` ... `// #endregion`), which tests/examples_test.ts runs.
//
// Usage: node scripts/check/docs.mjs          check; prints `docs: N passed, M failed`
//        node scripts/check/docs.mjs --write  rewrite every marked block from its region

import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const write = process.argv.includes("--write");

/** The regions of one example file, by name, with their common indentation removed. */
function regionsOf(file) {
  const lines = readFileSync(join(root, file), "utf8").split("\n");
  const regions = new Map();
  const open = [];
  lines.forEach((line, i) => {
    const start = line.match(/^\s*\/\/ #region (\S+)/);
    if (start) open.push({ name: start[1], from: i + 1 });
    else if (/^\s*\/\/ #endregion\b/.test(line)) {
      const region = open.pop();
      if (region === undefined) throw new Error(`${file}:${i + 1}: #endregion without #region`);
      const body = lines.slice(region.from, i).filter((l) => !/^\s*\/\/ #(end)?region\b/.test(l));
      regions.set(region.name, dedent(body));
    }
  });
  if (open.length > 0) throw new Error(`${file}: #region ${open[0].name} is never closed`);
  return regions;
}

function dedent(lines) {
  const indents = lines.filter((l) => l.trim() !== "").map((l) => l.match(/^ */)[0].length);
  const cut = Math.min(...indents);
  return lines.map((l) => l.slice(cut)).join("\n");
}

const cache = new Map();
function region(file, name) {
  if (!cache.has(file)) cache.set(file, regionsOf(file));
  const text = cache.get(file).get(name);
  if (text === undefined) throw new Error(`${file} has no region "${name}"`);
  return text;
}

let passed = 0;
let failed = 0;
const docs = readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).sort();
for (const doc of docs) {
  const path = join(root, "docs", doc);
  const text = readFileSync(path, "utf8");
  const block = /(<!-- example: (\S+?)#(\S+?) -->\n\n?)?```ts\n([\s\S]*?)```/g;
  const out = text.replace(block, (whole, marker, file, name, code) => {
    const where = `docs/${doc}: block ${JSON.stringify(code.split("\n")[0])}`;
    if (marker === undefined) {
      console.log(`FAIL ${where} has no <!-- example: examples/<file>.ts#<region> --> marker`);
      failed++;
      return whole;
    }
    let expected;
    try {
      expected = region(file, name) + "\n";
    } catch (error) {
      console.log(`FAIL ${where}: ${error.message}`);
      failed++;
      return whole;
    }
    if (write || code === expected) {
      passed++;
      return `${marker}\`\`\`ts\n${expected}\`\`\``;
    }
    console.log(
      `FAIL ${where} differs from ${file}#${name} (run node scripts/check/docs.mjs --write)`,
    );
    failed++;
    return whole;
  });
  if (write && out !== text) writeFileSync(path, out);
}
console.log(`docs: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
