/**
 * An error the Lambda-compatible routes answer in Lambda's shape (AWS's REST-JSON protocol):
 * status, `X-Amzn-ErrorType: <type>` and body `{"Type":"User","message":...}` plus extra
 * fields (`Reason` of a throttle). Thrown by services, mapped only at the route.
 */
export class LambdaError extends Error {
  constructor(
    readonly status: 400 | 404 | 409 | 413 | 429 | 500 | 502,
    readonly type: string,
    message: string,
    readonly extra: Record<string, string> = {},
    /** "User": the caller's request is at fault; "Service": Skiff's side. */
    readonly side: "User" | "Service" = status >= 500 ? "Service" : "User",
  ) {
    super(message);
  }
}

export const functionNotFound = (name: string, arn: string) =>
  new LambdaError(404, "ResourceNotFoundException", `Function not found: ${arn || name}`);
