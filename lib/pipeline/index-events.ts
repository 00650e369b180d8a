import type { EcsMapper } from "../ecs/mapper.ts";
import type { DeadLetter, DeadLetterSink } from "../elasticsearch/dead-letters.ts";
import { documentId } from "../elasticsearch/ndjson.ts";
import type { DocumentSink, IndexItem } from "../elasticsearch/sink.ts";
import { JumpcloudElasticError } from "../errors.ts";

/** Where a batch came from (logged, and kept with dead letters). */
export interface BatchContext {
  orgId?: string;
  window?: { start: string; end: string };
}

/** The mapper's answer: the counts add up to `received`. */
export interface BatchResult {
  received: number;
  indexed: number;
  duplicates: number;
  deadLettered: number;
  /** Of those stored, how many are pipeline-error documents. */
  pipelineErrors: number;
}

/** What indexing needs. */
export interface IndexEventsDeps {
  mapper: EcsMapper;
  sink: DocumentSink;
  deadLetters: DeadLetterSink;
  now?: () => Date;
}

/**
 * Maps raw events and stores them: every event ends indexed, a duplicate, or dead-lettered with
 * its reason. Throws (and so acknowledges nothing) when that cannot be vouched for.
 */
export async function indexEvents(
  events: readonly unknown[],
  deps: IndexEventsDeps,
  context: BatchContext = {},
  signal?: AbortSignal,
): Promise<BatchResult> {
  const collectedAt = deps.now?.() ?? new Date();
  let pipelineErrors = 0;
  const items: IndexItem[] = events.map((raw) => {
    const mapped = deps.mapper.mapValue(raw, collectedAt);
    if (mapped.failed) pipelineErrors++;
    return { id: documentId(mapped, raw), document: mapped.document, raw };
  });
  const outcome = await deps.sink.index(items, signal);
  const at = (deps.now?.() ?? new Date()).toISOString();
  const letters: DeadLetter[] = outcome.rejected.map((r) => ({
    raw: r.item.raw,
    document: r.item.document,
    id: r.item.id,
    dataStream: deps.mapper.dataStream,
    error: { status: r.status, type: r.type, reason: r.reason },
    orgId: context.orgId,
    at,
  }));
  await deps.deadLetters.write(letters);
  const result = {
    received: events.length,
    indexed: outcome.indexed,
    duplicates: outcome.duplicates,
    deadLettered: letters.length,
    pipelineErrors,
  };
  if (result.indexed + result.duplicates + result.deadLettered !== result.received) {
    throw new JumpcloudElasticError(`accounting mismatch: ${JSON.stringify(result)}`);
  }
  return result;
}
