import { type Counts, checkCounts } from "../counts.ts";
import type { EcsMapper } from "../ecs/mapper.ts";
import type { DeadLetter, DeadLetterSink } from "../elasticsearch/dead-letters.ts";
import type { DocumentSink, IndexItem, IndexOptions } from "../elasticsearch/sink.ts";

/** Where a batch came from (logged, and kept with dead letters). */
export interface BatchContext {
  orgId?: string;
  window?: { start: string; end: string };
  /**
   * ISO time by which the batch must be answered: the collector abandons it then. The sink starts
   * no request, and no retry wait, that would end later (the batch then fails, unacknowledged).
   */
  deadline?: string;
  /**
   * ISO time: events before it may be stored already (an overlap, a resumed window, a replay), so
   * their `_id`s are looked up across the data stream first (backing indices each check only their own).
   */
  rereadBefore?: string;
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
): Promise<Counts> {
  const collectedAt = deps.now?.() ?? new Date();
  const items: IndexItem[] = events.map((raw) => {
    const { id, document, failed } = deps.mapper.mapValue(raw, collectedAt);
    return { id, document, raw, pipelineError: failed };
  });
  const outcome = await deps.sink.index(items, signal, indexOptions(context));
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
  const counts = {
    received: events.length,
    indexed: outcome.indexed,
    duplicates: outcome.duplicates,
    deadLettered: letters.length,
    pipelineErrors: outcome.pipelineErrors,
    withoutGeo: outcome.withoutGeo,
    withoutPipeline: outcome.withoutPipeline,
  };
  return checkCounts(counts, events.length);
}

// Unparsable times are left out: a missing deadline or lookup costs time or duplicates, never events.
function indexOptions(context: BatchContext): IndexOptions {
  const deadline = Date.parse(context.deadline ?? "");
  const rereadBefore = Date.parse(context.rereadBefore ?? "");
  return {
    ...(!Number.isNaN(deadline) && { deadline }),
    ...(!Number.isNaN(rereadBefore) && { rereadBefore }),
  };
}
