import { type ErrorBody, type ErrorCode, errorStatus } from "@skiff/shared";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "./hono-env.js";

/** Answers with the one error body and the status of `code`. */
export function errorResponse(c: Context<AppEnv>, code: ErrorCode, message: string): Response {
  const body: ErrorBody = { error: { code, message, requestId: c.get("requestId") ?? "unknown" } };
  return c.json(body, errorStatus[code] as ContentfulStatusCode);
}

/** The error code that stands for an HTTP status raised by Hono or its middleware. */
export function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "PayloadTooLarge";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "UnprocessableEntity";
    case 429:
      return "TooManyRequests";
    case 503:
      return "ServiceUnavailable";
    default:
      return status >= 500 ? "Internal" : "BadRequest";
  }
}
