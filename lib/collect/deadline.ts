/** Out of time: progress is saved, the next run goes on. */
class OutOfTime extends Error {}

// setTimeout fires at once for delays above 2^31 - 1 ms.
const LONGEST_TIMER = 2 ** 31 - 1;

/**
 * A run's time budget: work starts only while more than the safety margin is left, and requests
 * still in flight are aborted half the margin before the end, or at once when `stop` fires (an
 * operator's Ctrl-C): either way the run ends as out of time, with its progress saved.
 */
export class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly onStop = () => this.controller.abort(new OutOfTime("interrupted"));

  constructor(
    private readonly remainingMs: () => number,
    private readonly safetyMarginMs: number,
    private readonly stopSignal?: AbortSignal,
  ) {
    this.timer = setTimeout(
      () => this.controller.abort(new OutOfTime("deadline")),
      Math.max(0, Math.min(remainingMs() - safetyMarginMs / 2, LONGEST_TIMER)),
    );
    if (stopSignal?.aborted) this.onStop();
    else stopSignal?.addEventListener("abort", this.onStop, { once: true });
  }

  /** Whether the run was told to stop (rather than running out of time). */
  get stopped(): boolean {
    return this.stopSignal?.aborted ?? false;
  }

  /** Aborted, for lack of time, half the safety margin before the end. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** When requests in flight are abandoned (epoch ms), or undefined without a time limit. */
  abandonsAt(now = Date.now()): number | undefined {
    const left = this.remainingMs();
    return Number.isFinite(left) ? now + left - this.safetyMarginMs / 2 : undefined;
  }

  /** Whether there is time to start more work. */
  timeLeft(): boolean {
    return !this.stopped && this.remainingMs() > this.safetyMarginMs;
  }

  /** Ends the run (see isOutOfTime) when there is no time to start more work. */
  ensureTimeLeft(where: string): void {
    if (!this.timeLeft()) throw new OutOfTime(`safety margin reached ${where}`);
  }

  /** Whether `error` ends the run for lack of time (progress is saved) rather than a failure. */
  isOutOfTime(error: unknown): boolean {
    return error instanceof OutOfTime || (this.signal.aborted && this.signal.reason instanceof OutOfTime);
  }

  /** Stops the timer. */
  stop(): void {
    clearTimeout(this.timer);
    this.stopSignal?.removeEventListener("abort", this.onStop);
  }
}
