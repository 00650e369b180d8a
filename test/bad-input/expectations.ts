import { expect } from "vitest";
import { getPath, type JsonObject } from "../../lib/ecs/paths.ts";
import type { EventExpectation } from "./corpus.ts";

/** What the mapper made of an event: the kind of document it is, whatever the cluster did with it. */
export function mappedKind(e: EventExpectation): "document" | "pipeline-error" {
  if (e.outcome === "document" || e.outcome === "pipeline-error") return e.outcome;
  return e.mapped ?? "document";
}

/**
 * Checks one document against its expectation: the kind, `error.message` (none at all unless a
 * pattern is given), and the fields named.
 */
export function checkDocument(where: string, doc: JsonObject, e: EventExpectation): void {
  const kind = mappedKind(e);
  const errors = getPath(doc, "error.message") as string[] | undefined;
  if (kind === "pipeline-error") {
    expect(getPath(doc, "event.kind"), `${where}: event.kind`).toBe("pipeline_error");
    expect(doc.tags, `${where}: tags`).toContain("preserve_original_event");
    expect(typeof getPath(doc, "event.original"), `${where}: event.original`).toBe("string");
  } else {
    expect(getPath(doc, "event.kind"), `${where}: event.kind`).toBeUndefined();
  }
  if (e.error === undefined) expect(errors, `${where}: error.message`).toBeUndefined();
  else expect((errors ?? []).join("\n"), `${where}: error.message`).toMatch(new RegExp(e.error));
  for (const [path, value] of Object.entries(e.fields ?? {})) {
    expect(getPath(doc, path), `${where}: ${path}`).toStrictEqual(value);
  }
  for (const [path, pattern] of Object.entries(e.matches ?? {})) {
    expect(getPath(doc, path), `${where}: ${path}`).toMatch(new RegExp(pattern));
  }
  for (const [path, length] of Object.entries(e.lengths ?? {})) {
    expect(getPath(doc, path), `${where}: ${path}`).toHaveLength(length);
  }
  for (const path of e.absent ?? []) expect(getPath(doc, path), `${where}: ${path}`).toBeUndefined();
}

/** Each event's outcome from where it ended, given the `_id` the mapper gave each event. */
export interface Landing {
  stored(id: string): JsonObject | undefined;
  deadLetter(id: string): { reason: string; document: JsonObject; raw: unknown } | undefined;
}

/**
 * Checks every event of a case: documents stored under their `_id`, dead letters kept with their
 * reason and raw event, duplicates sharing an earlier event's `_id`. Without a cluster, what it
 * would refuse is stored.
 */
export function checkLandings(
  where: string,
  ids: readonly string[],
  raw: readonly unknown[],
  expected: readonly EventExpectation[],
  landing: Landing,
  cluster: boolean,
): void {
  expect(ids, `${where}: events`).toHaveLength(expected.length);
  expected.forEach((e, i) => {
    const at = `${where} event ${i}`;
    const id = ids[i] as string;
    if (e.outcome === "duplicate") {
      expect(ids.slice(0, i), `${at}: an earlier event has its _id`).toContain(id);
      return;
    }
    expect(ids.indexOf(id), `${at}: the first with its _id`).toBe(i);
    if (e.outcome === "dead-letter" && cluster) {
      const letter = landing.deadLetter(id);
      expect(letter, `${at}: dead letter`).toBeDefined();
      expect(landing.stored(id), `${at}: not stored`).toBeUndefined();
      expect(letter?.reason, `${at}: reason`).toMatch(new RegExp(e.reason ?? "."));
      expect(letter?.raw, `${at}: raw event kept`).toStrictEqual(raw[i]);
      checkDocument(at, letter?.document as JsonObject, e);
      return;
    }
    const doc = landing.stored(id);
    expect(doc, `${at}: stored`).toBeDefined();
    checkDocument(at, doc as JsonObject, e);
  });
}
