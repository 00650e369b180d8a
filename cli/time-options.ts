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
