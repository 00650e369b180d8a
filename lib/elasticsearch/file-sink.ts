import { appendFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { DocumentSink, IndexItem, IndexOutcome } from "./sink.ts";

/**
 * Local runs without a cluster: documents appended to `<dir>/<dataStream>.ndjson`, one per line,
 * each `_id` once (ids already in the file count as duplicates, as a cluster would answer 409).
 */
export class FileDocumentSink implements DocumentSink {
  private ids: Set<string> | undefined;

  constructor(
    private readonly dir: string,
    private readonly dataStream: string,
  ) {}

  get path(): string {
    return join(this.dir, `${this.dataStream}.ndjson`);
  }

  async index(items: readonly IndexItem[]): Promise<IndexOutcome> {
    const ids = await this.known();
    const outcome: IndexOutcome = { indexed: 0, duplicates: 0, rejected: [] };
    let lines = "";
    for (const item of items) {
      const id = item.id as string;
      if (ids.has(id)) {
        outcome.duplicates++;
        continue;
      }
      ids.add(id);
      lines += `${JSON.stringify({ _id: id, _source: item.document })}\n`;
      outcome.indexed++;
    }
    if (lines !== "") {
      await mkdir(this.dir, { recursive: true });
      await appendFile(this.path, lines);
    }
    return outcome;
  }

  private async known(): Promise<Set<string>> {
    if (this.ids) return this.ids;
    const ids = new Set<string>();
    try {
      for (const line of (await readFile(this.path, "utf8")).split("\n")) {
        if (line.trim() !== "") ids.add((JSON.parse(line) as { _id: string })._id);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    this.ids = ids;
    return ids;
  }
}
