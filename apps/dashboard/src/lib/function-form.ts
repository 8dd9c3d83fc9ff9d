import type { CreateFunction, FunctionInfo, FunctionRuntime, UpdateFunction } from "@skiff/shared";
import { parseEnvLines } from "./task-definition-form.js";

/** What the function forms edit: text fields as typed, converted on submit. */
export interface FunctionForm {
  name: string;
  runtime: FunctionRuntime;
  handler: string;
  memory: string;
  timeout: string;
  /** `KEY=value` per line. */
  environment: string;
  /** `VARIABLE=secret-name` per line: the variable gets the secret's value (never shown). */
  secrets: string;
  reservedConcurrency: string;
  description: string;
}

/** The handler each runtime's own example uses; `provided` and `image` take none. */
export const defaultHandlers: Record<FunctionRuntime, string> = {
  "nodejs22.x": "index.handler",
  "nodejs24.x": "index.handler",
  "python3.11": "lambda_function.lambda_handler",
  provided: "",
  image: "",
};

export function emptyFunctionForm(): FunctionForm {
  return {
    name: "",
    runtime: "nodejs22.x",
    handler: defaultHandlers["nodejs22.x"],
    memory: "128",
    timeout: "3",
    environment: "",
    secrets: "",
    reservedConcurrency: "",
    description: "",
  };
}

/** A saved function back into the form, for editing its configuration. */
export function functionToForm(fn: FunctionInfo): FunctionForm {
  return {
    name: fn.name,
    runtime: fn.runtime,
    handler: fn.handler ?? "",
    memory: String(fn.memory),
    timeout: String(fn.timeout),
    environment: Object.entries(fn.environment)
      .map(([name, value]) => `${name}=${value}`)
      .join("\n"),
    secrets: fn.secrets.map((secret) => `${secret.name}=${secret.valueFrom}`).join("\n"),
    reservedConcurrency: fn.reservedConcurrency === null ? "" : String(fn.reservedConcurrency),
    description: fn.description ?? "",
  };
}

/** A whole number as a number; anything else as typed, for the API to refuse with its message. */
function numberOrText(text: string): number {
  const trimmed = text.trim();
  return (/^\d+$/.test(trimmed) ? Number(trimmed) : trimmed) as number;
}

function secretsOf(text: string) {
  return Object.entries(parseEnvLines(text)).map(([name, from]) => ({
    name,
    valueFrom: from.trim(),
  }));
}

/** The create body (code apart); left for the API to validate, so its messages are the truth. */
export function formToCreate(form: FunctionForm): CreateFunction {
  const body: CreateFunction = {
    name: form.name.trim(),
    runtime: form.runtime,
    memory: numberOrText(form.memory),
    timeout: numberOrText(form.timeout),
    environment: parseEnvLines(form.environment),
    secrets: secretsOf(form.secrets),
  };
  if (form.handler.trim()) body.handler = form.handler.trim();
  if (form.reservedConcurrency.trim())
    body.reservedConcurrency = numberOrText(form.reservedConcurrency);
  if (form.description.trim()) body.description = form.description.trim();
  return body;
}

/**
 * The PATCH body of the configuration form: every field it shows, so what the user sees is what
 * is saved; an emptied reserved concurrency or description is cleared (null).
 */
export function formToUpdate(form: FunctionForm): UpdateFunction {
  const body: UpdateFunction = {
    memory: numberOrText(form.memory),
    timeout: numberOrText(form.timeout),
    environment: parseEnvLines(form.environment),
    secrets: secretsOf(form.secrets),
    reservedConcurrency: form.reservedConcurrency.trim()
      ? numberOrText(form.reservedConcurrency)
      : null,
    description: form.description.trim() || null,
  };
  if (form.handler.trim()) body.handler = form.handler.trim();
  return body;
}

/**
 * Zips this small go inside the create request as base64 (one request, nothing half-made);
 * larger ones are PUT as application/zip after it, as the api's JSON body limit is 1 MiB.
 */
export const inlineZipBytes = 512 * 1024;

/** Bytes as base64, in chunks (String.fromCharCode of a whole zip overflows the stack). */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let offset = 0; offset < bytes.length; offset += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(offset, offset + 0x8000));
  return btoa(binary);
}
