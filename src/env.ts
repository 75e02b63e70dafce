/**
 * Reading optional settings from the environment without requiring the
 * permission to do so: where env access is not granted (Deno without
 * `--allow-env`), a setting is simply absent.
 *
 * @module
 */

import process from "node:process";

/** The variable's value, or undefined when it is unset or may not be read. */
export function readEnv(name: string): string | undefined {
  try {
    return process.env[name];
  } catch {
    return undefined;
  }
}
