import type { ErrorCode } from "@skiff/shared";

/**
 * A failure the caller can act on, thrown by domain code; the route layer turns it into the one
 * error body with the status of its code. The message is shown to clients: no secrets in it.
 */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new ApiError("NotFound", `${what} was not found`);
export const conflict = (message: string) => new ApiError("Conflict", message);
