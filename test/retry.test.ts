import { describe, expect, it } from "vitest";
import type { Logger } from "../lib/logger.ts";
import {
  type Attempt,
  backoffDelay,
  type GaveUp,
  parseRetryAfter,
  type RetryLoop,
  sleep,
  withRetries,
} from "../lib/retry.ts";

const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000, maxElapsedMs: 10_000 };

describe("retry helpers", () => {
  it("draws full-jitter delays below a doubling, capped ceiling", () => {
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(n, policy, () => 0.5))).toStrictEqual([
      50, 100, 200, 400, 500, 500,
    ]);
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
  });

  it.each([
    ["5", 5_000],
    [" 0 ", 0],
    ["Wed, 21 Oct 2015 07:28:10 GMT", 10_000],
    ["Wed, 21 Oct 2015 07:27:00 GMT", 0],
    ["soon", undefined],
    ["", undefined],
    [null, undefined],
  ])("reads Retry-After %j", (header, ms) => {
    expect(parseRetryAfter(header, Date.parse("Wed, 21 Oct 2015 07:28:00 GMT"))).toBe(ms);
  });

  it("sleeps, and stops early when aborted", async () => {
    await sleep(1);
    const controller = new AbortController();
    const pending = sleep(10_000, controller.signal);
    controller.abort(new Error("stop"));
    await expect(pending).rejects.toThrow("stop");
  });
});

class GaveUpError extends Error {
  constructor(readonly state: GaveUp) {
    super(`gave up after ${state.attempts} attempt(s) in ${state.elapsedMs} ms: ${state.failure}`);
  }
}

/** A loop on a fake clock that only moves when it sleeps. */
function fakeLoop(overrides: Partial<RetryLoop> = {}) {
  const clock = { now: 1_000 };
  const sleeps: number[] = [];
  const warnings: Record<string, unknown>[] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (message, fields) => warnings.push({ message, ...fields }),
    error() {},
  };
  const loop: RetryLoop = {
    retry: policy,
    logger,
    now: () => clock.now,
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.now += ms;
    },
    message: "retrying thing",
    fields: { call: "thing" },
    giveUp: (state) => new GaveUpError(state),
    ...overrides,
  };
  return { loop, clock, sleeps, warnings };
}

/** Fails transiently `failures` times (asking for `retryAfterMs` when given), then answers "ok". */
function flaky(failures: number, retryAfterMs?: number) {
  const calls: number[] = [];
  const attempt = async (n: number): Promise<Attempt<string>> => {
    calls.push(n);
    if (calls.length > failures) return { done: true, value: "ok" };
    return { done: false, failure: `failure ${n}`, retryAfterMs, fields: { extra: n } };
  };
  return { attempt, calls };
}

describe("withRetries", () => {
  it("retries transient failures with backoff, logging each retry, and returns the answer", async () => {
    const { loop, sleeps, warnings } = fakeLoop();
    const { attempt, calls } = flaky(2);
    await expect(withRetries(attempt, loop)).resolves.toBe("ok");
    expect(calls).toStrictEqual([1, 2, 3]);
    expect(sleeps).toStrictEqual([50, 100]);
    expect(warnings[0]).toStrictEqual({
      message: "retrying thing",
      call: "thing",
      attempt: 1,
      failure: "failure 1",
      extra: 1,
      delayMs: 50,
    });
  });

  it("tells each retry to onRetry (the collector's ApiRetries metric)", async () => {
    let retries = 0;
    const { loop } = fakeLoop({ onRetry: () => retries++ });
    await withRetries(flaky(3).attempt, loop);
    expect(retries).toBe(3);
  });

  it("waits what the server asked for instead of the backoff", async () => {
    const { loop, sleeps } = fakeLoop();
    await withRetries(flaky(1, 3_000).attempt, loop);
    expect(sleeps).toStrictEqual([3_000]);
  });

  it("gives up with the caller's error after the last attempt", async () => {
    const { loop } = fakeLoop();
    const error = await withRetries(flaky(10).attempt, loop).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GaveUpError);
    expect((error as GaveUpError).state).toStrictEqual({ attempts: 5, elapsedMs: 750, failure: "failure 5" });
  });

  it("gives up at once when a wait would pass the elapsed budget", async () => {
    const { loop, sleeps } = fakeLoop();
    const error = await withRetries(flaky(10, 20_000).attempt, loop).catch((e: unknown) => e);
    expect((error as GaveUpError).state.attempts).toBe(1);
    expect(sleeps).toStrictEqual([]);
  });

  it("begins no wait that would end after the deadline", async () => {
    const { loop, sleeps } = fakeLoop({ deadline: 1_000 + 120 });
    const { attempt, calls } = flaky(10);
    const error = await withRetries(attempt, loop).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GaveUpError);
    // 50 ms fits before the deadline; 50 + 100 does not.
    expect(sleeps).toStrictEqual([50]);
    expect(calls).toStrictEqual([1, 2]);
  });

  it("starts no attempt that would end after the deadline", async () => {
    const late = fakeLoop({ deadline: 999 });
    const { attempt, calls } = flaky(0);
    const error = await withRetries(attempt, late.loop).catch((e: unknown) => e);
    expect((error as GaveUpError).state).toMatchObject({
      attempts: 0,
      failure: "no time left before the deadline",
    });
    expect(calls).toStrictEqual([]);
    const slow = fakeLoop({ deadline: 1_000 + 100, attemptMs: 60 });
    const second = flaky(10);
    await withRetries(second.attempt, slow.loop).catch(() => undefined);
    // After the first attempt, 50 ms of waiting and a 60 ms attempt would end past the deadline.
    expect(second.calls).toStrictEqual([1]);
    expect(slow.sleeps).toStrictEqual([]);
  });

  it("stops with the signal's reason when aborted", async () => {
    const controller = new AbortController();
    const { loop } = fakeLoop({
      signal: controller.signal,
      sleep: async () => controller.abort(new Error("stopped")),
    });
    await expect(withRetries(flaky(10).attempt, loop)).rejects.toThrow("stopped");
  });
});
