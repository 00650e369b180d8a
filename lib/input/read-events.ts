import { JSONParser } from "@streamparser/json";
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
  if (!lines.some((line) => isObjectLine(line))) throw notEvents(trimmed, lines, whole.reason);
  return lines.map((text) => ({ text }));
}

const BOM = "\uFEFF";

const EXPECTED = 'expected JumpCloud events, as a JSON array, one JSON event per line or {"events": [...]}';

// Input that opens as an array on a line that is no JSON value is a cut or broken array (not
// arrays a line), and saying so, with the parser's reason, tells the user what to fix.
function notEvents(trimmed: string, lines: string[], reason: string): InputError {
  if (!trimmed.startsWith("[") || tryParse(lines[0] ?? "").ok) return noObject(lines.length);
  return new InputError(`the input opens as a JSON array but is no valid JSON (${reason}): ${EXPECTED}`);
}

function noObject(lines: number, where = ""): InputError {
  return new InputError(`no line of the input${where} is a JSON object (${lines} line(s) read): ${EXPECTED}`);
}

// `{"events": [...]}`: an element `{"message": "<json>"}` (Elastic's pipeline tests) is raw text;
// `{"event": {...}}` plus `_`-prefixed metadata (vendors' test fixtures) is unwrapped; anything
// else is an event itself.
function envelopeEvents(value: unknown): RawEvent[] | undefined {
  if (!isObject(value) || !Array.isArray(value.events)) return undefined;
  return value.events.map(envelopeEvent);
}

function envelopeEvent(e: unknown): RawEvent {
  if (!isObject(e)) return { value: e };
  const keys = Object.keys(e).filter((k) => !k.startsWith("_"));
  if (keys.length === 1 && keys[0] === "message" && typeof e.message === "string") return { text: e.message };
  if (keys.length === 1 && keys[0] === "event" && isObject(e.event)) return { value: e.event };
  return { value: e };
}

function isObjectLine(line: string): boolean {
  const parsed = tryParse(line);
  return parsed.ok && isObject(parsed.value);
}

function tryParse(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

/** Chunks of input as they arrive: bytes (UTF-8) or text. */
export type InputChunks = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

/** Limits of streamEvents (tests set them small, to stream small inputs). */
export interface StreamLimits {
  /** Input up to this many characters is read whole, exactly as readEvents reads it. */
  wholeChars: number;
  /** A first line longer than this is no event alone: the input is a JSON document, streamed. */
  lineChars: number;
  /** Lines held back while none is a JSON object yet (nothing is written for unusable input). */
  pendingChars: number;
}

const LIMITS: StreamLimits = { wholeChars: 1 << 20, lineChars: 16 << 20, pendingChars: 16 << 20 };

/**
 * readEvents for input of any size, in batches as the input arrives (memory stays bounded by the
 * limits and the largest event). A first line that is a JSON value with only blanks after it is
 * read as readEvents reads it; otherwise input larger than `wholeChars` is one event a line,
 * unless it opens with `[` or `{` and its start has no line that is a JSON object alone: then a
 * JSON array, or `{"events": [...]}`, parsed as it arrives.
 */
export async function* streamEvents(
  chunks: InputChunks,
  limits: Partial<StreamLimits> = {},
): AsyncGenerator<RawEvent[]> {
  const { wholeChars, lineChars, pendingChars } = { ...LIMITS, ...limits };
  const text = decoded(chunks)[Symbol.asyncIterator]();
  let head = "";
  const line = new FirstLineFinder();
  while (head.length <= wholeChars || (line.end === undefined && head.length <= lineChars)) {
    const next = await text.next();
    if (next.done) {
      yield readEvents(head);
      return;
    }
    line.scan(next.value, head.length);
    head += next.value;
  }
  const first = line.end === undefined ? undefined : { end: line.end, parses: line.parses(head) };
  if (first?.parses) {
    // Whole, as readEvents takes it, if blanks alone follow (they are dropped: readEvents trims).
    // Complete blank lines are let go (nothing is made of them); a line begun is kept.
    let after = head.slice(first.end);
    while (!/\S/.test(after)) {
      const next = await text.next();
      if (next.done) {
        yield readEvents(head);
        return;
      }
      after = after.slice(after.lastIndexOf("\n") + 1) + next.value;
    }
    yield* lineEvents(prepended(head.slice(0, first.end) + after, text), pendingChars);
    return;
  }
  const rest = prepended(head, text);
  const form = formOf(head);
  yield* form === "lines" ? lineEvents(rest, pendingChars) : parsedEvents(rest, form);
}

/** Where the first line that is not blank ends, found chunk by chunk (each looked at once). */
class FirstLineFinder {
  private start: number | undefined;
  /** Where the line after it starts, once it is complete. */
  end: number | undefined;

  scan(chunk: string, offset: number): void {
    if (this.end !== undefined) return;
    if (this.start === undefined) {
      const start = chunk.search(/\S/);
      if (start === -1) return;
      this.start = offset + start;
    }
    const newline = chunk.indexOf("\n", Math.max(0, this.start - offset));
    if (newline !== -1) this.end = offset + newline + 1;
  }

  /** Whether the line alone is a JSON value. */
  parses(head: string): boolean {
    const start = this.start ?? 0;
    const line = head.slice(head.lastIndexOf("\n", start) + 1, (this.end ?? head.length) - 1);
    return tryParse(withoutBom(line)).ok;
  }
}

// Kept as is (no BOM dropped, invalid bytes replaced), as Buffer#toString reads them.
async function* decoded(chunks: InputChunks): AsyncGenerator<string> {
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  for await (const chunk of chunks) {
    const text = typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    if (text !== "") yield text;
  }
  const last = decoder.decode();
  if (last !== "") yield last;
}

async function* prepended(head: string, rest: AsyncIterator<string>): AsyncGenerator<string> {
  yield head;
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
}

// Events a line when the first line is a JSON object, or two lines are (the first may be cut): a
// JSON document spread over lines has at most one such line, the last element of an array, as
// the others end in a comma. Otherwise the first character tells.
function formOf(head: string): "lines" | "array" | "document" {
  const first = /[^\s\uFEFF]/.exec(head)?.[0];
  if (first !== "[" && first !== "{") return "lines";
  const complete = head
    .slice(0, Math.max(0, head.lastIndexOf("\n")))
    .split("\n")
    .map(withoutBom)
    .filter((line) => line.trim() !== "");
  if (complete[0] !== undefined && isObjectLine(complete[0])) return "lines";
  let objects = 0;
  for (const line of complete) if (isObjectLine(line) && ++objects === 2) return "lines";
  return first === "[" ? "array" : "document";
}

const withoutBom = (line: string) => (line.startsWith(BOM) ? line.slice(1) : line);

/** One event a line, as readEvents splits them; nothing is yielded before a line is a JSON object. */
async function* lineEvents(text: AsyncIterable<string>, pendingChars: number): AsyncGenerator<RawEvent[]> {
  let pending: RawEvent[] | undefined = [];
  let held = 0;
  let lines = 0;
  for await (const batch of lineBatches(text)) {
    const events: RawEvent[] = [];
    for (const raw of batch) {
      const line = withoutBom(raw);
      if (line.trim() === "") continue;
      lines++;
      if (pending === undefined) {
        events.push({ text: line });
        continue;
      }
      pending.push({ text: line });
      held += line.length;
      if (isObjectLine(line)) {
        events.push(...pending);
        pending = undefined;
      } else if (held > pendingChars) {
        throw noObject(lines, ` in its first ${Math.round(pendingChars / 1024 / 1024)} MiB`);
      }
    }
    if (events.length > 0) yield events;
  }
  if (pending !== undefined) throw noObject(lines);
}

/** Complete lines, a batch per chunk of text, `\r\n` and `\n` alike (a line may span chunks). */
async function* lineBatches(text: AsyncIterable<string>): AsyncGenerator<string[]> {
  let partial: string[] = [];
  for await (const chunk of text) {
    const end = chunk.lastIndexOf("\n");
    if (end === -1) {
      partial.push(chunk);
      continue;
    }
    const lines = (partial.join("") + chunk.slice(0, end)).split("\n");
    partial = [chunk.slice(end + 1)];
    yield lines.map((line) => (line.endsWith("\r") ? line.slice(0, -1) : line));
  }
  yield [partial.join("")];
}

/** The elements of a JSON array, or of the `events` array of an envelope, parsed as they arrive. */
async function* parsedEvents(
  text: AsyncIterable<string>,
  form: "array" | "document",
): AsyncGenerator<RawEvent[]> {
  // keepStack false: an element is dropped from the parser's tree once handed over.
  const parser = new JSONParser({ paths: [form === "array" ? "$.*" : "$.events.*"], keepStack: false });
  let events: RawEvent[] = [];
  let count = 0;
  parser.onValue = ({ value, parent }) => {
    if (form === "array") events.push({ value });
    else if (Array.isArray(parent)) events.push(envelopeEvent(value));
    else throw new InputError(`"events" is not an array: ${EXPECTED}`);
  };
  let leading = true;
  try {
    for await (const chunk of text) {
      // The parser takes no byte order mark.
      parser.write(leading ? chunk.replace(/^[\s\uFEFF]+/, "") : chunk);
      leading = false;
      if (events.length === 0) continue;
      count += events.length;
      yield events;
      events = [];
    }
    if (!parser.isEnded) parser.end();
  } catch (cause) {
    if (cause instanceof InputError) throw cause;
    const what = form === "array" ? "JSON array" : "JSON object";
    throw new InputError(
      `the input is no valid ${what} past its ${count} event(s) read: ${(cause as Error).message}`,
      { cause },
    );
  }
  if (events.length > 0) yield events;
  if (form === "document" && count + events.length === 0)
    throw new InputError(`the JSON object has no "events" array with events in it: ${EXPECTED}`);
}
