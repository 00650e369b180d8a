import { JumpcloudBadRequestError } from "../errors.ts";
import type { EventSource } from "../jumpcloud/client.ts";
import type { Logger } from "../logger.ts";
import type { Checkpoint, CheckpointStore, CheckpointUpdate } from "./checkpoint.ts";
import { addResults, type BatchDelivery, type DeliveryResult, NOTHING } from "./delivery.ts";
import { advance, backlogWindows, type TimeWindow, type WindowSettings } from "./windows.ts";

/** What a collection run needs. */
export interface CollectorDeps {
  source: EventSource;
  store: CheckpointStore;
  delivery: BatchDelivery;
  logger: Logger;
  /** Lease owner id of this run (e.g. the Lambda request id). */
  owner: string;
  now: () => number;
  /** Milliseconds left before the run must have returned (Lambda's remaining time; Infinity locally). */
  remainingMs: () => number;
}

/** What to collect. */
export interface CollectOptions {
  /** Checkpoint key (see checkpointKey). */
  key: string;
  orgId?: string;
  services: string[];
  pageLimit: number;
  windows: WindowSettings;
  /** Stop starting work when less than this is left. */
  safetyMarginMs: number;
  leaseMs: number;
  /** Windows fetched at once while catching up. */
  backfillConcurrency: number;
  /** A catching-up window with more events than this is split (sized with /events/count). */
  maxEventsPerWindow: number;
  /** A replay: exactly this window, on its own checkpoint; the scheduled cursor is never touched. */
  replay?: TimeWindow;
}

/** What a run did. */
export interface CollectSummary {
  key: string;
  orgId: string | undefined;
  status: "caught-up" | "work-remaining" | "locked";
  windows: number;
  pages: number;
  fetched: number;
  indexed: number;
  duplicates: number;
  deadLettered: number;
  cursorBefore: string | undefined;
  cursorAfter: string | undefined;
  /** How far the cursor is behind now, in ms. */
  lagMs: number | undefined;
  workRemaining: boolean;
}

/** The checkpoint key: one per org and service set for the schedule, one per replay window. */
export function checkpointKey(
  orgId: string | undefined,
  services: readonly string[],
  replay?: TimeWindow,
): string {
  const base = `${orgId ?? "default"}#${[...services].sort().join(",")}`;
  return replay
    ? `${base}#replay#${new Date(replay.start).toISOString()}#${new Date(replay.end).toISOString()}`
    : `${base}#scheduled`;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** Out of time: progress is saved, the next run goes on. */
class OutOfTime extends Error {}

/**
 * One collection run: takes the checkpoint's lease, reads windows page by page, hands each page
 * to the mapper and records progress only after the mapper acknowledged it, moves the cursor only
 * when a whole window is acknowledged, and stops starting work when time runs short.
 */
export class Collector {
  private checkpoint!: Checkpoint;
  private totals: DeliveryResult = NOTHING;
  private counts = { windows: 0, pages: 0, fetched: 0 };
  private readOverlap = false;
  private startedAt = 0;
  // Checkpoint writes are conditional on the version: one at a time.
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly deps: CollectorDeps,
    private readonly options: CollectOptions,
  ) {}

  async run(): Promise<CollectSummary> {
    const { deps, options } = this;
    this.startedAt = deps.now();
    const taken = await deps.store.acquire(options.key, deps.owner, options.leaseMs, this.startedAt);
    if (!taken) {
      deps.logger.info("another run holds the lease", { key: options.key });
      return this.summary("locked", undefined, undefined);
    }
    this.checkpoint = taken;
    const before = taken.cursor;
    const controller = new AbortController();
    // Hard stop for requests in flight, half the margin before the end.
    const timer = setTimeout(
      () => controller.abort(new OutOfTime("deadline")),
      Math.max(0, Math.min(deps.remainingMs() - options.safetyMarginMs / 2, 2 ** 31 - 1)),
    );
    // The lease is kept alive on a timer too: catching up can go a while between saves.
    const renewer = setInterval(
      () => {
        this.save({}).catch(() => undefined);
      },
      Math.max(1_000, options.leaseMs / 3),
    );
    let status: CollectSummary["status"] = "caught-up";
    try {
      status = await this.loop(controller.signal);
    } catch (error) {
      if (
        !(error instanceof OutOfTime) &&
        !(controller.signal.reason instanceof OutOfTime && controller.signal.aborted)
      ) {
        throw error;
      }
      status = "work-remaining";
    } finally {
      clearTimeout(timer);
      clearInterval(renewer);
      await this.writes.catch(() => undefined);
      await this.save({
        stats: {
          at: new Date(deps.now()).toISOString(),
          ...this.counts,
          indexed: this.totals.indexed,
          duplicates: this.totals.duplicates,
          deadLettered: this.totals.deadLettered,
        },
      }).catch(() => undefined);
      await deps.store.release(this.checkpoint).catch(() => undefined);
    }
    return this.summary(status, before, this.checkpoint.cursor);
  }

  private timeLeft(): boolean {
    return this.deps.remainingMs() > this.options.safetyMarginMs;
  }

  private async loop(signal: AbortSignal): Promise<CollectSummary["status"]> {
    for (;;) {
      if (!this.timeLeft()) return "work-remaining";
      const cp = this.checkpoint;
      if (cp.progress) {
        const { start, end, searchAfter } = cp.progress;
        await this.readWindow({ start, end }, searchAfter, signal);
        continue;
      }
      const plan = this.plan();
      if (plan.length === 0) return "caught-up";
      // The overlap is read once per run; later windows start at the cursor.
      this.readOverlap = true;
      if (plan.length > 1 && this.options.backfillConcurrency > 1) {
        await this.backfill(plan, signal);
        continue;
      }
      await this.readWindow(plan[0] as TimeWindow, undefined, signal);
    }
  }

  private plan(): TimeWindow[] {
    const { replay, windows } = this.options;
    const cursor = this.checkpoint.cursor;
    if (!replay) {
      // The overlap is for events that arrived late since the last run: read once, at the start.
      const settings = this.readOverlap ? { ...windows, overlap: 0 } : windows;
      // Planned against the time the run started: a run catches up to then, never chases the clock.
      return backlogWindows(cursor, this.startedAt, settings);
    }
    if (this.checkpoint.done) return [];
    // A replay reads its own window in maxWindow steps, without overlap.
    const out: TimeWindow[] = [];
    for (let start = cursor ?? replay.start; start < replay.end; start += windows.maxWindow) {
      out.push({ start, end: Math.min(replay.end, start + windows.maxWindow) });
    }
    return out;
  }

  /** Reads one window page by page, saving progress after each acknowledged page. */
  private async readWindow(
    window: TimeWindow,
    resumeAfter: string | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    let pages = this.checkpoint.progress?.pages ?? 0;
    try {
      for await (const page of this.deps.source.pages(this.query(window, resumeAfter), signal)) {
        await this.deliver(page.events, window, signal);
        pages++;
        if (!page.hasMore) break;
        await this.save({ progress: { ...window, searchAfter: page.searchAfter, pages } });
        if (!this.timeLeft()) throw new OutOfTime("safety margin reached mid-window");
      }
    } catch (error) {
      // JumpCloud tokens are short-lived: a refused saved position restarts the window (duplicates only).
      if (error instanceof JumpcloudBadRequestError && resumeAfter !== undefined) {
        this.deps.logger.warn("saved position refused; reading the window again from its start", {
          key: this.options.key,
          requestId: error.requestId,
        });
        await this.save({ progress: { ...window, searchAfter: undefined, pages: 0 } });
        return;
      }
      throw error;
    }
    await this.finishWindow(window);
  }

  private async finishWindow(window: TimeWindow): Promise<void> {
    this.counts.windows++;
    const replayDone = this.options.replay !== undefined && window.end >= this.options.replay.end;
    await this.save({
      cursor: advance(this.checkpoint.cursor, window),
      progress: null,
      ...(replayDone && { done: true }),
    });
  }

  /**
   * Catching up: windows sized with /events/count, several fetched at once, each acknowledged in
   * cursor order (a window's end becomes the cursor only when every earlier window is done).
   */
  private async backfill(windows: TimeWindow[], signal: AbortSignal): Promise<void> {
    const done = new Array<boolean>(windows.length).fill(false);
    let acknowledged = 0;
    let next = 0;
    // Acknowledgements run one at a time, in window order, whichever worker finished.
    let acknowledging: Promise<void> = Promise.resolve();
    const acknowledge = () => {
      acknowledging = acknowledging.then(async () => {
        while (acknowledged < windows.length && done[acknowledged]) {
          await this.finishWindow(windows[acknowledged] as TimeWindow);
          acknowledged++;
        }
      });
      return acknowledging;
    };
    // One failing window stops the others, and nothing runs on after this method returns.
    const stop = new AbortController();
    const both = AbortSignal.any([signal, stop.signal]);
    const worker = async () => {
      while (next < windows.length && this.timeLeft() && !both.aborted) {
        const index = next++;
        const window = windows[index] as TimeWindow;
        // Sized just before it is read: no counting of windows a run will never reach.
        for (const part of await this.split(window, both)) {
          for await (const page of this.deps.source.pages(this.query(part, undefined), both)) {
            await this.deliver(page.events, part, both);
          }
        }
        done[index] = true;
        await acknowledge();
      }
    };
    const results = await Promise.allSettled(
      Array.from({ length: Math.min(this.options.backfillConcurrency, windows.length) }, () =>
        worker().catch((error: unknown) => {
          stop.abort(error);
          throw error;
        }),
      ),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw signal.aborted ? signal.reason : failed.reason;
  }

  // A window with more events than maxEventsPerWindow is read in parts (at most 64).
  private async split(window: TimeWindow, signal: AbortSignal): Promise<TimeWindow[]> {
    const count = await this.deps.source.count(this.query(window, undefined), signal);
    const parts = Math.min(64, Math.ceil(count / this.options.maxEventsPerWindow));
    if (parts <= 1) return [window];
    const out: TimeWindow[] = [];
    const step = Math.ceil((window.end - window.start) / parts);
    for (let start = window.start; start < window.end; start += step) {
      out.push({ start, end: Math.min(window.end, start + step) });
    }
    return out;
  }

  private query(window: TimeWindow, searchAfter: string | undefined) {
    return {
      services: this.options.services,
      start: new Date(window.start),
      end: new Date(window.end),
      limit: this.options.pageLimit,
      ...(searchAfter !== undefined && { searchAfter }),
      ...(this.options.orgId !== undefined && { orgId: this.options.orgId }),
    };
  }

  private async deliver(
    events: Record<string, unknown>[],
    window: TimeWindow,
    signal: AbortSignal,
  ): Promise<void> {
    this.counts.pages++;
    this.counts.fetched += events.length;
    if (events.length === 0) return;
    const context = {
      orgId: this.options.orgId,
      window: { start: iso(window.start) as string, end: iso(window.end) as string },
    };
    const ack = await this.deps.delivery.deliver(events, context, signal);
    this.totals = addResults(this.totals, ack);
  }

  // Saves (and renews the lease when half of it is used), one write at a time.
  private save(update: CheckpointUpdate): Promise<Checkpoint> {
    const write = this.writes.then(async () => {
      const now = this.deps.now();
      let cp = this.checkpoint;
      if ((cp.leaseExpiresAt ?? 0) - now < this.options.leaseMs / 2)
        cp = await this.deps.store.renew(cp, this.options.leaseMs, now);
      this.checkpoint = await this.deps.store.save(cp, update);
      return this.checkpoint;
    });
    this.writes = write.catch(() => undefined);
    return write;
  }

  private summary(
    status: CollectSummary["status"],
    before: number | undefined,
    after: number | undefined,
  ): CollectSummary {
    return {
      key: this.options.key,
      orgId: this.options.orgId,
      status,
      windows: this.counts.windows,
      pages: this.counts.pages,
      fetched: this.counts.fetched,
      indexed: this.totals.indexed,
      duplicates: this.totals.duplicates,
      deadLettered: this.totals.deadLettered,
      cursorBefore: iso(before),
      cursorAfter: iso(after),
      lagMs: after === undefined ? undefined : this.deps.now() - after,
      workRemaining: status === "work-remaining",
    };
  }
}
