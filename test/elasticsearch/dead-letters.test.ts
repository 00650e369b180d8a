import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import {
  type DeadLetter,
  FileDeadLetterSink,
  S3DeadLetterSink,
} from "../../lib/elasticsearch/dead-letters.ts";
import { DeadLetterError } from "../../lib/errors.ts";

const letter: DeadLetter = {
  raw: { id: "a1", timestamp: "2026-01-01T00:00:00Z" },
  document: { "@timestamp": "2026-01-01T00:00:00.000Z" },
  id: "+n2ZBv39b9wASQ0vnepOMg==",
  dataStream: "logs-jumpcloud.events-default",
  error: { status: 400, type: "document_parsing_exception", reason: "failed to parse" },
  orgId: "org1",
  at: "2026-03-04T05:06:07.000Z",
};

/** An S3 client double that records what it was asked to put. */
function fakeS3(fail = false) {
  const puts: { Bucket?: string; Key?: string; Body?: unknown }[] = [];
  const client = {
    send: async (command: { input: { Bucket?: string; Key?: string; Body?: unknown } }) => {
      if (fail) throw new Error("AccessDenied");
      puts.push(command.input);
      return {};
    },
  } as unknown as S3Client;
  return { client, puts };
}

describe("dead letters", () => {
  it("puts one S3 object per letter, keyed by date, org and a key-safe _id", async () => {
    const { client, puts } = fakeS3();
    // An event with neither id nor timestamp: the mapper's raw-hash _id (base64url, key-safe as is).
    const idless = { ...letter, id: "raw-069t7TQO_BCxNdvb6HZYxcNonWLjU_38", orgId: undefined };
    await new S3DeadLetterSink(client, "bucket", "dl/").write([letter, idless]);
    expect(puts.map((p) => p.Key)).toStrictEqual([
      "dl/dt=2026-03-04/org=org1/-n2ZBv39b9wASQ0vnepOMg.json",
      "dl/dt=2026-03-04/org=default/raw-069t7TQO_BCxNdvb6HZYxcNonWLjU_38.json",
    ]);
    expect(JSON.parse(puts[0]?.Body as string)).toStrictEqual(letter);
  });

  it("fails loudly when S3 refuses (the batch must not be acknowledged)", async () => {
    await expect(new S3DeadLetterSink(fakeS3(true).client, "bucket").write([letter])).rejects.toBeInstanceOf(
      DeadLetterError,
    );
  });

  it("appends NDJSON per day locally", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dl-"));
    const sink = new FileDeadLetterSink(dir);
    await sink.write([letter]);
    await sink.write([letter]);
    const lines = readFileSync(join(dir, "dead-letters-2026-03-04.ndjson"), "utf8").trim().split("\n");
    expect(lines.map((l) => JSON.parse(l))).toStrictEqual([letter, letter]);
  });
});
