// The date processor's ISO8601 format: a date, optionally a time (to nanoseconds, `.` or `,`
// before the fraction) and an offset; no offset means UTC.
const ISO8601 =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?$/;

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : (DAYS[month - 1] as number);
}

/**
 * Parses an ISO 8601 timestamp the way Elasticsearch's `date` processor does with format
 * `ISO8601`, truncating to milliseconds. Returns epoch milliseconds, or `undefined` if invalid.
 */
export function parseIso8601(text: string): number | undefined {
  const m = ISO8601.exec(text);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = m[2] === undefined ? 1 : Number(m[2]);
  const day = m[3] === undefined ? 1 : Number(m[3]);
  const hour = m[4] === undefined ? 0 : Number(m[4]);
  const minute = m[5] === undefined ? 0 : Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const millis = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, "0"));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone !== undefined && zone !== "Z") {
    const digits = zone.slice(1).replace(":", "");
    const offsetHours = Number(digits.slice(0, 2));
    const offsetMins = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (offsetHours > 18 || offsetMins > 59) return undefined;
    offsetMinutes = (zone.startsWith("-") ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  let epoch = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC reads years 0-99 as 1900-1999.
  if (year < 100) epoch = new Date(epoch).setUTCFullYear(year);
  return epoch - offsetMinutes * 60_000;
}

/** Formats epoch milliseconds as the date processor writes `@timestamp`: UTC, milliseconds, `Z`. */
export function formatTimestamp(epochMillis: number): string {
  return new Date(epochMillis).toISOString();
}

function digitsAt(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/**
 * The `@timestamp` the date processor writes for an ISO 8601 text, or `undefined` if the text
 * is not a valid date. Same result as parse + format.
 */
// JumpCloud almost always sends UTC with 3 to 9 fraction digits: those need no Date at all.
export function normalizeTimestamp(text: string): string | undefined {
  const n = text.length;
  const withFraction = n >= 24 && n <= 30 && text[19] === ".";
  if ((withFraction || n === 20) && text.charCodeAt(n - 1) === 90 /* Z */ && text[10] === "T") {
    const year = digitsAt(text, 0, 4);
    const month = digitsAt(text, 5, 2);
    const day = digitsAt(text, 8, 2);
    const fraction = withFraction ? digitsAt(text, 20, n - 21) : 0;
    if (
      text[4] === "-" &&
      text[7] === "-" &&
      text[13] === ":" &&
      text[16] === ":" &&
      year >= 0 &&
      fraction >= 0 &&
      month >= 1 &&
      month <= 12 &&
      day >= 1 &&
      day <= daysInMonth(year, month) &&
      digitsAt(text, 11, 2) >= 0 &&
      digitsAt(text, 11, 2) <= 23 &&
      digitsAt(text, 14, 2) >= 0 &&
      digitsAt(text, 14, 2) <= 59 &&
      digitsAt(text, 17, 2) >= 0 &&
      digitsAt(text, 17, 2) <= 59
    ) {
      return n === 24 ? text : withFraction ? `${text.slice(0, 23)}Z` : `${text.slice(0, 19)}.000Z`;
    }
  }
  const millis = parseIso8601(text);
  return millis === undefined ? undefined : formatTimestamp(millis);
}
