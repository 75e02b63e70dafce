#!/usr/bin/env node
// Serves a directory over HTTP for Deno's URL import, with the content types Deno needs: `.ts` as
// TypeScript (Python's http.server labels it as something Deno refuses), `.json` as JSON, the
// libraries as bytes. Read-only, GET and HEAD, nothing outside the directory.
//
// Usage: node scripts/serve.mjs [DIR=.] [PORT=8000] [HOST=127.0.0.1]
// Prints `serving DIR at http://HOST:PORT/` once it listens (PORT 0: a free port).
// Plain Node on purpose: it runs wherever the repository's npm scripts run.

import { createReadStream, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, resolve, sep } from "node:path";

const [dir = ".", port = "8000", host = "127.0.0.1"] = process.argv.slice(2);
const root = resolve(dir);
const TYPES = {
  ".ts": "application/typescript; charset=utf-8",
  ".mts": "application/typescript; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".md": "text/markdown; charset=utf-8",
};

const server = createServer((request, response) => {
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.writeHead(405, { allow: "GET, HEAD" }).end();
    return;
  }
  let file;
  try {
    file = resolve(root, `.${decodeURIComponent(new URL(request.url, "http://x").pathname)}`);
  } catch {
    response.writeHead(400).end("bad path\n");
    return;
  }
  if (file !== root && !file.startsWith(root + sep)) {
    response.writeHead(403).end("outside the served directory\n");
    return;
  }
  let size;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new Error("not a file");
    size = stat.size;
  } catch {
    response.writeHead(404).end("not found\n");
    return;
  }
  response.writeHead(200, {
    "content-type": TYPES[extname(file)] ?? "application/octet-stream",
    "content-length": size,
  });
  if (request.method === "HEAD") response.end();
  else createReadStream(file).pipe(response);
});

server.listen(Number(port), host, () => {
  const { port: actual } = server.address();
  console.log(`serving ${root} at http://${host.includes(":") ? `[${host}]` : host}:${actual}/`);
});
