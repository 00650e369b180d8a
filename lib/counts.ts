import { MapperInvocationError } from "./errors.ts";

/**
 * What became of a batch of events: every event received is exactly one of indexed, duplicate or
 * dead-lettered; `pipelineErrors` counts the indexed ones that are pipeline-error documents.
 */
export interface Counts {
  received: number;
  indexed: number;
  duplicates: number;
  deadLettered: number;
  /** Pipeline-error documents among `indexed` (not among duplicates or dead letters). */
  pipelineErrors: number;
  /**
   * Documents among `indexed` with an address but no `geo`: stored while the cluster reported no
   * GeoIP database yet, or without this project's ingest pipeline (GEOIP=cluster only).
   */
  withoutGeo: number;
  /** Documents among `indexed` stored without this project's ingest pipeline (missing, or not allowed). */
  withoutPipeline: number;
}

const FIELDS = ["received", "indexed", "duplicates", "deadLettered", "pipelineErrors"] as const;
// Counted since the ingest pipeline: a mapper deployed before it answers without them (0).
const SINCE_PIPELINE = ["withoutGeo", "withoutPipeline"] as const;

/** Nothing yet: the start of a sum. */
export const NO_COUNTS: Counts = Object.freeze({
  received: 0,
  indexed: 0,
  duplicates: 0,
  deadLettered: 0,
  pipelineErrors: 0,
  withoutGeo: 0,
  withoutPipeline: 0,
});

/** Field by field sum. */
export function addCounts(a: Counts, b: Counts): Counts {
  return {
    received: a.received + b.received,
    indexed: a.indexed + b.indexed,
    duplicates: a.duplicates + b.duplicates,
    deadLettered: a.deadLettered + b.deadLettered,
    pipelineErrors: a.pipelineErrors + b.pipelineErrors,
    withoutGeo: a.withoutGeo + b.withoutGeo,
    withoutPipeline: a.withoutPipeline + b.withoutPipeline,
  };
}

/**
 * Checks an acknowledgement of `sent` events: counts, every event accounted for exactly once,
 * pipeline errors among the indexed. Throws MapperInvocationError otherwise.
 */
export function checkCounts(value: unknown, sent: number): Counts {
  const r = value as Partial<Record<keyof Counts, unknown>> | null;
  if (
    typeof r !== "object" ||
    r === null ||
    !FIELDS.every((f) => Number.isInteger(r[f]) && Number(r[f]) >= 0)
  ) {
    throw new MapperInvocationError(
      `the mapper answered without counts: ${JSON.stringify(value)?.slice(0, 200)}`,
    );
  }
  const later = SINCE_PIPELINE.map((f) => [f, r[f] ?? 0] as const);
  const counts = Object.fromEntries([...FIELDS.map((f) => [f, r[f]]), ...later]) as unknown as Counts;
  if (
    counts.received !== sent ||
    counts.indexed + counts.duplicates + counts.deadLettered !== sent ||
    counts.pipelineErrors > counts.indexed ||
    later.some(([, v]) => !Number.isInteger(v) || (v as number) < 0 || (v as number) > counts.indexed)
  ) {
    throw new MapperInvocationError(`the mapper acknowledged ${JSON.stringify(counts)} for ${sent} events`);
  }
  return counts;
}
