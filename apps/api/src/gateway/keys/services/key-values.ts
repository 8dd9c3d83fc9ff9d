import { randomInt } from "node:crypto";
import { hashSecret } from "../../../compute/services/credentials.js";

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A new key value as API Gateway generates them: 40 random letters and digits (~238 bits). */
export function newApiKeyValue(): string {
  let value = "";
  for (let i = 0; i < 40; i++) value += alphabet[randomInt(alphabet.length)];
  return value;
}

/** Enough of the value to recognise a key in a list, too little to guess the rest. */
export function apiKeyPrefix(value: string): string {
  return value.slice(0, 5);
}

/** What the database and the gateway's memory hold instead of a value: the project's hash. */
export function hashApiKey(value: string): string {
  return hashSecret(value);
}
