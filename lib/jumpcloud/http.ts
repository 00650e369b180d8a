import { JumpcloudUnavailableError } from "../errors.ts";
import { type Logger, silentLogger } from "../logger.ts";
import { backoffDelay, DEFAULT_RETRY_POLICY, parseRetryAfter, type RetryPolicy, sleep } from "../retry.ts";

/** The seams of an HTTP call: real `fetch` and timers in production, controllable ones in tests. */
export interface HttpSettings {
  fetch: typeof fetch;
  /** Per attempt, headers and body included. */
  timeoutMs: number;
  retry: RetryPolicy;
  logger: Logger;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  random: () => number;
  now: () => number;
}

/** Production defaults for everything but the logger. */
export function defaultHttpSettings(overrides: Partial<HttpSettings> = {}): HttpSettings {
  return {
    fetch: globalThis.fetch,
    timeoutMs: 30_000,
    retry: DEFAULT_RETRY_POLICY,
    logger: silentLogger,
    sleep,
    random: Math.random,
    now: Date.now,
    ...overrides,
  };
}

/** A completed HTTP exchange with the body read. */
export interface HttpResult {
  status: number;
  headers: Headers;
  body: string;
  requestId: string | undefined;
}

/** Status codes worth another attempt: throttling, timeouts and server-side failures. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

class AttemptTimeoutError extends Error {}

async function attempt(
  url: string,
  init: RequestInit,
  settings: HttpSettings,
  signal?: AbortSignal,
): Promise<HttpResult> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new AttemptTimeoutError(`no complete answer within ${settings.timeoutMs} ms`)),
    settings.timeoutMs,
  );
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const response = await settings.fetch(url, { ...init, signal: controller.signal });
    const body = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body,
      requestId: response.headers.get("x-request-id") ?? undefined,
    };
  } catch (error) {
    if (controller.signal.reason instanceof AttemptTimeoutError) throw controller.signal.reason;
    throw error;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ? `${error.message} (${cause.code})` : error.message;
}

/**
 * Sends a request, retrying network failures, timeouts and retryable statuses with exponential
 * backoff and full jitter (or the server's `Retry-After`), within the policy's bounds. Returns
 * the first non-retryable answer; throws JumpcloudUnavailableError when the budget is spent.
 * `what` names the call in logs and errors; it must not contain secrets.
 */
export async function sendWithRetry(
  what: string,
  url: string,
  buildInit: () => Promise<RequestInit> | RequestInit,
  settings: HttpSettings,
  signal?: AbortSignal,
): Promise<HttpResult> {
  const started = settings.now();
  const { retry } = settings;
  for (let n = 1; ; n++) {
    let wait: number | undefined;
    let failure: string;
    let last: HttpResult | undefined;
    let cause: unknown;
    // Building the request (credentials) fails on its own terms: only the exchange is retried here.
    const init = await buildInit();
    try {
      last = await attempt(url, init, settings, signal);
      if (!isRetryableStatus(last.status)) return last;
      failure = `status ${last.status}`;
      wait = parseRetryAfter(last.headers.get("retry-after"), settings.now());
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      cause = error;
      failure = describeFailure(error);
    }

    const elapsed = settings.now() - started;
    const delay = wait ?? backoffDelay(n - 1, retry, settings.random);
    // A Retry-After longer than the remaining budget ends the call now rather than retrying early.
    if (n >= retry.maxAttempts || elapsed + delay > retry.maxElapsedMs) {
      throw new JumpcloudUnavailableError(
        `${what} failed after ${n} attempt(s) in ${elapsed} ms: ${failure}`,
        {
          status: last?.status,
          requestId: last?.requestId,
          apiMessage: last ? snippet(last.body) : undefined,
        },
        { cause },
      );
    }
    settings.logger.warn("retrying", {
      call: what,
      attempt: n,
      failure,
      delayMs: delay,
      requestId: last?.requestId,
    });
    await settings.sleep(delay, signal);
  }
}

/** The start of a body, on one line, for error messages. */
export function snippet(body: string, max = 200): string {
  const flat = body.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
