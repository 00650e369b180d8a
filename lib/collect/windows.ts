/** How far behind "now" and how wide the collector reads. All durations in milliseconds. */
export interface WindowSettings {
  /** Events younger than this are not read yet: JumpCloud indexes them with a delay. */
  sourceLag: number;
  /** Each window starts this much before the cursor, to catch events that arrived late. */
  overlap: number;
  /** Widest window read in one go. */
  maxWindow: number;
  /** Where the very first run starts, back from now. */
  initialLookback: number;
}

/** Defaults, documented in the README. */
export const DEFAULT_WINDOW_SETTINGS: WindowSettings = {
  sourceLag: 60_000,
  overlap: 300_000,
  maxWindow: 3_600_000,
  initialLookback: 86_400_000,
};

/** A half-open time window [start, end), epoch ms. */
export interface TimeWindow {
  start: number;
  end: number;
}

/**
 * The next window to read: from `cursor − overlap` (first run: `now − initialLookback`) to
 * `min(now − sourceLag, start + maxWindow)`; `undefined` when that would not be a window
 * (start ≥ end): there is nothing to read yet, and no request is ever sent for it.
 */
export function nextWindow(
  cursor: number | undefined,
  now: number,
  settings: WindowSettings,
): TimeWindow | undefined {
  const start = cursor === undefined ? now - settings.initialLookback : cursor - settings.overlap;
  const end = Math.min(now - settings.sourceLag, start + settings.maxWindow);
  return end > start ? { start, end } : undefined;
}

/**
 * Every window from `cursor − overlap` up to `now − sourceLag`, each at most `maxWindow` wide:
 * the plan for catching up. Only the first window overlaps the cursor.
 */
export function backlogWindows(
  cursor: number | undefined,
  now: number,
  settings: WindowSettings,
): TimeWindow[] {
  const first = nextWindow(cursor, now, settings);
  if (!first) return [];
  return [first, ...slice({ start: first.end, end: now - settings.sourceLag }, settings.maxWindow)];
}

/** `window` cut into consecutive windows `step` wide (the last one may be narrower); none if it is empty. */
export function slice(window: TimeWindow, step: number): TimeWindow[] {
  if (!(step > 0)) throw new RangeError(`a window cannot be cut in steps of ${step} ms`);
  const out: TimeWindow[] = [];
  for (let start = window.start; start < window.end; start += step) {
    out.push({ start, end: Math.min(window.end, start + step) });
  }
  return out;
}

/** The cursor after acknowledging a window: never backwards. */
export function advance(cursor: number | undefined, window: TimeWindow): number {
  return cursor === undefined ? window.end : Math.max(cursor, window.end);
}
