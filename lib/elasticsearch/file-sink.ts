import { appendFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { jsonText } from "../json-text.ts";
import { createAction } from "./ndjson.ts";
import { countIndexed, type DocumentSink, emptyOutcome, type IndexItem, type IndexOutcome } from "./sink.ts";
import { hourOf, WrittenIds } from "./written-ids.ts";

/** Tuning of the file sink. */
export interface FileSinkOptions {
  /** Ids kept in memory at most, beyond the hours one batch needs (default CACHED_IDS). */
  cachedIds?: number;
}

/**
 * Local runs without a cluster: documents appended to `<dir>/<dataStream>.ndjson`, one per line,
 * each `_id` once (ids already in the file count as duplicates, as a cluster would answer 409),
 * and the same documents in `_bulk` form to `<dataStream>.bulk.ndjson`, ready to POST to `_bulk`.
 * The ids written are indexed by event hour in `<dataStream>.ids/` (see WrittenIds): an append
 * reads the ids of its own hours only, never the whole output.
 */
export class FileDocumentSink implements DocumentSink {
  private opening: Promise<Opened> | undefined;
  // One append at a time, so concurrent batches never both take the same new id.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly dataStream: string,
    private readonly options: FileSinkOptions = {},
  ) {}

  get path(): string {
    return join(this.dir, `${this.dataStream}.ndjson`);
  }

  /** The `_bulk` form: `create` actions with the `_id`, so posting it twice stores nothing twice. */
  get bulkPath(): string {
    return join(this.dir, `${this.dataStream}.bulk.ndjson`);
  }

  /** The index of the `_id`s in the output, by event hour. */
  get idsPath(): string {
    return join(this.dir, `${this.dataStream}.ids`);
  }

  index(items: readonly IndexItem[]): Promise<IndexOutcome> {
    const run = this.queue.then(() => this.append(items));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async append(items: readonly IndexItem[]): Promise<IndexOutcome> {
    // A failed open is tried again by the next batch.
    this.opening ??= this.open().catch((error: unknown) => {
      this.opening = undefined;
      throw error;
    });
    const opened = await this.opening;
    const keyed = items.map((item) => ({ item, key: hourOf(item.id, item.document) }));
    await opened.ids.load(new Set(keyed.map((k) => k.key)));
    const fresh = new Map<string, string>();
    const outcome = emptyOutcome();
    let lines = "";
    let bulk = "";
    for (const { item, key } of keyed) {
      if (opened.ids.has(key, item.id) || fresh.has(item.id)) {
        outcome.duplicates++;
        continue;
      }
      fresh.set(item.id, key);
      const source = jsonText(item.document);
      lines += `{"_id":${JSON.stringify(item.id)},"_source":${source}}\n`;
      bulk += `${createAction(this.dataStream, item.id)}\n${source}\n`;
      countIndexed(outcome, item);
    }
    if (lines !== "") await this.write(opened, lines, bulk, fresh);
    return outcome;
  }

  // The bulk file first, the ids last: a failure between leaves the ids new, so all is written again.
  private async write(
    opened: Opened,
    lines: string,
    bulk: string,
    fresh: Map<string, string>,
  ): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const bulkText = opened.bulkMidLine ? `\n${bulk}` : bulk;
    const text = opened.midLine ? `\n${lines}` : lines;
    await appendFile(this.bulkPath, bulkText);
    opened.bulkMidLine = false;
    await appendFile(this.path, text);
    opened.midLine = false;
    await opened.ids.add(fresh, Buffer.byteLength(text));
  }

  private async open(): Promise<Opened> {
    return {
      ids: await WrittenIds.open(this.idsPath, this.path, this.options.cachedIds),
      // A run stopped mid-write may have left half a line: the next document starts a line of its own.
      midLine: await WrittenIds.endsMidLine(this.path),
      bulkMidLine: await WrittenIds.endsMidLine(this.bulkPath),
    };
  }
}

interface Opened {
  ids: WrittenIds;
  midLine: boolean;
  bulkMidLine: boolean;
}
