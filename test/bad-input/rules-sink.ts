import { toBulkLines } from "../../lib/elasticsearch/ndjson.ts";
import {
  countIndexed,
  type DocumentSink,
  emptyOutcome,
  type IndexItem,
  type IndexOutcome,
} from "../../lib/elasticsearch/sink.ts";
import { refusal } from "./elasticsearch-rules.ts";

/**
 * A cluster in memory: each item serialised as the `_bulk` sink sends it, then stored once per
 * `_id` (409 after), or refused for what a real cluster refuses (see elasticsearch-rules.ts).
 */
export class RulesSink implements DocumentSink {
  /** Every item offered, in order, duplicates included. */
  readonly offered: IndexItem[] = [];
  private readonly stored = new Set<string>();

  constructor(private readonly dataStream: string) {}

  async index(items: readonly IndexItem[]): Promise<IndexOutcome> {
    const outcome = emptyOutcome();
    for (const item of items) {
      this.offered.push(item);
      toBulkLines(this.dataStream, item);
      if (this.stored.has(item.id)) {
        outcome.duplicates++;
        continue;
      }
      const reason = refusal(item.document);
      if (reason !== undefined) {
        outcome.rejected.push({ item, status: 400, type: "document_parsing_exception", reason });
        continue;
      }
      this.stored.add(item.id);
      countIndexed(outcome, item);
    }
    return outcome;
  }
}
