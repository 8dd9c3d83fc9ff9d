import { pino } from "pino";

export type Logger = pino.Logger;

/**
 * JSON logs on stdout. Authorization headers and anything named like a secret are redacted, so
 * a token never reaches the logs by accident.
 */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: "skiff-api", ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ["authorization", "*.authorization", "token", "*.token", "password", "*.password"],
      censor: "[redacted]",
    },
  });
}
