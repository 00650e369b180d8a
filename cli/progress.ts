import { MultiBar, Presets, type SingleBar } from "cli-progress";
import { addCounts, type Counts, NO_COUNTS } from "../lib/counts.ts";
import type { Logger } from "../lib/logger.ts";

/** One acknowledged page, as the progress display sees it. */
export interface PageDone {
  /** Which collection: the org, or the key's own org. */
  label: string;
  counts: Counts;
  window: { start: string; end: string };
}

/** Shows a run's progress; `stop` before printing the summary. */
export interface RunProgress {
  page(done: PageDone): void;
  stop(): void;
}

interface Tally {
  counts: Counts;
  firstStart: number;
  upTo: number;
  loggedAt: number;
  bar?: SingleBar;
}

const LOG_EVERY_MS = 5_000;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/**
 * Progress bars on a terminal (cli-progress: one bar per org, over the span of time being read);
 * elsewhere a log line on the first page and then every 5 s per org, so a long backfill is never silent.
 */
export function runProgress(options: {
  terminal: NodeJS.WritableStream | undefined;
  logger: Logger;
  now?: () => number;
}): RunProgress {
  const now = options.now ?? Date.now;
  const tallies = new Map<string, Tally>();
  const bars = options.terminal
    ? new MultiBar(
        {
          stream: options.terminal,
          format:
            " {label} |{bar}| {percentage}% | up to {upTo} | {indexed} indexed, {duplicates} duplicates, {deadLettered} dead letters",
          hideCursor: true,
          clearOnComplete: false,
          etaBuffer: 50,
        },
        Presets.shades_classic,
      )
    : undefined;

  return {
    page({ label, counts, window }) {
      const start = Date.parse(window.start);
      const end = Date.parse(window.end);
      let tally = tallies.get(label);
      if (!tally) {
        tally = { counts: NO_COUNTS, firstStart: start, upTo: start, loggedAt: 0 };
        tallies.set(label, tally);
      }
      tally.counts = addCounts(tally.counts, counts);
      tally.upTo = Math.max(tally.upTo, end);
      const payload = { label, upTo: iso(tally.upTo), ...tally.counts };
      if (bars) {
        // Measured over time read so far: a run reads from its first window up to about now.
        const total = Math.max(1, now() - tally.firstStart);
        tally.bar ??= bars.create(total, 0, payload);
        tally.bar.setTotal(total);
        tally.bar.update(tally.upTo - tally.firstStart, payload);
      } else if (tally.loggedAt === 0 || now() - tally.loggedAt >= LOG_EVERY_MS) {
        tally.loggedAt = now();
        options.logger.info(`${label}: read up to ${payload.upTo}`, { ...tally.counts });
      }
    },
    stop() {
      bars?.stop();
    },
  };
}
