import { isObject } from "../ecs/paths.ts";
import { InputError } from "../errors.ts";

/** One raw event read from input: its exact JSON text, or an already parsed value. */
export type RawEvent = { readonly text: string } | { readonly value: unknown };

/**
 * Splits input into raw events. Accepts a JSON array of events, an `{"events": [...]}` envelope
 * (see envelopeEvents), or one JSON value per line (a line that is not valid JSON
 * still becomes an event, so it ends up as an error document rather than lost).
 */
export function readEvents(input: string): RawEvent[] {
  const trimmed = input.trim();
  if (trimmed === "") throw new InputError("the input is empty: expected JSON events");

  const whole = tryParse(trimmed);
  if (whole.ok) {
    if (Array.isArray(whole.value)) return whole.value.map((value) => ({ value }));
    const wrapped = envelopeEvents(whole.value);
    if (wrapped) return wrapped;
    // A lone `1` or `null` is unrelated text, as it is when it stands on one line of several.
    if (!isObject(whole.value)) throw noObject(1);
    return [{ text: trimmed }];
  }

  // A byte order mark starts the file, or each file of several concatenated: not part of an event.
  const lines = input
    .split(/\r?\n/)
    .map((line) => (line.startsWith(BOM) ? line.slice(1) : line))
    .filter((line) => line.trim() !== "");
  // Binary or unrelated text may hold a stray line that parses (`1`); events are objects.
  if (!lines.some((line) => isObjectLine(line))) throw noObject(lines.length);
  return lines.map((text) => ({ text }));
}

const BOM = "\uFEFF";

function noObject(lines: number): InputError {
  return new InputError(
    `no line of the input is a JSON object (${lines} line(s) read): expected JumpCloud events, as a JSON array or one JSON event per line`,
  );
}

// `{"events": [...]}`: an element `{"message": "<json>"}` (Elastic's pipeline tests) is raw text;
// `{"event": {...}}` plus `_`-prefixed metadata (vendors' test fixtures) is unwrapped; anything
// else is an event itself.
function envelopeEvents(value: unknown): RawEvent[] | undefined {
  if (!isObject(value) || !Array.isArray(value.events)) return undefined;
  return value.events.map((e: unknown): RawEvent => {
    if (!isObject(e)) return { value: e };
    const keys = Object.keys(e).filter((k) => !k.startsWith("_"));
    if (keys.length === 1 && keys[0] === "message" && typeof e.message === "string")
      return { text: e.message };
    if (keys.length === 1 && keys[0] === "event" && isObject(e.event)) return { value: e.event };
    return { value: e };
  });
}

function isObjectLine(line: string): boolean {
  const parsed = tryParse(line);
  return parsed.ok && isObject(parsed.value);
}

function tryParse(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}
