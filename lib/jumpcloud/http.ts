import { JumpcloudClientError, JumpcloudUnavailableError } from "../errors.ts";
import { silentLogger } from "../logger.ts";
import {
  type Attempt,
  DEFAULT_RETRY_POLICY,
  parseRetryAfter,
  type RetrySeams,
  sleep,
  withRetries,
} from "../retry.ts";

/** The seams of an HTTP call: real `fetch` and timers in production, controllable ones in tests. */
export interface HttpSettings extends RetrySeams {
  fetch: typeof fetch;
  /** Per attempt, headers and body included. */
  timeoutMs: number;
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

/** Status codes worth another attempt: throttling, timeouts and transient server-side failures. */
export function isRetryableStatus(status: number): boolean {
  return (
    status === 408 || status === 429 || status === 500 || status === 502 || status === 503 || status === 504
  );
}

class AttemptTimeoutError extends Error {}

/**
 * Describes a failure on the wire (reset, refused, truncated, timed out), worth another attempt;
 * `undefined` for anything else.
 */
// undici reports network trouble as TypeError("fetch failed") with a cause that has a code, and a
// body cut short as TypeError("terminated"). Anything else (an invalid header value, for one) is
// not transient, and its message may quote a header: it is never shown.
function networkFailure(error: unknown): string | undefined {
  if (error instanceof AttemptTimeoutError) return error.message;
  if (!(error instanceof TypeError)) return undefined;
  const cause = (error as { cause?: { code?: unknown; errors?: { code?: unknown }[] } }).cause;
  // A host with several addresses fails with an AggregateError: the first address's code tells.
  const raw = cause?.code ?? cause?.errors?.[0]?.code;
  const code = typeof raw === "string" ? raw : undefined;
  if (error.message === "fetch failed" && code) return `network error ${code}`;
  if (error.message === "fetch failed" || error.message === "terminated") return "connection lost";
  return undefined;
}

function badPort(error: unknown): boolean {
  const cause = (error as { cause?: unknown }).cause;
  return error instanceof TypeError && cause instanceof Error && cause.message === "bad port";
}

async function attempt(
  url: string,
  init: RequestInit,
  settings: HttpSettings,
  signal?: AbortSignal,
): Promise<HttpResult> {
  signal?.throwIfAborted();
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new AttemptTimeoutError(`no complete answer within ${settings.timeoutMs} ms`)),
    settings.timeoutMs,
  );
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    // Never follow redirects: fetch would carry x-api-key to wherever the redirect points.
    const response = await settings.fetch(url, { ...init, redirect: "manual", signal: controller.signal });
    const body = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body,
      requestId: response.headers.get("x-request-id") ?? undefined,
    };
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (controller.signal.reason instanceof AttemptTimeoutError) throw controller.signal.reason;
    throw error;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/** Resolves with `promise`, or rejects with the signal's reason as soon as it aborts. */
export function raceAbort<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Sends a request, retrying network failures, timeouts and retryable statuses with exponential
 * backoff and full jitter (or the server's `Retry-After`), within the policy's bounds. Returns
 * the first non-retryable answer (redirects included: they are not followed); throws
 * JumpcloudUnavailableError when the budget is spent. `what` names the call in logs and errors
 * and must not contain secrets; `redact` cleans any text taken from an answer.
 */
export async function sendWithRetry(
  what: string,
  url: string,
  buildInit: () => Promise<RequestInit> | RequestInit,
  settings: HttpSettings,
  signal?: AbortSignal,
  redact: (text: string) => string = (text) => text,
): Promise<HttpResult> {
  let last: HttpResult | undefined;
  return withRetries(
    async (): Promise<Attempt<HttpResult>> => {
      // Building the request (credentials) fails on its own terms: only the exchange is retried here.
      const init = await raceAbort(Promise.resolve(buildInit()), signal);
      last = undefined;
      try {
        last = await attempt(url, init, settings, signal);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        // fetch itself refuses some targets (ports browsers block, such as 9 or 25): no retry helps.
        if (badPort(error)) {
          throw new JumpcloudClientError(
            `${what}: ${new URL(url).host} uses a port fetch refuses to connect to (bad port): check the URL`,
          );
        }
        const network = networkFailure(error);
        if (network === undefined) {
          throw new JumpcloudClientError(`${what}: the request could not be sent (${(error as Error).name})`);
        }
        // The host (never the path or query) tells a user which address to check.
        return { done: false, failure: `${network} reaching ${new URL(url).host}` };
      }
      if (!isRetryableStatus(last.status)) return { done: true, value: last };
      return {
        done: false,
        failure: `status ${last.status}`,
        retryAfterMs: parseRetryAfter(last.headers.get("retry-after"), settings.now()),
        fields: { requestId: last.requestId },
      };
    },
    {
      ...settings,
      message: "retrying",
      fields: { call: what },
      signal,
      attemptMs: settings.timeoutMs,
      giveUp: ({ attempts, elapsedMs, failure }) =>
        new JumpcloudUnavailableError(
          `${what} failed after ${attempts} attempt(s) in ${elapsedMs} ms: ${failure}`,
          {
            status: last?.status,
            requestId: last?.requestId,
            apiMessage: last ? redact(snippet(last.body)) : undefined,
          },
        ),
    },
  );
}

/** The start of a body, on one line, for error messages. */
export function snippet(body: string, max = 200): string {
  const flat = body.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** Replaces each secret (4 characters or more) in `text`. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join("[redacted]");
  return out;
}
