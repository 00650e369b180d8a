import type { Checkpoint, CheckpointUpdate, WindowProgress } from "./checkpoint.ts";
import { advance, type TimeWindow } from "./windows.ts";

/*
 * The windows a run has started, kept in the checkpoint so that a run cut off anywhere resumes
 * each of them at its last acknowledged page. Pure functions of the checkpoint as it is when the
 * save is written (several windows are read at once while catching up).
 */

const same = (a: TimeWindow, b: TimeWindow) => a.start === b.start && a.end === b.end;
const byStart = (a: WindowProgress, b: WindowProgress) => a.start - b.start || a.end - b.end;

/** Records windows as started (read from their first page); a window already recorded is kept. */
export function started(current: Checkpoint, windows: readonly TimeWindow[]): CheckpointUpdate {
  const fresh = windows.filter((w) => !current.progress.some((p) => same(p, w)));
  const progress = [
    ...current.progress,
    ...fresh.map((w) => ({ start: w.start, end: w.end, searchAfter: undefined, pages: 0 })),
  ].sort(byStart);
  const highWater = Math.max(current.highWater ?? Number.NEGATIVE_INFINITY, ...windows.map((w) => w.end));
  return { progress, ...(Number.isFinite(highWater) && { highWater }) };
}

/** Replaces a started window by its parts (a window with many events, read in parts). */
export function splitInto(
  current: Checkpoint,
  window: TimeWindow,
  parts: readonly TimeWindow[],
): CheckpointUpdate {
  const rest = current.progress.filter((p) => !same(p, window));
  return started({ ...current, progress: rest }, parts);
}

/** Records the position after an acknowledged page of `window`. */
export function pageDone(
  current: Checkpoint,
  window: TimeWindow,
  searchAfter: string | undefined,
  pages: number,
): CheckpointUpdate {
  return {
    progress: current.progress.map((p) => (same(p, window) ? { ...p, searchAfter, pages } : p)),
  };
}

/**
 * Records `window` as read to its end, and moves the cursor over every finished window that no
 * unfinished one precedes: the cursor never passes an event that is not acknowledged.
 */
export function windowDone(current: Checkpoint, window: TimeWindow): CheckpointUpdate {
  const progress = current.progress.map((p) => (same(p, window) ? { ...p, done: true } : p));
  let cursor = current.cursor;
  while (progress[0]?.done) cursor = advance(cursor, progress.shift() as WindowProgress);
  return { progress, ...(cursor !== undefined && cursor !== current.cursor && { cursor }) };
}

/** The windows started and not yet finished, oldest first: a run resumes them before anything else. */
export function unfinished(current: Checkpoint): WindowProgress[] {
  return current.progress.filter((p) => !p.done);
}
