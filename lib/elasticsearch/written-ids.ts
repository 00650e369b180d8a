import { createReadStream } from "node:fs";
import { appendFile, mkdir, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { COLLECTION_TIME_NOTE } from "../ecs/mapper.ts";
import type { JsonObject } from "../ecs/paths.ts";

/**
 * How far the index covers its output: the output's length then, and what tells the same file
 * (its inode, which a new file may reuse, and its bytes at the start and just before `bytes`).
 */
interface Coverage {
  bytes: number;
  ino: number;
  /** Base64 of the first SAMPLE bytes, and of the SAMPLE bytes before `bytes`. */
  head: string;
  tail: string;
}

const SAMPLE = 256;

/** Ids kept in memory at most (about 80 bytes each), beyond the hours one batch needs. */
export const CACHED_IDS = 100_000;
/** Ids gathered while reading an output's tail before they are appended to their hour files. */
const SCAN_FLUSH = 50_000;
/** Documents whose time is the collection time spread over this many files, by `_id`. */
const UNTIMED_FILES = 64;

/**
 * Where an `_id` is kept: the UTC hour of its document's own event time (`2026-05-01T10`), so a
 * window looks up only its hours; `untimed-N` when `@timestamp` is the collection time, which
 * differs from one mapping to the next while the `_id` does not.
 */
export function hourOf(id: string, document: JsonObject): string {
  const at = document["@timestamp"];
  const messages = (document.error as JsonObject | undefined)?.message;
  const collected = Array.isArray(messages) && messages.includes(COLLECTION_TIME_NOTE);
  if (typeof at === "string" && /^\d{4}-\d\d-\d\dT\d\d/.test(at) && !collected) return at.slice(0, 13);
  let hash = 0;
  for (let i = 0; i < id.length; i++) hash = (hash * 31 + id.charCodeAt(i)) >>> 0;
  return `untimed-${hash % UNTIMED_FILES}`;
}

/**
 * The `_id`s already in an NDJSON output (`{"_id":…,"_source":…}` lines), kept beside it in a
 * folder of one file per hour (see hourOf): only the hours a batch touches are read, the
 * recently used ones cached, so memory does not grow with the output. `coverage.json` says how
 * much of the output the files hold; anything past it (left by a run stopped between the two
 * writes, or by an older version without this index) is read from the output's tail on open.
 */
export class WrittenIds {
  private readonly hours = new Map<string, Set<string>>();
  private cached = 0;

  private constructor(
    private readonly folder: string,
    private readonly output: string,
    private coverage: Coverage,
    private readonly cachedIds: number,
  ) {}

  /** The index of `output` in `folder`, brought up to date with the output first. */
  static async open(folder: string, output: string, cachedIds = CACHED_IDS): Promise<WrittenIds> {
    const info = await stat(output).catch(missing);
    const saved = await readCoverage(folder);
    const valid = info !== undefined && saved !== undefined && (await sameOutput(output, info, saved));
    // A missing, replaced or shortened output: what the index holds says nothing about it.
    if (!valid) await rm(folder, { recursive: true, force: true });
    const coverage = valid ? saved : { bytes: 0, ino: 0, head: "", tail: "" };
    const ids = new WrittenIds(folder, output, coverage, cachedIds);
    if (info !== undefined && ids.coverage.bytes < info.size) await ids.readTail(info.size);
    return ids;
  }

  /** Reads the hours of `keys` into memory (and forgets the least recently used others). */
  async load(keys: ReadonlySet<string>): Promise<void> {
    for (const key of keys) {
      const known = this.hours.get(key);
      this.hours.delete(key);
      this.hours.set(key, known ?? (await this.read(key)));
      if (known === undefined) this.cached += this.hours.get(key)?.size ?? 0;
    }
    for (const [key, ids] of this.hours) {
      if (this.cached <= this.cachedIds) break;
      if (keys.has(key)) continue;
      this.hours.delete(key);
      this.cached -= ids.size;
    }
  }

  /** Whether `id` is written, in an hour loaded before. */
  has(key: string, id: string): boolean {
    return this.hours.get(key)?.has(id) ?? false;
  }

  /** Records ids just appended to the output, which grew by `bytes`. */
  async add(ids: ReadonlyMap<string, string>, bytes: number): Promise<void> {
    await this.append(byHour(ids));
    await this.cover(this.coverage.bytes + bytes);
  }

  /** Whether the output ends inside a line (a write cut short): the next append starts a new one. */
  static async endsMidLine(path: string): Promise<boolean> {
    const handle = await open(path, "r").catch(missing);
    if (handle === undefined) return false;
    try {
      const { size } = await handle.stat();
      if (size === 0) return false;
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      return last[0] !== 0x0a;
    } finally {
      await handle.close();
    }
  }

  private async read(key: string): Promise<Set<string>> {
    const text = await readFile(this.file(key), "utf8").catch(missing);
    return new Set(text?.split("\n").filter((id) => id !== ""));
  }

  // Each append starts a line: a line cut short by a stopped run never swallows the next id.
  private async append(hours: Map<string, string[]>): Promise<void> {
    if (hours.size === 0) return;
    await mkdir(this.folder, { recursive: true });
    for (const [key, ids] of hours) {
      await appendFile(this.file(key), `\n${ids.join("\n")}\n`);
      const known = this.hours.get(key);
      if (known === undefined) continue;
      const before = known.size;
      for (const id of ids) known.add(id);
      this.cached += known.size - before;
    }
  }

  // Lines that do not parse (a write cut short) hold no document: nothing to remember.
  private async readTail(size: number): Promise<void> {
    const lines = createInterface({
      input: createReadStream(this.output, { start: this.coverage.bytes, end: size - 1 }),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    let pending = new Map<string, string>();
    for await (const line of lines) {
      const entry = parsedLine(line);
      if (entry !== undefined) pending.set(entry._id, hourOf(entry._id, entry._source));
      if (pending.size < SCAN_FLUSH) continue;
      await this.append(byHour(pending));
      pending = new Map();
    }
    await this.append(byHour(pending));
    await this.cover(size);
  }

  private async cover(bytes: number): Promise<void> {
    // The output may have been made by the append just done.
    const { ino } = await stat(this.output);
    const [head, tail] = await samples(this.output, bytes);
    this.coverage = { bytes, ino, head, tail };
    await mkdir(this.folder, { recursive: true });
    const path = join(this.folder, "coverage.json");
    // Renamed into place: a run stopped mid-write leaves the old coverage, never half of one.
    await writeFile(`${path}.tmp`, JSON.stringify(this.coverage));
    await rename(`${path}.tmp`, path);
  }

  private file(key: string): string {
    return join(this.folder, `${key}.ids`);
  }
}

function byHour(ids: ReadonlyMap<string, string>): Map<string, string[]> {
  const hours = new Map<string, string[]>();
  for (const [id, key] of ids) {
    const list = hours.get(key);
    if (list) list.push(id);
    else hours.set(key, [id]);
  }
  return hours;
}

function parsedLine(line: string): { _id: string; _source: JsonObject } | undefined {
  if (line.trim() === "") return undefined;
  try {
    const entry = JSON.parse(line) as { _id?: unknown; _source?: unknown };
    if (typeof entry._id !== "string" || typeof entry._source !== "object" || entry._source === null)
      return undefined;
    return entry as { _id: string; _source: JsonObject };
  } catch {
    return undefined;
  }
}

async function readCoverage(folder: string): Promise<Coverage | undefined> {
  const text = await readFile(join(folder, "coverage.json"), "utf8").catch(missing);
  if (text === undefined) return undefined;
  try {
    const { bytes, ino, head, tail } = JSON.parse(text) as Partial<Coverage>;
    const numbers = typeof bytes === "number" && typeof ino === "number";
    return numbers && typeof head === "string" && typeof tail === "string"
      ? { bytes, ino, head, tail }
      : undefined;
  } catch {
    return undefined;
  }
}

async function sameOutput(
  output: string,
  info: { ino: number; size: number },
  saved: Coverage,
): Promise<boolean> {
  if (saved.ino !== info.ino || saved.bytes > info.size) return false;
  const [head, tail] = await samples(output, saved.bytes);
  return head === saved.head && tail === saved.tail;
}

/** Base64 of the first SAMPLE bytes of `path` and of the SAMPLE bytes before `end`. */
async function samples(path: string, end: number): Promise<[string, string]> {
  const handle = await open(path, "r");
  try {
    const read = async (from: number, length: number) => {
      const bytes = Buffer.alloc(length);
      const { bytesRead } = await handle.read(bytes, 0, length, from);
      return bytes.subarray(0, bytesRead).toString("base64");
    };
    const length = Math.min(SAMPLE, end);
    return [await read(0, length), await read(end - length, length)];
  } finally {
    await handle.close();
  }
}

/** `undefined` for a file that is not there; any other failure is thrown. */
function missing(error: unknown): undefined {
  if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
  throw error;
}
