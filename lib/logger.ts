/** Structured logging port; Powertools' Logger and the CLI's JSON logger both fit it. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Discards everything (the default in lib/: callers opt in to logs). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** An error as a log field: name, message, stack and its causes, as Powertools' Logger writes them. */
export function describeError(error: Error): Record<string, unknown> {
  return {
    name: error.name,
    message: error.message,
    stack: error.stack,
    ...(error.cause !== undefined && {
      cause: error.cause instanceof Error ? describeError(error.cause) : error.cause,
    }),
  };
}

// JSON.stringify writes an Error as {}: errors in fields keep what they say.
const withErrors = (_key: string, value: unknown) => (value instanceof Error ? describeError(value) : value);

/** One JSON object per line, `{level, message, ...fields}`, written by `write`. */
export function jsonLogger(write: (line: string) => void, minimum: "debug" | "info" = "info"): Logger {
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    write(`${JSON.stringify({ level, time: new Date().toISOString(), message, ...fields }, withErrors)}\n`);
  return {
    debug: minimum === "debug" ? log("debug") : () => {},
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
  };
}
