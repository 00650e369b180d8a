import { appendFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import pLimit from "p-limit";
import type { JsonObject } from "../ecs/paths.ts";
import { DeadLetterError } from "../errors.ts";
import { jsonText } from "../json-text.ts";

/** A document Elasticsearch refused for good, with everything needed to understand and replay it. */
export interface DeadLetter {
  /** The raw JumpCloud event, as received. */
  raw: unknown;
  /** The document that was refused. */
  document: JsonObject;
  /** Its `_id`, as the mapper decided it. */
  id: string;
  dataStream: string;
  error: { status: number; type: string; reason: string };
  orgId: string | undefined;
  /** When it was refused (ISO 8601). */
  at: string;
}

/** Port: where refused documents go. Throws when it cannot keep them (the batch must then fail). */
export interface DeadLetterSink {
  write(letters: readonly DeadLetter[]): Promise<void>;
}

/** A name for a dead letter: its `_id` made safe for keys and file names. */
export function deadLetterName(letter: DeadLetter): string {
  return letter.id.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * Where a day's dead letters are kept, and the day a name stands for: the sinks write by these,
 * and redrive reads by them. Days are UTC, `YYYY-MM-DD`.
 */
export const DEAD_LETTER_NAMES = {
  /** The local file of a day. */
  file: (day: string) => `dead-letters-${day}.ndjson`,
  fileDay: (name: string) => /^dead-letters-(\d{4}-\d{2}-\d{2})\.ndjson$/.exec(name)?.[1],
  /** The S3 key prefix (below DEAD_LETTER_PREFIX) of a day. */
  keyPrefix: (day: string) => `dt=${day}`,
  keyDay: (keyBelowPrefix: string) => /^dt=(\d{4}-\d{2}-\d{2})\/.+\.json$/.exec(keyBelowPrefix)?.[1],
} as const;

/** One S3 object per dead letter: `<prefix>dt=YYYY-MM-DD/org=<org>/<id>.json`. */
export class S3DeadLetterSink implements DeadLetterSink {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly prefix = "dead-letters/",
  ) {}

  static key(prefix: string, letter: DeadLetter): string {
    const day = DEAD_LETTER_NAMES.keyPrefix(letter.at.slice(0, 10));
    return `${prefix}${day}/org=${letter.orgId ?? "default"}/${deadLetterName(letter)}.json`;
  }

  async write(letters: readonly DeadLetter[]): Promise<void> {
    // Dead letters are rare; a few at a time keeps S3 calls bounded.
    const limit = pLimit(8);
    const results = await Promise.allSettled(letters.map((letter) => limit(() => this.put(letter))));
    const failed = results.find((r) => r.status === "rejected");
    if (failed) {
      throw new DeadLetterError(`cannot write dead letters to s3://${this.bucket}/${this.prefix}`, {
        cause: failed.reason,
      });
    }
  }

  private put(letter: DeadLetter): Promise<unknown> {
    return this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: S3DeadLetterSink.key(this.prefix, letter),
        Body: jsonText(letter),
        ContentType: "application/json",
      }),
    );
  }
}

/** Local runs: one NDJSON file per day, `<dir>/dead-letters-YYYY-MM-DD.ndjson`. */
export class FileDeadLetterSink implements DeadLetterSink {
  constructor(private readonly dir: string) {}

  async write(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    try {
      await mkdir(this.dir, { recursive: true });
      const byDay = new Map<string, string>();
      for (const letter of letters) {
        const day = letter.at.slice(0, 10);
        byDay.set(day, `${byDay.get(day) ?? ""}${jsonText(letter)}\n`);
      }
      for (const [day, lines] of byDay) await appendFile(join(this.dir, DEAD_LETTER_NAMES.file(day)), lines);
    } catch (cause) {
      throw new DeadLetterError(`cannot write dead letters to ${this.dir}`, { cause });
    }
  }
}
