/** Prefixes of Skiff's ids: the prefix says what kind of thing an id names. */
export const idPrefixes = [
  "tok",
  "req",
  "node",
  "pool",
  "td",
  "task",
  "svc",
  "dep",
  "evt",
  "cluster",
  "fn",
  "fni",
  "key",
  "plan",
] as const;
export type IdPrefix = (typeof idPrefixes)[number];

// Crockford's base32 in lower case: sorts the same as the numbers it encodes, no ambiguous letters.
const alphabet = "0123456789abcdefghjkmnpqrstvwxyz";

function encodeTime(ms: number): string {
  let out = "";
  let rest = ms;
  for (let i = 0; i < 10; i++) {
    out = alphabet[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

function encodeRandom(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += alphabet[byte % 32];
  return out;
}

// Web Crypto rather than node:crypto: the dashboard bundles this package for the browser.
function randomBytes(count: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(count));
}

/**
 * A new id such as `task_01jf3k...`: 10 characters of millisecond time then 16 random ones, so ids
 * sort by creation time (ULID layout) and a reader can tell what an id names.
 */
export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  return `${prefix}_${encodeTime(now)}${encodeRandom(randomBytes(16))}`;
}

/** The creation time encoded in an id made by `newId`, or undefined for anything else. */
export function idTime(id: string): Date | undefined {
  const match = /^[a-z]+_([0-9a-hjkmnp-tv-z]{10})[0-9a-hjkmnp-tv-z]{16}$/.exec(id);
  if (!match?.[1]) return undefined;
  let ms = 0;
  for (const char of match[1]) ms = ms * 32 + alphabet.indexOf(char);
  return new Date(ms);
}
