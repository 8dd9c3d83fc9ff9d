import { pino } from "pino";

export type Logger = pino.Logger;

/**
 * JSON logs on stdout. Authorization headers and anything named like a secret are redacted, so
 * a node credential or join token never reaches the logs by accident.
 */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: "skiff-agent", ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        "authorization",
        "*.authorization",
        "credential",
        "*.credential",
        "joinToken",
        "*.joinToken",
        // Containers' environment holds secrets' values: never logged, even by accident.
        "env",
        "*.env",
        "Env",
        "*.Env",
        "secrets",
        "*.secrets",
      ],
      censor: "[redacted]",
    },
  });
}
