/**
 * `describeValue`: a wrong argument shown in an error message, whatever its
 * type. Internal; a template literal alone would throw on a symbol and say
 * `[object Object]` for an object.
 *
 * @module
 */

const MAX_TEXT = 40;

/**
 * A short, safe description of `value` for an error message: numbers,
 * bigints, booleans, null and undefined as written in code, strings quoted
 * (cut after 40 characters), anything else by its type.
 *
 * @example
 * ```ts
 * import { describeValue } from "./describe_value.ts";
 * describeValue("x"); // '"x"'
 * describeValue(42n); // "42n"
 * describeValue({}); // "an object (Object)"
 * ```
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case "number":
    case "boolean":
    case "undefined":
      return String(value);
    case "bigint":
      return `${value}n`;
    case "string":
      return JSON.stringify(value.length > MAX_TEXT ? `${value.slice(0, MAX_TEXT)}...` : value);
    case "symbol":
      return "a symbol";
    case "function":
      return "a function";
    default:
      if (value === null) return "null";
      if (Array.isArray(value)) return "an array";
      return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
  }
}
