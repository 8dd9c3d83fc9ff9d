/** The figures of Lambda's `REPORT RequestId: ...` log line, as the Test section shows them. */
export interface InvocationReport {
  durationMs: number;
  billedDurationMs: number | null;
  memorySizeMb: number | null;
  maxMemoryUsedMb: number | null;
  initDurationMs: number | null;
}

function figure(line: string, label: string): number | null {
  const match = new RegExp(`${label}: ([0-9.]+)`).exec(line);
  return match?.[1] ? Number(match[1]) : null;
}

/**
 * The last REPORT line of a log tail (`REPORT RequestId: <id>\tDuration: 1.23 ms\tBilled
 * Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\tInit Duration: 80.1 ms`), or
 * null when the tail has none (cut off, or no log asked for). `requestId` picks its own line.
 */
export function parseReport(tail: string, requestId?: string | null): InvocationReport | null {
  const lines = tail
    .split("\n")
    .filter((line) => line.includes("REPORT RequestId:"))
    .filter((line) => !requestId || line.includes(requestId));
  const line = lines.at(-1);
  if (!line) return null;
  const durationMs = figure(line, "(?<!Billed |Init )Duration");
  if (durationMs === null) return null;
  return {
    durationMs,
    billedDurationMs: figure(line, "Billed Duration"),
    memorySizeMb: figure(line, "Memory Size"),
    maxMemoryUsedMb: figure(line, "Max Memory Used"),
    initDurationMs: figure(line, "Init Duration"),
  };
}

/** A function's error document (`{errorType, errorMessage, stackTrace}`), or null if not one. */
export function parseFunctionError(
  payload: string | null,
): { errorType: string | null; errorMessage: string; stackTrace: string[] } | null {
  if (!payload) return null;
  try {
    const parsed: unknown = JSON.parse(payload);
    if (typeof parsed !== "object" || parsed === null) return null;
    const doc = parsed as Record<string, unknown>;
    if (typeof doc.errorMessage !== "string") return null;
    return {
      errorType: typeof doc.errorType === "string" ? doc.errorType : null,
      errorMessage: doc.errorMessage,
      stackTrace: Array.isArray(doc.stackTrace)
        ? doc.stackTrace.filter((item): item is string => typeof item === "string")
        : [],
    };
  } catch {
    return null;
  }
}

/** The payload indented when it is JSON, as typed otherwise. */
export function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
