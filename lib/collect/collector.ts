import pLimit from "p-limit";
import { addCounts, type Counts, NO_COUNTS } from "../counts.ts";
import { JumpcloudBadRequestError } from "../errors.ts";
import type { EventPage, EventSource } from "../jumpcloud/client.ts";
import type { Logger } from "../logger.ts";
import type { Checkpoint, CheckpointStore, RunStats, WindowProgress } from "./checkpoint.ts";
import { Deadline } from "./deadline.ts";
import type { BatchDelivery } from "./delivery.ts";
import { Lease } from "./lease.ts";
import { PageReader } from "./page-reader.ts";
import { pageDone, splitInto, started, unfinished, windowDone } from "./progress.ts";
import { backlogWindows, slice, type TimeWindow, type WindowSettings } from "./windows.ts";

export { checkpointKey, type KeyParts, parseCheckpointKey } from "./checkpoint-key.ts";

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
  /** Aborted to stop the run early (the CLI's Ctrl-C): the page in flight is abandoned, progress kept. */
  stop?: AbortSignal;
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
  /** A catching-up window with more events than this is read in parts (estimated from its first page). */
  maxEventsPerWindow: number;
  /** A replay: exactly this window, on its own checkpoint; the scheduled cursor is never touched. */
  replay?: TimeWindow;
  /** False: a new checkpoint starts at the initial lookback even if the org has another (a backfill). */
  carryCursorOver?: boolean;
  /**
   * Each span is read once more when it is this old (ms), for events JumpCloud made visible later
   * than the overlap; 0 or absent: never. Read in spans of at least RECHECK_SPAN_MS, so at most hourly.
   */
  recheckAfter?: number;
}

/** The shortest span the trailing re-read reads at once: it runs at most once an hour. */
export const RECHECK_SPAN_MS = 3_600_000;

/** What a run did. */
export interface CollectSummary {
  key: string;
  orgId: string | undefined;
  status: "caught-up" | "work-remaining" | "interrupted" | "locked";
  windows: number;
  pages: number;
  fetched: number;
  /** What the mapper acknowledged. */
  counts: Counts;
  /** Events the trailing re-read found that were not stored: they arrived later than the overlap. */
  lateEvents: number;
  cursorBefore: string | undefined;
  cursorAfter: string | undefined;
  /** How far the cursor is behind now, in ms. */
  lagMs: number | undefined;
  workRemaining: boolean;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/**
 * One collection run: takes the checkpoint's lease, reads windows page by page, hands each page
 * to the mapper and records progress only after the mapper acknowledged it, moves the cursor only
 * when a whole window is acknowledged, and stops starting work when time runs short.
 */
export class Collector {
  private lease!: Lease;
  private deadline!: Deadline;
  private counts: Counts = NO_COUNTS;
  private lateEvents = 0;
  private tally = { windows: 0, pages: 0, fetched: 0 };
  private readOverlap = false;
  private startedAt = 0;
  /** Where events may have been sent before this run (see rereadBefore). */
  private sentBefore: number | undefined;
  /** Windows this run read again from their start after a refused position. */
  private readonly restarted: TimeWindow[] = [];

  constructor(
    private readonly deps: CollectorDeps,
    private readonly options: CollectOptions,
  ) {}

  async run(): Promise<CollectSummary> {
    const { deps, options } = this;
    this.startedAt = deps.now();
    const { store, owner, now } = deps;
    const { key, leaseMs } = options;
    const lease = await Lease.acquire({ store, owner, now, key, leaseMs }, this.startedAt);
    if (!lease) {
      deps.logger.info("another run holds the lease", { key: options.key });
      return this.summary("locked", undefined, undefined);
    }
    this.lease = lease;
    const deadline = new Deadline(deps.remainingMs, options.safetyMarginMs, deps.stop);
    this.deadline = deadline;
    let status: CollectSummary["status"];
    let before: number | undefined;
    // Everything after the lease is taken is inside this try: a failure anywhere gives it back.
    try {
      await this.carryCursorOver();
      await this.markRecheckStart();
      before = lease.checkpoint.cursor;
      const started = lease.checkpoint.progress.map((p) => p.end);
      this.sentBefore = Math.max(
        lease.checkpoint.highWater ?? Number.NEGATIVE_INFINITY,
        before ?? Number.NEGATIVE_INFINITY,
        ...started,
      );
      status = await this.loop(deadline.signal);
    } catch (error) {
      if (!deadline.isOutOfTime(error)) throw error;
      status = "work-remaining";
    } finally {
      deadline.stop();
      await lease.release(() => ({ stats: this.stats() }));
    }
    if (status === "work-remaining" && deadline.stopped) status = "interrupted";
    return this.summary(status, before, lease.checkpoint.cursor);
  }

  /**
   * A new scheduled checkpoint of an org that was collected under another service list (the
   * setting changed) starts at that checkpoint's cursor, not the initial lookback: no gap and no
   * re-read for the services kept; services added are collected from there on (`backfill` for
   * their past). The org's other checkpoints come from its index (key reads, never a table scan);
   * a checkpoint joins the index on its first run, so one from before the index joins then too.
   */
  private async carryCursorOver(): Promise<void> {
    const { checkpoint } = this.lease;
    const { replay, orgId, key } = this.options;
    if (replay || checkpoint.registered) return;
    const others = await this.deps.store.registerScheduled(orgId, key);
    const isNew = checkpoint.cursor === undefined && checkpoint.progress.length === 0;
    const sameOrg =
      isNew && this.options.carryCursorOver !== false
        ? (await Promise.all(others.map((k) => this.deps.store.get(k)))).filter(
            (c): c is Checkpoint => c !== undefined,
          )
        : [];
    const cursors = sameOrg.map((c) => c.cursor).filter((c): c is number => c !== undefined);
    if (cursors.length === 0) {
      await this.lease.save({ registered: true });
      return;
    }
    const cursor = Math.max(...cursors);
    this.deps.logger.warn("the service list changed: this checkpoint starts at the previous one's cursor", {
      key,
      from: sameOrg.map((c) => c.key),
      cursor: iso(cursor),
    });
    // What the old checkpoint may have sent is sent for this one too (LOOKUP_EXISTING=rereads).
    const highWater = Math.max(cursor, ...sameOrg.map((c) => c.highWater ?? cursor));
    await this.lease.save({ cursor, highWater, registered: true });
  }

  private async loop(signal: AbortSignal): Promise<CollectSummary["status"]> {
    for (;;) {
      if (!this.deadline.timeLeft()) return "work-remaining";
      // Windows a run before this one (or a refused position) left unfinished come first.
      const resumed = unfinished(this.lease.checkpoint);
      const windows = resumed.length > 0 ? resumed : this.plan();
      if (windows.length === 0) {
        await this.recheck(signal);
        return "caught-up";
      }
      // The overlap is read once per run; later windows start at the cursor.
      if (resumed.length === 0) this.readOverlap = true;
      await this.readAll(windows, resumed.length === 0, signal);
    }
  }

  /**
   * The trailing re-read: once caught up, reads the next span that became `recheckAfter` old (one
   * window per run), every event looked up, so only events that arrived late are stored.
   */
  private async recheck(signal: AbortSignal): Promise<void> {
    const { recheckAfter, replay, windows } = this.options;
    const { cursor, recheckedTo } = this.lease.checkpoint;
    if (!recheckAfter || replay || cursor === undefined || recheckedTo === undefined) return;
    const end = cursor - recheckAfter;
    if (end - recheckedTo < RECHECK_SPAN_MS) return;
    // One window a run (new events come first), its place saved after each page: none is too big.
    const window = { start: recheckedTo, end: Math.min(end, recheckedTo + windows.maxWindow) };
    let late = 0;
    for await (const page of this.deps.source.pages(this.query(window, undefined), signal)) {
      late += (await this.deliver(page.events, window, signal, true)).indexed;
      const reached = lastEventTime(page.events);
      if (page.hasMore && reached > (this.lease.checkpoint.recheckedTo ?? window.start))
        await this.lease.save({ recheckedTo: reached });
      this.deadline.ensureTimeLeft("mid-recheck");
    }
    await this.lease.save({ recheckedTo: window.end });
    this.lateEvents += late;
    if (late > 0)
      this.deps.logger.warn("events arrived later than the overlap; the trailing re-read stored them", {
        key: this.options.key,
        lateEvents: late,
        window: { start: iso(window.start), end: iso(window.end) },
      });
  }

  /**
   * Where the trailing re-read starts, set once per checkpoint: an event read when already
   * RECHECK_AFTER old had all that time to become visible, so only spans read younger need it.
   * (A checkpoint from before this setting existed starts RECHECK_AFTER behind its cursor.)
   */
  private async markRecheckStart(): Promise<void> {
    const { recheckAfter, replay, windows } = this.options;
    const { cursor, recheckedTo } = this.lease.checkpoint;
    if (!recheckAfter || replay || recheckedTo !== undefined) return;
    const firstRead = cursor === undefined ? this.startedAt - windows.initialLookback : cursor - recheckAfter;
    await this.lease.save({ recheckedTo: Math.max(firstRead, this.startedAt - recheckAfter) });
  }

  private plan(): TimeWindow[] {
    const { replay, windows } = this.options;
    const { cursor, done } = this.lease.checkpoint;
    if (!replay) {
      // The overlap is for events that arrived late since the last run: read once, at the start.
      const settings = this.readOverlap ? { ...windows, overlap: 0 } : windows;
      // Planned against the time the run started: a run catches up to then, never chases the clock.
      return backlogWindows(cursor, this.startedAt, settings);
    }
    // A replay reads its own window in maxWindow steps, without overlap.
    return done ? [] : slice({ start: cursor ?? replay.start, end: replay.end }, windows.maxWindow);
  }

  /**
   * Reads `windows`, several at once while catching up, each saving its position page by page;
   * the cursor passes a window only once it and every window before it are acknowledged.
   */
  private async readAll(windows: WindowProgress[] | TimeWindow[], fresh: boolean, signal: AbortSignal) {
    const { backfillConcurrency } = this.options;
    // One failing window stops the others, and nothing runs on after this method returns.
    const stop = new AbortController();
    const both = AbortSignal.any([signal, stop.signal]);
    const limit = pLimit(Math.max(1, backfillConcurrency));
    const tasks: Promise<void>[] = [];
    const schedule = (work: () => Promise<void>) => {
      const task = limit(async () => {
        // Tasks start in order (windows are recorded in order); none starts once time is short.
        if (!this.deadline.timeLeft() || both.aborted) return;
        await work();
      });
      tasks.push(
        task.catch((error: unknown) => {
          stop.abort(error);
          throw error;
        }),
      );
    };
    for (const window of windows) {
      schedule(async () => {
        if (fresh) await this.lease.save((current) => started(current, [window]));
        const whole = this.windowTally();
        // A busy window's other parts are read by tasks of their own, beside the rest.
        const onSplit = (rest: TimeWindow[]) => {
          whole.parts += rest.length;
          for (const part of rest) schedule(async () => whole.ended(await this.readWindow(part, both)));
        };
        whole.ended(
          await this.readWindow(window, both, fresh && backfillConcurrency > 1 ? onSplit : undefined),
        );
      });
    }
    // Tasks may add tasks (the parts of a busy window): wait until none is left.
    const results: PromiseSettledResult<void>[] = [];
    while (results.length < tasks.length)
      results.push(...(await Promise.allSettled(tasks.slice(results.length))));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    // The first failure stopped the others: report it, not a sibling's "aborted".
    if (failed) throw signal.aborted ? signal.reason : (stop.signal.reason ?? failed.reason);
  }

  // Counts a window as read once every part of it got to its end.
  private windowTally() {
    const whole = {
      parts: 1,
      ended: (finished: boolean) => {
        if (!finished) whole.parts = Number.POSITIVE_INFINITY;
        if (--whole.parts === 0) this.tally.windows++;
      },
    };
    return whole;
  }

  /**
   * Reads one window page by page from its saved position, saving it after each acknowledged page,
   * the next page requested while this one is delivered; answers whether it got to the end (not
   * when it must start again). With `onSplit`, a window its first page shows to be busy is cut
   * into parts: this call reads the first, `onSplit` gets the others.
   */
  private async readWindow(
    window: TimeWindow & Partial<WindowProgress>,
    signal: AbortSignal,
    onSplit?: (rest: TimeWindow[]) => void,
  ): Promise<boolean> {
    const resumeAfter = window.searchAfter;
    let pages = window.pages ?? 0;
    let part: TimeWindow = window;
    let reader = new PageReader(this.deps.source, this.query(window, resumeAfter), signal);
    try {
      for (let page = await reader.read(); page; page = await reader.read()) {
        const parts = onSplit && pages === 0 && page.hasMore ? this.partsOf(window, page) : undefined;
        if (parts) {
          await this.lease.save((current) => splitInto(current, window, parts));
          part = parts[0] as TimeWindow;
          reader.close();
          reader = new PageReader(this.deps.source, this.query(part, page.searchAfter), signal);
          onSplit?.(parts.slice(1));
        }
        if (page.hasMore) reader.readAhead();
        await this.deliver(page.events, part, signal);
        pages++;
        if (!page.hasMore) break;
        const at = { window: part, position: page.searchAfter, pages };
        await this.lease.save((current) => pageDone(current, at.window, at.position, at.pages));
        this.deadline.ensureTimeLeft("mid-window");
      }
    } catch (error) {
      // JumpCloud tokens are short-lived: a refused saved position restarts the window (duplicates only).
      if (error instanceof JumpcloudBadRequestError && resumeAfter !== undefined) {
        this.deps.logger.warn("saved position refused; reading the window again from its start", {
          key: this.options.key,
          requestId: error.requestId,
        });
        this.restarted.push(window);
        await this.lease.save((current) => pageDone(current, window, undefined, 0));
        return false;
      }
      throw error;
    } finally {
      reader.close();
    }
    await this.finishWindow(part);
    return true;
  }

  private async finishWindow(window: TimeWindow): Promise<void> {
    const { replay } = this.options;
    await this.lease.save((current) => {
      const update = windowDone(current, window);
      const cursor = update.cursor ?? current.cursor;
      const replayDone = replay !== undefined && cursor !== undefined && cursor >= replay.end;
      return { ...update, ...(replayDone && { done: true }) };
    });
  }

  /**
   * The parts of a window whose first page covers little of it: about maxEventsPerWindow events
   * each (estimated from that page's density; at most 64), the first one holding the page read.
   * No count request: the page is read anyway. Undefined when the window is not that busy.
   */
  private partsOf(window: TimeWindow, page: EventPage): TimeWindow[] | undefined {
    const reached = lastEventTime(page.events);
    if (!(reached >= window.start && reached < window.end)) return undefined;
    const span = window.end - window.start;
    const estimate = (page.events.length * span) / (reached - window.start + 1);
    const n = Math.min(64, Math.ceil(estimate / this.options.maxEventsPerWindow));
    const parts = n > 1 ? slice(window, Math.ceil(span / n)) : [];
    const first = parts.findIndex((p) => p.end > reached);
    if (first < 0 || first === parts.length - 1) return undefined;
    return [{ start: window.start, end: (parts[first] as TimeWindow).end }, ...parts.slice(first + 1)];
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
    again = false,
  ): Promise<Counts> {
    this.tally.pages++;
    this.tally.fetched += events.length;
    if (events.length === 0) return NO_COUNTS;
    const abandonsAt = this.deadline.abandonsAt();
    const context = {
      orgId: this.options.orgId,
      window: { start: iso(window.start) as string, end: iso(window.end) as string },
      // The mapper's retries must end before this run abandons the batch.
      ...(abandonsAt !== undefined && { deadline: iso(abandonsAt) as string }),
      ...(again ? { rereadBefore: iso(window.end) as string } : this.rereads(window)),
    };
    const ack = await this.deps.delivery.deliver(events, context, signal);
    // Added after the await: deliveries run concurrently while catching up.
    this.counts = addCounts(this.counts, ack);
    return ack;
  }

  /**
   * Which events of `window` may be stored already: those before the end of every window ever
   * started (the overlap, a window resumed after a cut-off), all of a replay or of a window read
   * again. Elasticsearch refuses a second `create` of an `_id` only within one backing index, so
   * the mapper looks these up across the data stream first.
   */
  private rereads(window: TimeWindow): { rereadBefore?: string } {
    const again = this.options.replay !== undefined || this.restarted.some((w) => w.start === window.start);
    const before = again ? window.end : Math.min(window.end, this.sentBefore ?? Number.NEGATIVE_INFINITY);
    return before > window.start ? { rereadBefore: iso(before) as string } : {};
  }

  private stats(): RunStats {
    return { at: new Date(this.deps.now()).toISOString(), ...this.tally, counts: this.counts };
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
      ...this.tally,
      counts: this.counts,
      lateEvents: this.lateEvents,
      cursorBefore: iso(before),
      cursorAfter: iso(after),
      lagMs: after === undefined ? undefined : this.deps.now() - after,
      workRemaining: status === "work-remaining" || status === "interrupted",
    };
  }
}

// The time of a page's last event (pages are in time order); events at that very instant are read
// again next time (looked up: duplicates only). NaN when unreadable: the place is then not moved.
function lastEventTime(events: readonly Record<string, unknown>[]): number {
  const at = events[events.length - 1]?.timestamp;
  return typeof at === "string" ? Date.parse(at) : Number.NaN;
}
