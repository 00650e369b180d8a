import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type RawEvent, readEvents } from "../../lib/input/read-events.ts";
import { fixturePath } from "../helpers/fixtures.ts";
import { generateInput, type InputDescriptor } from "./generate.ts";

/** Where the corpus lives; its README describes the format. */
export const CORPUS_DIR = fixturePath("bad");

/** What one event of a case becomes (see test/fixtures/bad/README.md). */
export interface EventExpectation {
  outcome: "document" | "pipeline-error" | "dead-letter" | "duplicate";
  /** Pattern over `error.message`, its entries joined by newlines. */
  error?: string;
  /** Dead letters: pattern over the reason the cluster gave. */
  reason?: string;
  /** Dead letters and duplicates: what the mapper made of the event (default `document`). */
  mapped?: "document" | "pipeline-error";
  /** Dotted path → exact value in the document. */
  fields?: Record<string, unknown>;
  /** Dotted path → pattern over the string value there. */
  matches?: Record<string, string>;
  /** Dotted path → length of the list there. */
  lengths?: Record<string, number>;
  /** Dotted paths the document must not have. */
  absent?: string[];
}

/** Mapper options a case needs, as the `map` flags and the settings name them. */
export interface CaseOptions {
  preserveOriginalEvent?: boolean;
  preserveDuplicateCustomFields?: boolean;
}

/** The expected outcome of a case: per event, or the whole input refused by `map`. */
export type CaseExpectation =
  | { why: string; options?: CaseOptions; events: EventExpectation[] }
  | { why: string; outcome: "rejected-input"; message: string };

/** One case of the corpus. */
export interface BadCase {
  name: string;
  /** The input file (the descriptor, for generated input). */
  file: string;
  generated: boolean;
  expected: CaseExpectation;
  /** The input as `map` reads it (UTF-8 decoded, as `readFile(file, "utf8")` does). */
  text(): string;
}

const EXPECTED = ".expected.json";

/** Every case: each `<name>.expected.json` with its one input file beside it. */
export function loadCorpus(): BadCase[] {
  const files = readdirSync(CORPUS_DIR);
  return files
    .filter((f) => f.endsWith(EXPECTED))
    .sort()
    .map((f) => {
      const name = f.slice(0, -EXPECTED.length);
      const inputs = files.filter((g) => g !== f && g.startsWith(`${name}.`) && !g.endsWith(EXPECTED));
      if (inputs.length !== 1)
        throw new Error(`case ${name}: expected one input file, found ${inputs.length}`);
      const file = join(CORPUS_DIR, inputs[0] as string);
      const generated = file.endsWith(".gen.json");
      const expected = JSON.parse(readFileSync(join(CORPUS_DIR, f), "utf8")) as CaseExpectation;
      return { name, file, generated, expected, text: memo(() => caseText(file, generated)) };
    });
}

function caseText(file: string, generated: boolean): string {
  if (!generated) return readFileSync(file).toString("utf8");
  return generateInput(JSON.parse(readFileSync(file, "utf8")) as InputDescriptor);
}

function memo<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= make();
    return value;
  };
}

/** The events of a case that maps them: its expectations, and the events as `map` reads them. */
export function eventsOf(c: BadCase): { raw: RawEvent[]; expected: EventExpectation[] } {
  if (!("events" in c.expected)) throw new Error(`case ${c.name} refuses its input`);
  return { raw: readEvents(c.text()), expected: c.expected.events };
}

/**
 * An event as a parsed value, the way the collector hands events over: text that is not JSON
 * (which no API answer can hold) goes as the string itself.
 */
export function asValue(event: RawEvent): unknown {
  if ("value" in event) return event.value;
  try {
    return JSON.parse(event.text);
  } catch {
    return event.text;
  }
}

/** What `indexEvents` should count for a case's expectations (dead letters where a cluster refuses). */
export function expectedCounts(expected: readonly EventExpectation[], cluster: boolean) {
  const is = (e: EventExpectation, outcome: EventExpectation["outcome"]) => e.outcome === outcome;
  const refused = cluster ? expected.filter((e) => is(e, "dead-letter")).length : 0;
  const stored = expected.filter((e) => !is(e, "duplicate")).length - refused;
  const errors = expected.filter(
    (e) => is(e, "pipeline-error") || (!cluster && is(e, "dead-letter") && e.mapped === "pipeline-error"),
  ).length;
  return {
    received: expected.length,
    indexed: stored,
    duplicates: expected.length - stored - refused,
    deadLettered: refused,
    pipelineErrors: errors,
    withoutGeo: 0,
    withoutPipeline: 0,
  };
}
