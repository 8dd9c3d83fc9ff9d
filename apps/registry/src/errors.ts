/**
 * The error codes of the OCI Distribution Spec (plus Docker's TOOMANYREQUESTS-free subset), each
 * with the status the spec answers it with.
 */
export const registryErrorStatus = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TAG_INVALID: 400,
  RANGE_INVALID: 416,
  MANIFEST_TOO_LARGE: 413,
  /** A bug or an outage; details go to the log, never to the client. */
  UNKNOWN: 500,
} as const satisfies Record<string, number>;

export type RegistryErrorCode = keyof typeof registryErrorStatus;

/** A failure answered in the spec's `{errors:[{code,message,detail}]}` body. */
export class RegistryError extends Error {
  override name = "RegistryError";
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    readonly detail?: unknown,
    /** Overrides the code's usual status where the spec asks for another (e.g. 416 on PATCH). */
    readonly status: number = registryErrorStatus[code],
  ) {
    super(message);
  }
}

/** The body of an error answer. */
export function errorBody(code: RegistryErrorCode, message: string, detail?: unknown) {
  return { errors: [{ code, message, detail: detail ?? null }] };
}
