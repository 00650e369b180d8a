import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it, onTestFinished } from "vitest";
import { EcsMapper } from "../../lib/ecs/mapper.ts";
import { getPath } from "../../lib/ecs/paths.ts";
import { type DeadLetter, FileDeadLetterSink } from "../../lib/elasticsearch/dead-letters.ts";
import { indexEvents } from "../../lib/pipeline/index-events.ts";
import { COLLECTED_AT } from "../helpers/fixtures.ts";
import { RulesSink } from "./rules-sink.ts";

// Built with a loop: fast-check's own recursive arbitraries stop far short of these depths.
function nested(depth: number, container: "object" | "array", leaf: unknown): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = container === "object" ? { a: value } : [value];
  return value;
}

// Depths around Elasticsearch's mapping limit (20), around the mapper's (998), and far beyond.
const depth = fc.oneof(
  fc.integer({ min: 1, max: 40 }),
  fc.integer({ min: 990, max: 1010 }),
  // Unbiased: fast-check otherwise favours small values, and JSON.stringify only breaks past ~4 000.
  fc.noBias(fc.integer({ min: 1011, max: 12_000 })),
);

const deep = fc
  .tuple(depth, fc.constantFrom<"object" | "array">("object", "array"), fc.jsonValue({ maxDepth: 1 }))
  .map(([levels, container, leaf]) => nested(levels, container, leaf));

const weird = fc.oneof(
  { arbitrary: fc.jsonValue(), weight: 4 },
  deep,
  fc.string({ unit: "binary" }),
  fc.constantFrom("\uFEFF", "\uD800", "\u0000", "", "not-an-ip", "true", "2026-02-30T00:00:00Z"),
  fc.array(fc.ipV4(), { maxLength: 50 }),
);

// JumpCloud's field names, every one free to hold anything (and a shared id, for duplicates).
const eventLike = fc.record(
  {
    id: fc.oneof(fc.constantFrom("same-id", "other-id"), weird),
    timestamp: fc.oneof(
      fc.constant("2026-01-01T00:00:00Z"),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      weird,
    ),
    "@version": weird,
    version: weird,
    client_ip: fc.oneof(fc.ipV4(), fc.ipV6(), weird),
    src_ip: weird,
    event_type: fc.oneof(fc.constantFrom("sso_auth", "user_unlocked"), weird),
    success: weird,
    sso_token_success: weird,
    message: weird,
    service: weird,
    username: weird,
    process_name: weird,
    useragent: weird,
    system: fc.oneof(fc.dictionary(fc.constantFrom("id", "hostname"), weird), weird),
    initiated_by: fc.oneof(fc.dictionary(fc.constantFrom("id", "email", "username"), weird), weird),
    changes: weird,
  },
  { requiredKeys: [] },
);

const deepEvent = fc.record({ id: fc.string(), timestamp: fc.constant("2026-01-01T00:00:00Z"), x: deep });

const anyEvent = fc.oneof(eventLike, deepEvent, fc.dictionary(fc.string(), weird), weird);

const mappers = [
  new EcsMapper(),
  new EcsMapper({ preserveOriginalEvent: true, preserveDuplicateCustomFields: true, namespace: "both" }),
];

/** The dead letters written, kept in memory as well as on disk (where they must serialise). */
class KeptDeadLetters extends FileDeadLetterSink {
  readonly letters: DeadLetter[] = [];

  override async write(letters: readonly DeadLetter[]): Promise<void> {
    await super.write(letters);
    this.letters.push(...letters);
  }
}

describe("property: whatever the events, every one is indexed, a duplicate or a dead letter", () => {
  it("holds through indexEvents, the mapper and a sink that refuses what Elasticsearch refuses", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bad-input-property-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    await fc.assert(
      fc.asyncProperty(
        fc.array(anyEvent, { maxLength: 12 }),
        fc.constantFrom(...mappers),
        async (events, mapper) => {
          const sink = new RulesSink(mapper.dataStream);
          const deadLetters = new KeptDeadLetters(dir);
          const counts = await indexEvents(events, { mapper, sink, deadLetters, now: () => COLLECTED_AT });
          expect(counts.received).toBe(events.length);
          expect(counts.indexed + counts.duplicates + counts.deadLettered).toBe(events.length);
          expect(sink.offered).toHaveLength(events.length);
          expect(deadLetters.letters).toHaveLength(counts.deadLettered);
          for (const letter of deadLetters.letters) expect(letter.error.reason).not.toBe("");
          for (const { document, pipelineError } of sink.offered) {
            expect(getPath(document, "event.kind")).toBe(pipelineError ? "pipeline_error" : undefined);
            if (pipelineError) expect(typeof getPath(document, "event.original")).toBe("string");
          }
        },
      ),
      { seed: 20260101, numRuns: 150 },
    );
  });
});
