import { appendFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { jsonText } from "../json-text.ts";
import { countIndexed, type DocumentSink, emptyOutcome, type IndexItem, type IndexOutcome } from "./sink.ts";

/**
 * Local runs without a cluster: documents appended to `<dir>/<dataStream>.ndjson`, one per line,
 * each `_id` once (ids already in the file count as duplicates, as a cluster would answer 409),
 * and the same documents in `_bulk` form to `<dataStream>.bulk.ndjson`, ready to POST to `_bulk`.
 */
export class FileDocumentSink implements DocumentSink {
  private loading: Promise<Set<string>> | undefined;
  // One append at a time, so concurrent batches never both take the same new id.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly dataStream: string,
  ) {}

  get path(): string {
    return join(this.dir, `${this.dataStream}.ndjson`);
  }

  /** The `_bulk` form: `create` actions with the `_id`, so posting it twice stores nothing twice. */
  get bulkPath(): string {
    return join(this.dir, `${this.dataStream}.bulk.ndjson`);
  }

  index(items: readonly IndexItem[]): Promise<IndexOutcome> {
    const run = this.queue.then(() => this.append(items));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async append(items: readonly IndexItem[]): Promise<IndexOutcome> {
    this.loading ??= this.load();
    const ids = await this.loading;
    const fresh = new Set<string>();
    const outcome = emptyOutcome();
    let lines = "";
    let bulk = "";
    for (const item of items) {
      if (ids.has(item.id) || fresh.has(item.id)) {
        outcome.duplicates++;
        continue;
      }
      fresh.add(item.id);
      const source = jsonText(item.document);
      lines += `{"_id":${JSON.stringify(item.id)},"_source":${source}}\n`;
      bulk += `${JSON.stringify({ create: { _index: this.dataStream, _id: item.id } })}\n${source}\n`;
      countIndexed(outcome, item);
    }
    if (lines !== "") {
      await mkdir(this.dir, { recursive: true });
      // The bulk file first: a failure between the two leaves the ids new, so both are written again.
      await appendFile(this.bulkPath, bulk);
      await appendFile(this.path, lines);
    }
    // Known only once written: a failed append leaves them new for the next attempt.
    for (const id of fresh) ids.add(id);
    return outcome;
  }

  private async load(): Promise<Set<string>> {
    const ids = new Set<string>();
    try {
      for (const line of (await readFile(this.path, "utf8")).split("\n")) {
        if (line.trim() !== "") ids.add((JSON.parse(line) as { _id: string })._id);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    return ids;
  }
}
