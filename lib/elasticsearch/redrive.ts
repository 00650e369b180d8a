import { randomUUID } from "node:crypto";
import { readdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  type S3Client,
} from "@aws-sdk/client-s3";
import pLimit from "p-limit";
import * as z from "zod";
import { awsSetupProblem, awsUnreachable } from "../aws/sdk-failures.ts";
import { AwsUnreachableError, ConfigurationError, JumpcloudElasticError } from "../errors.ts";
import { DEAD_LETTER_NAMES, type DeadLetter } from "./dead-letters.ts";
import type { DocumentSink, IndexItem, Rejection } from "./sink.ts";

/** Which letters to re-send, by when they were refused: `from` included, `to` excluded. */
export interface TimeRange {
  from?: Date | undefined;
  to?: Date | undefined;
}

/** A dead letter, and where it is kept (`file:line`, or the S3 URL of its object). */
export interface FoundLetter {
  letter: DeadLetter;
  where: string;
}

/** Something in the dead-letter store that is no readable letter: left in place, and told. */
export interface Unreadable {
  where: string;
  problem: string;
}

/** What removing letters came to; a warning when some could not be removed safely. */
export interface Removal {
  removed: number;
  warning?: string;
}

/** A part of the store read at once (a file, a page of S3 keys), and how to remove what landed. */
export interface DeadLetterBatch {
  /** Letters within the time range. */
  letters: FoundLetter[];
  unreadable: Unreadable[];
  /** Removes these letters (all from this batch), leaving everything else as it is. */
  remove(landed: readonly FoundLetter[]): Promise<Removal>;
}

/** Port: where dead letters are kept, read part by part. */
export interface DeadLetterStore {
  /** Names the store for people: the folder, or `s3://bucket/prefix`. */
  readonly location: string;
  batches(range: TimeRange): AsyncIterable<DeadLetterBatch>;
}

const LETTER = z.looseObject({
  document: z.record(z.string(), z.unknown()),
  id: z.string().min(1),
  dataStream: z.string().min(1),
  at: z.string().refine((text) => !Number.isNaN(Date.parse(text)), "not a time"),
});

/** A stored letter's text as a letter, or what is wrong with it. */
export function readLetter(text: string): { letter: DeadLetter } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { problem: `not JSON (${(error as Error).message})` };
  }
  const parsed = LETTER.safeParse(value);
  if (parsed.success) return { letter: parsed.data as unknown as DeadLetter };
  const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "the value"}: ${i.message}`);
  return { problem: `not a dead letter (${issues.join("; ")})` };
}

const dayOf = (date: Date) => date.toISOString().slice(0, 10);

/** Whether a day's letters (`YYYY-MM-DD`, UTC) may hold some within the range. */
export function dayInRange(range: TimeRange, day: string): boolean {
  return (
    (range.from === undefined || day >= dayOf(range.from)) &&
    (range.to === undefined || day <= dayOf(new Date(range.to.getTime() - 1)))
  );
}

function atInRange(range: TimeRange, at: string): boolean {
  const time = Date.parse(at);
  return (
    (range.from === undefined || time >= range.from.getTime()) &&
    (range.to === undefined || time < range.to.getTime())
  );
}

const errorCode = (error: unknown) =>
  (error as NodeJS.ErrnoException).code ?? (error as Error).message ?? String(error);

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new JumpcloudElasticError(`cannot read the dead letters in ${path}: ${errorCode(error)}`, {
      cause: error,
    });
  }
}

/**
 * Rewrites a dead-letter file without the `drop` lines: written aside then renamed, so no reader
 * ever sees half a file; lines appended meanwhile (a run refusing more) are kept; emptied, it goes.
 */
async function rewrite(path: string, original: string, drop: ReadonlySet<number>): Promise<Removal> {
  if (drop.size === 0) return { removed: 0 };
  const current = (await readText(path)) ?? "";
  if (!current.startsWith(original)) {
    return { removed: 0, warning: `${path} changed during the redrive: left as it is (run redrive again)` };
  }
  const kept = original.split("\n").filter((_, i) => !drop.has(i));
  const text = kept.join("\n") + current.slice(original.length);
  try {
    if (text.trim() === "") await unlink(path);
    else {
      const aside = `${path}.${process.pid}-${randomUUID().slice(0, 8)}.tmp`;
      await writeFile(aside, text);
      await rename(aside, path);
    }
  } catch (error) {
    throw new JumpcloudElasticError(`cannot rewrite the dead letters in ${path}: ${errorCode(error)}`, {
      cause: error,
    });
  }
  return { removed: drop.size };
}

/** The local folder FileDeadLetterSink writes: one NDJSON file per day, a letter per line. */
export class FileDeadLetterStore implements DeadLetterStore {
  constructor(private readonly dir: string) {}

  get location(): string {
    return this.dir;
  }

  async *batches(range: TimeRange): AsyncIterable<DeadLetterBatch> {
    for (const name of await this.files(range)) {
      const batch = await this.read(join(this.dir, name), range);
      if (batch) yield batch;
    }
  }

  private async files(range: TimeRange): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw new JumpcloudElasticError(
        `cannot list the dead-letter folder ${this.dir} (DEAD_LETTER_DIR): ${errorCode(error)}`,
        { cause: error },
      );
    }
    return names
      .filter((name) => {
        const day = DEAD_LETTER_NAMES.fileDay(name);
        return day !== undefined && dayInRange(range, day);
      })
      .sort();
  }

  private async read(path: string, range: TimeRange): Promise<DeadLetterBatch | undefined> {
    const original = await readText(path);
    if (original === undefined) return undefined;
    const lineOf = new Map<FoundLetter, number>();
    const batch: DeadLetterBatch = {
      letters: [],
      unreadable: [],
      remove: (landed) =>
        rewrite(path, original, new Set(landed.map((found) => lineOf.get(found) as number))),
    };
    for (const [i, text] of original.split("\n").entries()) {
      if (text.trim() === "") continue;
      const where = `${path}:${i + 1}`;
      const read = readLetter(text);
      if ("problem" in read) batch.unreadable.push({ where, problem: read.problem });
      else if (atInRange(range, read.letter.at)) {
        const found = { letter: read.letter, where };
        batch.letters.push(found);
        lineOf.set(found, i);
      }
    }
    return batch;
  }
}

/** The objects S3DeadLetterSink writes: `<prefix>dt=YYYY-MM-DD/org=<org>/<name>.json`, read a page at a time. */
export class S3DeadLetterStore implements DeadLetterStore {
  // Dead letters are rare; a few calls at a time keeps S3 requests bounded.
  private readonly limit = pLimit(8);

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly prefix = "dead-letters/",
    private readonly pageSize = 1000,
  ) {}

  get location(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  async *batches(range: TimeRange): AsyncIterable<DeadLetterBatch> {
    let token: string | undefined;
    do {
      const page = await this.list(range, token);
      const keys: string[] = [];
      let past = false;
      for (const { Key: key } of page.Contents ?? []) {
        const day = key === undefined ? undefined : DEAD_LETTER_NAMES.keyDay(key.slice(this.prefix.length));
        if (day === undefined) continue;
        // Keys come in order, and the day leads them: once past the range, nothing later is in it.
        if (!dayInRange({ to: range.to }, day)) past = true;
        else if (dayInRange(range, day)) keys.push(key as string);
      }
      if (keys.length > 0) yield await this.read(keys, range);
      token = past || !page.IsTruncated ? undefined : page.NextContinuationToken;
    } while (token !== undefined);
  }

  private async list(range: TimeRange, token: string | undefined): Promise<ListObjectsV2CommandOutput> {
    try {
      return await this.s3.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix,
          MaxKeys: this.pageSize,
          ContinuationToken: token,
          // Keys before the first day of the range are not even listed.
          StartAfter: range.from && `${this.prefix}${DEAD_LETTER_NAMES.keyPrefix(dayOf(range.from))}`,
        }),
      );
    } catch (error) {
      // No region, no credentials, no right: the user's to fix before anything can be read.
      const setup =
        awsSetupProblem(error, `reading ${this.location}`) ??
        ((error as Error).name === "AccessDenied"
          ? `not allowed to list ${this.location}: the credentials need s3:ListBucket on ${this.bucket} (and s3:GetObject, s3:DeleteObject on ${this.prefix}*)`
          : (error as Error).name === "NoSuchBucket"
            ? `DEAD_LETTER_BUCKET ${this.bucket} does not exist: set it to the stack's DeadLetterBucket output`
            : undefined);
      if (setup) throw new ConfigurationError([setup], { cause: error });
      const unreachable = awsUnreachable(error, `reading ${this.location}`);
      if (unreachable) throw new AwsUnreachableError(unreachable, { cause: error });
      throw new JumpcloudElasticError(
        `cannot list ${this.location} (DEAD_LETTER_BUCKET, DEAD_LETTER_PREFIX): ${errorCode(error)}`,
        { cause: error },
      );
    }
  }

  private async read(keys: readonly string[], range: TimeRange): Promise<DeadLetterBatch> {
    const texts = await Promise.all(keys.map((key) => this.limit(() => this.get(key))));
    const keyOf = new Map<FoundLetter, string>();
    const batch: DeadLetterBatch = {
      letters: [],
      unreadable: [],
      remove: (landed) => this.delete(landed.map((found) => keyOf.get(found) as string)),
    };
    for (const [i, text] of texts.entries()) {
      const key = keys[i] as string;
      const where = `s3://${this.bucket}/${key}`;
      // Gone since it was listed: another redrive removed it.
      if (text === undefined) continue;
      const read = readLetter(text);
      if ("problem" in read) batch.unreadable.push({ where, problem: read.problem });
      else if (atInRange(range, read.letter.at)) {
        const found = { letter: read.letter, where };
        batch.letters.push(found);
        keyOf.set(found, key);
      }
    }
    return batch;
  }

  private async get(key: string): Promise<string | undefined> {
    try {
      const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return (await object.Body?.transformToString("utf8")) ?? "";
    } catch (error) {
      if ((error as Error).name === "NoSuchKey") return undefined;
      throw new JumpcloudElasticError(`cannot read s3://${this.bucket}/${key}: ${errorCode(error)}`, {
        cause: error,
      });
    }
  }

  private async delete(keys: readonly string[]): Promise<Removal> {
    const results = await Promise.allSettled(
      keys.map((key) =>
        this.limit(() => this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }))),
      ),
    );
    const failed = results.findIndex((r) => r.status === "rejected");
    if (failed !== -1) {
      const reason = (results[failed] as PromiseRejectedResult).reason;
      throw new JumpcloudElasticError(
        `cannot delete s3://${this.bucket}/${keys[failed]} (it landed: the next redrive counts it as a duplicate): ${errorCode(reason)}`,
        { cause: reason },
      );
    }
    return { removed: keys.length };
  }
}

/** Why letters are still refused, with how many and where one of them is. */
export interface RefusalReason {
  status: number;
  type: string;
  reason: string;
  count: number;
  example: string;
}

/** What a redrive found and did; `found` = indexed + duplicates + stillRefused unless a dry run. */
export interface RedriveReport {
  location: string;
  from: string | undefined;
  to: string | undefined;
  dryRun: boolean;
  found: number;
  /** Letters found, by the data stream they go to. */
  dataStreams: Record<string, number>;
  indexed: number;
  duplicates: number;
  stillRefused: number;
  removed: number;
  /** Most frequent first. */
  reasons: RefusalReason[];
  unreadable: Unreadable[];
  warnings: string[];
}

/** How to redrive: which letters, where each data stream's documents go, or only counting. */
export interface RedriveOptions {
  range: TimeRange;
  dryRun: boolean;
  sinkFor(dataStream: string): DocumentSink;
}

function newReport(store: DeadLetterStore, options: RedriveOptions): RedriveReport {
  return {
    location: store.location,
    from: options.range.from?.toISOString(),
    to: options.range.to?.toISOString(),
    dryRun: options.dryRun,
    found: 0,
    dataStreams: {},
    indexed: 0,
    duplicates: 0,
    stillRefused: 0,
    removed: 0,
    reasons: [],
    unreadable: [],
    warnings: [],
  };
}

function byDataStream(letters: readonly FoundLetter[]): Map<string, FoundLetter[]> {
  const groups = new Map<string, FoundLetter[]>();
  for (const found of letters) {
    const group = groups.get(found.letter.dataStream) ?? [];
    group.push(found);
    groups.set(found.letter.dataStream, group);
  }
  return groups;
}

function countReason(reasons: Map<string, RefusalReason>, rejection: Rejection, where: string): void {
  const key = `${rejection.status} ${rejection.type} ${rejection.reason}`;
  const known = reasons.get(key);
  if (known) known.count++;
  else {
    const { status, type, reason } = rejection;
    reasons.set(key, { status, type, reason, count: 1, example: where });
  }
}

const isPipelineError = (document: DeadLetter["document"]) =>
  (document.event as { kind?: unknown } | undefined)?.kind === "pipeline_error";

/**
 * Sends the letters again with `create` and their `_id`, per data stream; adds those that landed
 * (indexed, or already there: duplicates) to `landed` as each data stream is done.
 */
async function resend(
  letters: readonly FoundLetter[],
  options: RedriveOptions,
  report: RedriveReport,
  reasons: Map<string, RefusalReason>,
  landed: FoundLetter[],
): Promise<void> {
  for (const [dataStream, group] of byDataStream(letters)) {
    const foundOf = new Map<IndexItem, FoundLetter>();
    for (const found of group) {
      const { id, document, raw } = found.letter;
      foundOf.set({ id, document, raw, pipelineError: isPipelineError(document) }, found);
    }
    const outcome = await options.sinkFor(dataStream).index([...foundOf.keys()]);
    const refused = new Set(outcome.rejected.map((r) => r.item));
    report.indexed += outcome.indexed;
    report.duplicates += outcome.duplicates;
    report.stillRefused += outcome.rejected.length;
    for (const r of outcome.rejected) countReason(reasons, r, foundOf.get(r.item)?.where ?? dataStream);
    for (const [item, found] of foundOf) if (!refused.has(item)) landed.push(found);
  }
}

/**
 * Re-sends the dead letters of `store` within the range and removes those that landed (indexed,
 * or duplicates: stored meanwhile), leaving the still refused and unreadable ones where they are.
 */
export async function redrive(store: DeadLetterStore, options: RedriveOptions): Promise<RedriveReport> {
  const report = newReport(store, options);
  const reasons = new Map<string, RefusalReason>();
  try {
    for await (const batch of store.batches(options.range)) {
      report.unreadable.push(...batch.unreadable);
      report.found += batch.letters.length;
      for (const { letter } of batch.letters)
        report.dataStreams[letter.dataStream] = (report.dataStreams[letter.dataStream] ?? 0) + 1;
      if (options.dryRun || batch.letters.length === 0) continue;
      const landed: FoundLetter[] = [];
      try {
        await resend(batch.letters, options, report, reasons, landed);
      } finally {
        // What landed before a failure is removed too: it is stored, whatever comes next.
        const removal = await batch.remove(landed);
        report.removed += removal.removed;
        if (removal.warning) report.warnings.push(removal.warning);
      }
    }
  } catch (error) {
    if (!(error instanceof JumpcloudElasticError)) throw error;
    // Nothing sent yet (a dry run sends nothing): the cause is all the user needs to hear.
    if (options.dryRun || report.indexed + report.duplicates + report.stillRefused === 0) throw error;
    throw new JumpcloudElasticError(
      `redrive stopped after removing ${report.removed} dead letter(s), the others left in place (run it again: what landed meanwhile counts as a duplicate): ${error.message}`,
      { cause: error },
    );
  }
  report.reasons = [...reasons.values()].sort((a, b) => b.count - a.count);
  return report;
}
