/**
 * Runs every program in examples/ as a child process of the runtime running
 * this test (so `deno test` covers Deno and `bun test` covers Bun), with the
 * Deno permissions the README asks for, and checks what it prints.
 */

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { UDS_SKIP } from "./_support/host.ts";

const EXAMPLES = fileURLToPath(new URL("../examples/", import.meta.url));
const LIMIT_MS = 30_000;

/** Output checks per example; every file in examples/ must have an entry. */
const EXPECTED: Record<string, RegExp[]> = {
  "request_response.ts": [
    /^server <- WelcomeResponse \| app \| success/m,
    /^server <- HelloRequest \| app \| success/m,
    /^client <- HelloResponse \| app \| success/m,
    /^server <- Request \| app \| success .*"2\+2"$/m,
    /^client <- Response \| app \| success .*"4"$/m,
    /^client <- ByeResponse/m,
    /^client <- Signal \| engine \| channelClosed/m,
    /^server <- Signal \| engine \| channelClosed/m,
  ],
  "request_await.ts": [
    /^answers: 2\+2=4, 3\*3=9$/m,
    /^still queued: Signal \| app \| success .*"news"$/m,
    /^timed out: Timeout \(processingFailed\)$/m,
    /^server gone: ChannelClosed( \(reason [a-z_]+\))?$/m,
  ],
  "signals_progress.ts": [
    /^progress 25%\nprogress 50%\nprogress 75%\ndone: render the movie$/m,
  ],
  "streaming.ts": [
    /^received 4 chunks: chunk 1 of 4, chunk 2 of 4, chunk 3 of 4, chunk 4 of 4$/m,
    /^streamed 10000 messages \(10240000 bytes\) with fewer awaits$/m,
  ],
  "multi_homed.ts": [
    /^hello from the tcp client, you came over tcp$/m,
    /^hello from the uds client, you came over uds$/m,
  ],
  "reconnect.ts": [
    /^attempt 1: connectFailed, retrying in 50 ms$/m,
    /^attempt 2: connectFailed, retrying in 100 ms$/m,
    /^attempt 3: connected on channel \d+$/m,
  ],
  "pool_empty.ts": [
    /^received 12 messages in order: true$/m,
    /^pool_empty signals: at least one$/m,
  ],
  "graceful_shutdown.ts": [
    /^3 clients connected\nlistener and all connections closed$/m,
    /(^client: closed by the server\n){3}engine destroyed$/m,
  ],
  "close_reasons.ts": [
    /^server gone: Signal \| engine \| channelClosed .*\| peer_(reset \((WSA)?ECONN(RESET|ABORTED) \d+\)|closed)$/m,
    /^port in use: WelcomeResponse \| engine \| listenFailed .*\| listen_failed \((WSA)?EADDRINUSE \d+\)$/m,
    /^closed port: HelloResponse \| engine \| connectFailed .*\| connect_failed \((WSA)?ECONNREFUSED \d+\)$/m,
    /^closed port: Signal \| engine \| channelClosed .*\| connect_failed \((WSA)?ECONNREFUSED \d+\)$/m,
    // Without AF_UNIX (Wine) the path cannot even be tried: the reason says so.
    /^not a socket: Signal \| engine \| channelClosed .*\| (listen_failed \(ENOTSOCK \d+\)|unsupported .*)$/m,
    /^stats: 1 listening, 0 open, \d+ in, \d+ out, pool \d+ free 0 in use$/m,
  ],
  "reading_messages.ts": [
    /^posted request (\d+)n\nMessage \{\n {2}bhdr: Request \| application \| success \| channel \d+ \| id \1n \| last\n {2}thdrs: \{\n {4}"Method": "sum"\n {2}\}\n {2}body: 9 bytes "\[1, 2, 3\]"\n\}$/m,
    /^a request for sum on channel \d+$/m,
    /^answer to \d+n: 6$/m,
    /^AmpeError notAllowed: Cannot get a message: .*"sometimes"$/m,
    /^AmpeError nullMessage: This message object was already handed over/m,
    /^AmpeError notAllowed: Cannot wait: timeout must be .* got -1$/m,
  ],
  "error_handling.ts": [
    /^post threw InvalidChannelNumber \(status invalidChannelNumber\)$/m,
    /^a handed-over message throws NullMessage$/m,
    /^connect to a closed port: HelloResponse \| engine \| connectFailed/m,
    /^listen: WelcomeResponse \| app \| success/m,
    /^listen on the same port again: WelcomeResponse \| engine \| listenFailed/m,
  ],
};
/** Not run on their own: a helper module, and the server/client pair run together below. */
/** Examples that listen on a Unix domain socket. */
const NEEDS_UDS = new Set(["multi_homed.ts"]);
const NOT_ALONE = new Set(["pair.ts", "first_server.ts", "first_client.ts"]);

interface Run {
  child: ChildProcess;
  out: () => string;
  done: Promise<{ code: number | null; out: string; err: string }>;
}

/** Starts `examples/<file>` with this runtime; a child still running after the limit is killed. */
function start(file: string, args: string[] = []): Run {
  const path = EXAMPLES + file;
  const runtimeArgs = typeof process.versions.bun === "string"
    ? [path, ...args]
    : ["run", "--no-check", "--allow-ffi", "--allow-read", "--allow-env", path, ...args];
  // Under qemu-user (scripts/test/arm64.sh) the runtime runs through the emulator.
  const wrapper = process.env.TOFU_TEST_EXEC_WRAPPER;
  const [command, commandArgs] = wrapper
    ? [wrapper, [process.execPath, ...runtimeArgs]]
    : [process.execPath, runtimeArgs];
  const child = spawn(command, commandArgs, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
  child.stderr!.on("data", (d: Uint8Array) => (err += new TextDecoder().decode(d)));
  const done = new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), LIMIT_MS);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
  return { child, out: () => out, done };
}

function assertOutput(file: string, result: { code: number | null; out: string; err: string }) {
  assert.equal(result.code, 0, `${file} exited with ${result.code}:\n${result.out}${result.err}`);
  for (const pattern of EXPECTED[file] ?? []) {
    assert.match(result.out, pattern, `${file} printed:\n${result.out}`);
  }
}

/** Resolves the first match of `pattern` in the child's output, waiting for it to appear. */
async function waitFor(run: Run, pattern: RegExp): Promise<RegExpMatchArray> {
  const deadline = Date.now() + LIMIT_MS;
  for (;;) {
    const match = run.out().match(pattern);
    if (match !== null) return match;
    if (run.child.exitCode !== null || Date.now() > deadline) {
      const { out, err } = await run.done;
      assert.fail(`expected ${pattern} in the output of the server:\n${out}${err}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("examples/ run as programs and print what the docs say", () => {
  test("every example file is covered by this test", () => {
    const files = readdirSync(EXAMPLES).filter((f) => f.endsWith(".ts")).sort();
    const covered = [...Object.keys(EXPECTED), ...NOT_ALONE].sort();
    assert.deepEqual(files, covered);
  });

  for (const file of Object.keys(EXPECTED)) {
    test(file, { skip: NEEDS_UDS.has(file) ? UDS_SKIP : false }, async () => {
      assertOutput(file, await start(file).done);
    });
  }

  test("first_server.ts serves first_client.ts in another process", async () => {
    const server = start("first_server.ts", ["0", "1"]);
    try {
      const [, port] = await waitFor(server, /^listening on 127\.0\.0\.1:(\d+)$/m);
      const client = await start("first_client.ts", [port!]).done;
      assertOutput("first_client.ts", client);
      assert.match(
        client.out,
        /^connected on channel \d+\ntofu -> TOFU\nis -> IS\ntasty -> TASTY\nthe server said bye\ndisconnected$/m,
      );
      const served = await server.done;
      assertOutput("first_server.ts", served);
      assert.match(
        served.out,
        /^client (\d+) connected\nclient \1 left\nserved 1 client\(s\), stopping$/m,
      );
    } finally {
      server.child.kill("SIGKILL");
    }
  });
});
