import type { Logger } from "./logger.ts";

/** How hard to try a transient failure again: bounded in attempts and in total time. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** First backoff ceiling; doubles per attempt. */
  baseDelayMs: number;
  /** Largest single backoff wait (a server's `Retry-After` may ask for more, within maxElapsedMs). */
  maxDelayMs: number;
  /** No new attempt starts after this much time since the first. */
  maxElapsedMs: number;
}

/** Defaults for API calls: 6 attempts within 2 minutes. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxElapsedMs: 120_000,
};

/** Exponential backoff with full jitter: uniform in [0, min(max, base·2^retry)). */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.floor(random() * ceiling);
}

/** `Retry-After` in milliseconds (delta-seconds or an HTTP date), or `undefined` if absent or unreadable. */
export function parseRetryAfter(
  header: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (header === null || header === undefined || header.trim() === "") return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Waits `ms`, or rejects early with the signal's reason. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The seams of a retry loop: real timers in production, controllable ones in tests. */
export interface RetrySeams {
  retry: RetryPolicy;
  logger: Logger;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  random: () => number;
  now: () => number;
  /** Told of each retry (a metric counts them). */
  onRetry?: () => void;
}

/** What one attempt came to: done, or a transient failure worth another attempt. */
export type Attempt<T> =
  | { done: true; value: T }
  | {
      done: false;
      /** Names the failure in logs and in the error given up with. */
      failure: string;
      /** How long the server asked to wait (`Retry-After`); backoff when absent. */
      retryAfterMs?: number | undefined;
      /** More fields for the retry's log line. */
      fields?: Record<string, unknown>;
    };

/** Where a retry loop stopped, for the caller's own "gave up" error. */
export interface GaveUp {
  attempts: number;
  elapsedMs: number;
  failure: string;
}

/** One retry loop: its seams, its log line and how it gives up. */
export interface RetryLoop extends RetrySeams {
  /** Message of the warning logged before each retry. */
  message: string;
  /** Fields of every such warning. */
  fields?: Record<string, unknown>;
  signal?: AbortSignal | undefined;
  /** Epoch ms: no attempt is started, and no wait begun, that would end after it. */
  deadline?: number | undefined;
  /** The longest one attempt can take, for the deadline (0 when unknown). */
  attemptMs?: number;
  /** The typed error to throw when the loop gives up. */
  giveUp: (state: GaveUp) => Error;
}

/**
 * Runs `attempt` until it is done, within the policy's attempts and elapsed time: between attempts
 * it waits the server's `Retry-After` or a full-jitter backoff, and a wait past the budget ends now.
 */
// Written here rather than taken from p-retry: that cannot honour Retry-After per attempt, nor
// retry only the items of a batch that failed.
export async function withRetries<T>(
  attempt: (n: number) => Promise<Attempt<T>>,
  loop: RetryLoop,
): Promise<T> {
  const started = loop.now();
  const past = (ms: number) => loop.deadline !== undefined && loop.now() + ms > loop.deadline;
  let failure = "no time left before the deadline";
  for (let n = 1; ; n++) {
    loop.signal?.throwIfAborted();
    if (past(loop.attemptMs ?? 0))
      throw loop.giveUp({ attempts: n - 1, elapsedMs: loop.now() - started, failure });
    const result = await attempt(n);
    if (result.done) return result.value;
    failure = result.failure;
    const elapsedMs = loop.now() - started;
    const delay = result.retryAfterMs ?? backoffDelay(n - 1, loop.retry, loop.random);
    // A wait longer than the remaining budget ends the call now rather than retrying early.
    if (
      n >= loop.retry.maxAttempts ||
      elapsedMs + delay > loop.retry.maxElapsedMs ||
      past(delay + (loop.attemptMs ?? 0))
    ) {
      throw loop.giveUp({ attempts: n, elapsedMs, failure });
    }
    loop.logger.warn(loop.message, { ...loop.fields, attempt: n, failure, ...result.fields, delayMs: delay });
    loop.onRetry?.();
    await loop.sleep(delay, loop.signal);
  }
}
