import { parseDuration } from "../lib/duration.ts";
import { parseIso8601 } from "../lib/ecs/timestamp.ts";

/**
 * A time given as ISO 8601 or as a duration before `now` (`2h` = two hours ago); a problem
 * naming the flag is recorded for anything else.
 */
export function parseTimeOption(name: string, value: string, now: number, problems: string[]): Date {
  const ago = parseDuration(value);
  if (ago !== undefined) return new Date(now - ago);
  const millis = parseIso8601(value.trim());
  if (millis === undefined) {
    problems.push(
      `${name} must be an ISO 8601 time (2026-01-31T12:00:00Z) or a duration ago (2h, 15d), not "${value}"`,
    );
    return new Date(now);
  }
  return new Date(millis);
}

/** A time given on the command line (its text) or known already (a default, `now − SOURCE_LAG`). */
type TimeSource = readonly [name: string, value: string | Date | undefined];

/**
 * Two times parsed together: each bad value recorded as a problem naming its flag, then the first
 * must come before the second. An unset one stays undefined and is not compared.
 */
export function parseTimeRange(
  from: TimeSource,
  to: TimeSource,
  now: number,
  problems: string[],
): { from: Date | undefined; to: Date | undefined } {
  const before = problems.length;
  const read = ([name, value]: TimeSource) =>
    typeof value === "string" ? parseTimeOption(name, value, now, problems) : value;
  const range = { from: read(from), to: read(to) };
  if (problems.length === before && range.from && range.to && range.from >= range.to) {
    problems.push(
      `${from[0]} (${range.from.toISOString()}) must be before ${to[0]} (${range.to.toISOString()})`,
    );
  }
  return range;
}

/**
 * Records a problem for each time after `now`: a replay or backfill reads what JumpCloud already
 * has (it answers 400 to a start in the future), and `run` collects what is still arriving.
 */
export function inThePast(
  times: readonly (readonly [name: string, at: Date | undefined])[],
  now: number,
  problems: string[],
): void {
  for (const [name, at] of times)
    if (at !== undefined && at.getTime() > now)
      problems.push(
        `${name} (${at.toISOString()}) is in the future: replay and backfill read a past window; \`run\` collects what is still arriving`,
      );
}
