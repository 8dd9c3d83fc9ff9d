import { functionLimits } from "@skiff/shared";
import type { ContainerEnd } from "./instance-engine.js";

// The error documents Lambda answers when the platform, not the function, ends an invocation.

export function timeoutBody(requestId: string, timeoutSeconds: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      errorMessage: `${new Date().toISOString()} ${requestId} Task timed out after ${timeoutSeconds.toFixed(2)} seconds`,
    }),
  );
}

/** The runtime's process ended mid-invocation: killed (out of memory, SIGKILL) or exited. */
export function exitBody(requestId: string, end: ContainerEnd): Buffer {
  // 128 + n: the process died of signal n (137: SIGKILL, which the OOM killer sends).
  const how =
    end.oomKilled || end.exitCode === 137
      ? "signal: killed"
      : end.exitCode > 128
        ? `signal: ${end.exitCode - 128}`
        : `exit status ${end.exitCode}`;
  return Buffer.from(
    JSON.stringify({
      errorType: "Runtime.ExitError",
      errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: ${how}`,
    }),
  );
}

export function tooLargeBody(): Buffer {
  return Buffer.from(
    JSON.stringify({
      errorMessage: `Response payload size exceeded maximum allowed payload size (${functionLimits.syncPayloadBytes} bytes).`,
      errorType: "Function.ResponseSizeTooLarge",
    }),
  );
}
