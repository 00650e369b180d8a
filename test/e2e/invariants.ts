import { parseCheckpointKey } from "../../lib/collect/collector.ts";
import type { TimeWindow } from "../../lib/collect/windows.ts";

/** One simulated event as the checks see it: its `_id`, org, service, time and when it became visible. */
export interface TruthEvent {
  id: string;
  orgId: string;
  service: string;
  at: number;
  visibleAt: number;
}

/** A document copy as stored by the cluster (one per backing index it landed in). */
export interface StoredCopy {
  id: string;
  index: string;
}

/** A dead letter as written to the bucket: the `_id` and the reason the cluster gave. */
export interface DeadLetterRecord {
  id: string;
  reason: string;
}

/** What a finished scenario is judged on. */
export interface Outcome {
  stored: readonly StoredCopy[];
  deadLetters: readonly DeadLetterRecord[];
  /** Final scheduled cursor per org (epoch ms; undefined when it never moved). */
  finalCursors: ReadonlyMap<string, number | undefined>;
  /** Replay windows asked for (their events may be stored beyond a scheduled cursor). */
  replays: readonly (TimeWindow & { orgId: string })[];
  /** `_id`s someone else (Elastic Agent) stored before the collector ran, named as such in messages. */
  preloaded?: ReadonlySet<string>;
}

/** The positions a checkpoint save carries: the cursor, how far the trailing re-read got, windows read. */
export interface SavedPositions {
  cursor: number | undefined;
  recheckedTo?: number | undefined;
  /** Windows started and not yet passed by the cursor; `done` ones were read to their end. */
  progress?: readonly { start: number; end: number; done?: boolean }[];
}

/**
 * Watches every checkpoint save: a position (the cursor, the trailing re-read's `recheckedTo`)
 * never moves backwards, and never passes a visible event that this checkpoint's runs had not had
 * acknowledged (indexed, duplicate or dead-lettered).
 */
export class CursorLedger {
  readonly violations: string[] = [];
  readonly saves: { key: string; positions: SavedPositions; clock: number }[] = [];
  private readonly positions = new Map<string, number>();
  private readonly acknowledged = new Map<string, Set<string>>();
  private readonly lowerBounds = new Map<string, number>();
  /** Per key, windows read to their end before the cursor could pass them, and when. */
  private readonly readAt = new Map<string, { start: number; end: number; clock: number }[]>();

  constructor(
    private readonly truth: readonly TruthEvent[],
    private readonly defaultOrg: string,
    private readonly initialLookbackMs: number,
  ) {}

  /** The first run of a scheduled key starts at `now − initialLookback`: nothing earlier is owed. */
  onAcquire(key: string, clock: number): void {
    if (!this.lowerBounds.has(key)) this.lowerBounds.set(key, clock - this.initialLookbackMs);
  }

  /** The collector got an acknowledgement for these `_id`s while working on `key`. */
  acknowledge(key: string, ids: readonly string[]): void {
    const set = this.acknowledged.get(key) ?? new Set<string>();
    for (const id of ids) set.add(id);
    this.acknowledged.set(key, set);
  }

  /** Checks one successful save of `key` at the fake `clock`: a position that moved is judged then. */
  onSave(key: string, positions: SavedPositions, clock: number): void {
    this.saves.push({ key, positions, clock });
    this.noteWindowsRead(key, positions, clock);
    const parts = parseCheckpointKey(key);
    const lower = parts?.replay?.start ?? this.lowerBounds.get(key) ?? Number.NEGATIVE_INFINITY;
    this.judge(key, "cursor", positions.cursor, lower, clock);
    // The trailing re-read's first position only marks where it starts: nothing before it is owed.
    this.judge(key, "recheckedTo", positions.recheckedTo, undefined, clock);
  }

  // A window read to its end while an earlier one was not is passed by a later save, maybe of a
  // later run: what it owes is what was visible when it was read.
  private noteWindowsRead(key: string, positions: SavedPositions, clock: number): void {
    const read = this.readAt.get(key) ?? [];
    for (const w of positions.progress ?? [])
      if (w.done && !read.some((r) => r.start === w.start && r.end === w.end)) read.push({ ...w, clock });
    this.readAt.set(key, read);
  }

  private readClock(key: string, at: number, clock: number): number {
    const window = this.readAt.get(key)?.find((w) => at >= w.start && at < w.end);
    return window ? Math.min(window.clock, clock) : clock;
  }

  // What a position passed when it moved from where it was: events not visible when their window
  // was read are the overlap's or the re-read's job, and the end state shows whether they did it.
  private judge(
    key: string,
    field: string,
    to: number | undefined,
    lower: number | undefined,
    clock: number,
  ) {
    if (to === undefined) return;
    const previous = this.positions.get(`${key}|${field}`);
    this.positions.set(`${key}|${field}`, Math.max(to, previous ?? to));
    if (previous !== undefined && to < previous)
      this.violations.push(`${key}: ${field} moved back from ${iso(previous)} to ${iso(to)}`);
    const from = previous ?? lower;
    if (from === undefined || to <= from) return;
    const missing = this.owed(key, from, to)
      .filter((e) => e.visibleAt <= this.readClock(key, e.at, clock))
      .filter((e) => !this.acknowledged.get(key)?.has(e.id));
    if (missing.length === 0) return;
    const first = missing[0] as TruthEvent;
    this.violations.push(
      `${key}: ${field} ${iso(to)} passed ${missing.length} unacknowledged event(s), first ${first.id} at ${iso(first.at)}`,
    );
  }

  // Events of the key's org and services in [from, to).
  private owed(key: string, from: number, to: number): TruthEvent[] {
    const parts = parseCheckpointKey(key);
    if (!parts) return [];
    const orgId = parts.orgId ?? this.defaultOrg;
    const all = parts.services.includes("all");
    return this.truth.filter(
      (e) => e.orgId === orgId && (all || parts.services.includes(e.service)) && e.at >= from && e.at < to,
    );
  }
}

/**
 * The promise, checked on the end state: every event before its org's final cursor is stored or
 * dead-lettered (with a reason), nothing else is, no `_id` is stored twice, and no document is
 * both stored and dead-lettered.
 */
export function checkOutcome(truth: readonly TruthEvent[], outcome: Outcome): string[] {
  const violations: string[] = [];
  const copies = countCopies(outcome.stored);
  for (const [id, indices] of copies) {
    const by = outcome.preloaded?.has(id) ? ", first by someone else" : "";
    if (indices.length > 1)
      violations.push(`${id} stored ${indices.length} times (${indices.join(", ")}${by})`);
  }
  const lettered = new Set(outcome.deadLetters.map((d) => d.id));
  for (const letter of outcome.deadLetters) {
    if (letter.reason.trim() === "") violations.push(`dead letter ${letter.id} has no reason`);
    if (copies.has(letter.id)) violations.push(`${letter.id} is both stored and dead-lettered`);
  }
  const landed = new Set([...copies.keys(), ...lettered]);
  const owed = truth.filter((e) => e.at < (outcome.finalCursors.get(e.orgId) ?? Number.NEGATIVE_INFINITY));
  const lost = owed.filter((e) => !landed.has(e.id));
  if (lost.length > 0)
    violations.push(`${lost.length} event(s) neither stored nor dead-lettered, e.g. ${describe(lost)}`);
  const allowed = new Set([...owed, ...truth.filter((e) => inReplay(e, outcome.replays))].map((e) => e.id));
  const extra = [...landed].filter((id) => !allowed.has(id));
  if (extra.length > 0)
    violations.push(`${extra.length} _id(s) landed that no collected window holds, e.g. ${extra[0]}`);
  return violations;
}

/**
 * Secrets must appear nowhere a run leaves something: each `(name, value)` of `secrets` found in
 * one of `places` (where → text) is a violation naming both, never the value.
 */
export function findSecrets(secrets: ReadonlyMap<string, string>, places: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [where, text] of Object.entries(places))
    for (const [name, value] of secrets) if (text.includes(value)) found.push(`${name} found in ${where}`);
  return found;
}

function countCopies(stored: readonly StoredCopy[]): Map<string, string[]> {
  const copies = new Map<string, string[]>();
  for (const copy of stored) copies.set(copy.id, [...(copies.get(copy.id) ?? []), copy.index]);
  return copies;
}

function inReplay(event: TruthEvent, replays: Outcome["replays"]): boolean {
  return replays.some((r) => r.orgId === event.orgId && event.at >= r.start && event.at < r.end);
}

function describe(events: readonly TruthEvent[]): string {
  return events
    .slice(0, 3)
    .map((e) => `${e.id} (${e.orgId} at ${iso(e.at)}, visible ${iso(e.visibleAt)})`)
    .join("; ");
}

const iso = (ms: number) => new Date(ms).toISOString();
