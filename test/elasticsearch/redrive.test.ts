import { appendFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@elastic/elasticsearch";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type DeadLetter,
  FileDeadLetterSink,
  S3DeadLetterSink,
} from "../../lib/elasticsearch/dead-letters.ts";
import {
  dayInRange,
  FileDeadLetterStore,
  type RedriveOptions,
  readLetter,
  redrive,
  S3DeadLetterStore,
} from "../../lib/elasticsearch/redrive.ts";
import { type DocumentSink, ElasticsearchDocumentSink } from "../../lib/elasticsearch/sink.ts";
import {
  ConfigurationError,
  ElasticsearchUnavailableError,
  JumpcloudElasticError,
} from "../../lib/errors.ts";
import { ElasticsearchEmulator } from "../../simulators/elasticsearch/server.ts";
import { memoryS3 } from "../helpers/aws.ts";
import { FAST_RETRY, testClient } from "../helpers/elasticsearch.ts";

const STREAM = "logs-jumpcloud.events-default";
const OTHER = "logs-jumpcloud.events-team_a";

/** A dead letter as the pipeline writes it; `n` names its event and `_id`. */
function letter(n: number, at: string, dataStream = STREAM): DeadLetter {
  return {
    raw: { id: `e${n}`, timestamp: at },
    document: { "@timestamp": at, event: { id: `e${n}` }, message: `event ${n}` },
    id: `id-${n}`,
    dataStream,
    error: { status: 400, type: "document_parsing_exception", reason: "failed to parse field [x]" },
    orgId: "org1",
    at,
  };
}

const tempDir = () => mkdtempSync(join(tmpdir(), "redrive-"));
const fileOf = (dir: string, day: string) => join(dir, `dead-letters-${day}.ndjson`);
const lettersIn = (path: string) =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l !== "");

describe("reading dead letters", () => {
  it("reads a letter, and says what is wrong with anything else", () => {
    expect(readLetter(JSON.stringify(letter(1, "2026-03-04T00:00:00.000Z")))).toStrictEqual({
      letter: letter(1, "2026-03-04T00:00:00.000Z"),
    });
    expect(readLetter("{not json")).toMatchObject({ problem: expect.stringMatching(/^not JSON \(/) });
    expect(readLetter('{"id":"x","document":[],"at":"yesterday"}')).toStrictEqual({
      problem: expect.stringMatching(/^not a dead letter \(document: .*; dataStream: .*; at: not a time\)$/),
    });
  });

  it("keeps a day when it may hold letters of the range: from included, to excluded", () => {
    const range = { from: new Date("2026-03-04T12:00:00Z"), to: new Date("2026-03-06T00:00:00Z") };
    expect(["2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06"].map((d) => dayInRange(range, d))).toEqual(
      [false, true, true, false],
    );
    expect(dayInRange({}, "1999-01-01")).toBe(true);
  });
});

describe("redrive against the Elasticsearch emulator", () => {
  const refuse = new Set<string>();
  const es = new ElasticsearchEmulator({
    rejectDocument: (doc) =>
      refuse.has(String((doc.event as { id?: string }).id))
        ? "failed to parse field [x] of type [long]"
        : undefined,
  });
  let client: Client;
  const sinkFor = (dataStream = STREAM): DocumentSink =>
    new ElasticsearchDocumentSink(client, { dataStream, retry: FAST_RETRY, sleep: async () => {} });
  const options = (more: Partial<RedriveOptions> = {}): RedriveOptions => ({
    range: {},
    dryRun: false,
    sinkFor,
    ...more,
  });
  // A letter whose document landed meanwhile (an earlier redrive that could not remove it, say).
  const storeBefore = (l: DeadLetter) => sinkFor(l.dataStream).index([{ ...l, pipelineError: false }]);
  const stored = (stream = STREAM) => es.documents(stream).map((d) => d._id);

  beforeAll(async () => {
    client = await testClient(await es.start());
  });
  afterEach(() => {
    refuse.clear();
    es.clearFaults();
    es.streams.clear();
    es.requests.length = 0;
  });
  afterAll(() => es.stop());

  describe("from the local folder", () => {
    let dir: string;
    beforeEach(async () => {
      dir = tempDir();
      const sink = new FileDeadLetterSink(dir);
      await sink.write([letter(1, "2026-03-03T10:00:00.000Z"), letter(2, "2026-03-03T11:00:00.000Z")]);
      await sink.write([letter(3, "2026-03-04T05:00:00.000Z"), letter(4, "2026-03-04T06:00:00.000Z")]);
      appendFileSync(fileOf(dir, "2026-03-04"), "garbage, not a letter\n");
      await sink.write([letter(5, "2026-03-04T13:00:00.000Z", OTHER)]);
      writeFileSync(join(dir, "notes.txt"), "not a dead-letter file\n");
    });

    it("indexes, counts the already stored as duplicates, keeps the refused and the garbage, removes what landed", async () => {
      await storeBefore(letter(2, "2026-03-03T11:00:00.000Z"));
      refuse.add("e4");
      const report = await redrive(new FileDeadLetterStore(dir), options());
      expect(report).toMatchObject({
        location: dir,
        dryRun: false,
        found: 5,
        dataStreams: { [STREAM]: 4, [OTHER]: 1 },
        indexed: 3,
        duplicates: 1,
        stillRefused: 1,
        removed: 4,
        warnings: [],
      });
      expect(report.reasons).toStrictEqual([
        {
          status: 400,
          type: "document_parsing_exception",
          reason: "failed to parse field [x] of type [long]",
          count: 1,
          example: `${fileOf(dir, "2026-03-04")}:2`,
        },
      ]);
      expect(report.unreadable).toStrictEqual([
        { where: `${fileOf(dir, "2026-03-04")}:3`, problem: expect.stringMatching(/^not JSON/) },
      ]);
      expect(stored().sort()).toStrictEqual(["id-1", "id-2", "id-3"]);
      expect(stored(OTHER)).toStrictEqual(["id-5"]);
      // Stored once: the duplicate was never written again.
      expect(es.documents(STREAM)).toHaveLength(3);
      // The emptied day is gone; the other keeps the refused letter and the garbage, as they were.
      expect(readdirSync(dir).sort()).toStrictEqual(["dead-letters-2026-03-04.ndjson", "notes.txt"]);
      expect(lettersIn(fileOf(dir, "2026-03-04"))).toStrictEqual([
        JSON.stringify(letter(4, "2026-03-04T06:00:00.000Z")),
        "garbage, not a letter",
      ]);

      // The cause fixed: the refused one lands, the garbage stays.
      refuse.clear();
      const again = await redrive(new FileDeadLetterStore(dir), options());
      expect(again).toMatchObject({ found: 1, indexed: 1, stillRefused: 0, removed: 1 });
      expect(lettersIn(fileOf(dir, "2026-03-04"))).toStrictEqual(["garbage, not a letter"]);
    });

    it("re-sends only the letters refused within the range, and reads no day outside it", async () => {
      appendFileSync(fileOf(dir, "2026-03-03"), "garbage in a day outside the range\n");
      const range = { from: new Date("2026-03-04T00:00:00Z"), to: new Date("2026-03-04T12:00:00Z") };
      const report = await redrive(new FileDeadLetterStore(dir), options({ range }));
      expect(report).toMatchObject({
        from: "2026-03-04T00:00:00.000Z",
        to: "2026-03-04T12:00:00.000Z",
        found: 2,
        indexed: 2,
        removed: 2,
      });
      expect(report.unreadable.map((u) => u.where)).toStrictEqual([`${fileOf(dir, "2026-03-04")}:3`]);
      expect(stored().sort()).toStrictEqual(["id-3", "id-4"]);
      expect(lettersIn(fileOf(dir, "2026-03-03"))).toHaveLength(3);
      expect(lettersIn(fileOf(dir, "2026-03-04"))).toStrictEqual([
        "garbage, not a letter",
        JSON.stringify(letter(5, "2026-03-04T13:00:00.000Z", OTHER)),
      ]);
    });

    it("a dry run counts and touches nothing", async () => {
      const before = readdirSync(dir).map((name) => readFileSync(join(dir, name), "utf8"));
      const report = await redrive(new FileDeadLetterStore(dir), options({ dryRun: true }));
      expect(report).toMatchObject({ dryRun: true, found: 5, indexed: 0, removed: 0 });
      expect(report.unreadable).toHaveLength(1);
      expect(es.requests).toHaveLength(0);
      expect(readdirSync(dir).map((name) => readFileSync(join(dir, name), "utf8"))).toStrictEqual(before);
    });

    it("keeps letters appended while it runs (a run refusing more meanwhile)", async () => {
      const path = fileOf(dir, "2026-03-03");
      const late = JSON.stringify(letter(9, "2026-03-03T23:00:00.000Z"));
      const range = { to: new Date("2026-03-04T00:00:00Z") };
      const report = await redrive(
        new FileDeadLetterStore(dir),
        options({
          range,
          sinkFor: (dataStream) => ({
            index: async (items) => {
              appendFileSync(path, `${late}\n`);
              return sinkFor(dataStream).index(items);
            },
          }),
        }),
      );
      expect(report).toMatchObject({ found: 2, removed: 2 });
      expect(lettersIn(path)).toStrictEqual([late]);
      expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toStrictEqual([]);
    });

    it("leaves a file rewritten meanwhile as it is, and says so", async () => {
      const path = fileOf(dir, "2026-03-03");
      const range = { to: new Date("2026-03-04T00:00:00Z") };
      const report = await redrive(
        new FileDeadLetterStore(dir),
        options({
          range,
          sinkFor: (dataStream) => ({
            index: async (items) => {
              writeFileSync(path, "someone else's content\n");
              return sinkFor(dataStream).index(items);
            },
          }),
        }),
      );
      expect(report).toMatchObject({ found: 2, indexed: 2, removed: 0 });
      expect(report.warnings).toStrictEqual([
        `${path} changed during the redrive: left as it is (run redrive again)`,
      ]);
      expect(readFileSync(path, "utf8")).toBe("someone else's content\n");
    });

    it("stops when the cluster fails, having removed what landed before", async () => {
      const failing: DocumentSink = {
        index: async () => {
          throw new ElasticsearchUnavailableError("_bulk into team_a: still not stored after 5 attempt(s)");
        },
      };
      const range = { from: new Date("2026-03-04T00:00:00Z") };
      const error = await redrive(
        new FileDeadLetterStore(dir),
        options({ range, sinkFor: (ds) => (ds === OTHER ? failing : sinkFor(ds)) }),
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(JumpcloudElasticError);
      expect((error as Error).message).toBe(
        "redrive stopped after removing 2 dead letter(s), the others left in place (run it again: what landed meanwhile counts as a duplicate): _bulk into team_a: still not stored after 5 attempt(s)",
      );
      expect(lettersIn(fileOf(dir, "2026-03-04"))).toStrictEqual([
        "garbage, not a letter",
        JSON.stringify(letter(5, "2026-03-04T13:00:00.000Z", OTHER)),
      ]);
    });

    it("finds nothing in a folder that does not exist", async () => {
      const report = await redrive(new FileDeadLetterStore(join(dir, "nope")), options());
      expect(report).toMatchObject({ found: 0, removed: 0, unreadable: [] });
    });
  });

  describe("from S3", () => {
    const bucket = "dl-bucket";
    const key = (l: DeadLetter) => S3DeadLetterSink.key("dl/", l);
    let s3: ReturnType<typeof memoryS3>;
    const letters = [
      letter(1, "2026-03-02T10:00:00.000Z"),
      letter(2, "2026-03-03T10:00:00.000Z"),
      letter(3, "2026-03-04T05:00:00.000Z"),
      letter(4, "2026-03-04T06:00:00.000Z"),
      letter(5, "2026-03-04T13:00:00.000Z"),
      letter(6, "2026-03-05T10:00:00.000Z"),
      letter(7, "2026-03-06T10:00:00.000Z"),
    ];

    beforeEach(async () => {
      s3 = memoryS3();
      await new S3DeadLetterSink(s3.client, bucket, "dl/").write(letters);
      s3.objects.set(`${bucket}/dl/dt=2026-03-04/org=org1/broken.json`, "{");
      s3.objects.set(`${bucket}/dl/README.txt`, "not in the layout");
      s3.calls.length = 0;
    });

    it("lists from the first day of the range, a page at a time, and stops past its last", async () => {
      refuse.add("e4");
      await storeBefore(letters[4] as DeadLetter);
      const range = { from: new Date("2026-03-03T00:00:00Z"), to: new Date("2026-03-05T00:00:00Z") };
      const store = new S3DeadLetterStore(s3.client, bucket, "dl/", 2);
      const report = await redrive(store, options({ range }));
      expect(report).toMatchObject({
        location: "s3://dl-bucket/dl/",
        found: 4,
        indexed: 2,
        duplicates: 1,
        stillRefused: 1,
        removed: 3,
      });
      expect(report.reasons[0]?.example).toBe(`s3://dl-bucket/${key(letters[3] as DeadLetter)}`);
      expect(report.unreadable).toStrictEqual([
        {
          where: "s3://dl-bucket/dl/dt=2026-03-04/org=org1/broken.json",
          problem: expect.stringMatching(/^not JSON/),
        },
      ]);
      const lists = s3.calls.filter((c) => c.command === "ListObjectsV2Command").map((c) => c.input);
      expect(lists[0]).toMatchObject({
        Bucket: bucket,
        Prefix: "dl/",
        StartAfter: "dl/dt=2026-03-03",
        MaxKeys: 2,
      });
      // Pages: [03, 04 broken], [04, 04], [04, 05]: the key of the 5th is past the range, no 4th page.
      expect(lists).toHaveLength(3);
      expect(stored().sort()).toStrictEqual(["id-2", "id-3", "id-5"]);
      const deleted = s3.calls.filter((c) => c.command === "DeleteObjectCommand").map((c) => c.input.Key);
      expect(deleted.sort()).toStrictEqual(
        [letters[1], letters[2], letters[4]].map((l) => key(l as DeadLetter)).sort(),
      );
      expect([...s3.objects.keys()].map((k) => k.slice(bucket.length + 1)).sort()).toStrictEqual(
        [
          "dl/README.txt",
          "dl/dt=2026-03-04/org=org1/broken.json",
          ...[letters[0], letters[3], letters[5], letters[6]].map((l) => key(l as DeadLetter)),
        ].sort(),
      );
    });

    it("names the bucket and the right it needs when S3 refuses (a configuration error: exit 2)", async () => {
      s3.failing.add("ListObjectsV2Command");
      const failure = redrive(new S3DeadLetterStore(s3.client, bucket, "dl/"), options());
      await expect(failure).rejects.toThrow(
        /^not allowed to list s3:\/\/dl-bucket\/dl\/: the credentials need s3:ListBucket on dl-bucket/,
      );
      await expect(failure).rejects.toBeInstanceOf(ConfigurationError);
    });

    it("stops when a landed letter cannot be deleted: the next redrive counts it as a duplicate", async () => {
      s3.failing.add("DeleteObjectCommand");
      const range = { from: new Date("2026-03-06T00:00:00Z") };
      await expect(
        redrive(new S3DeadLetterStore(s3.client, bucket, "dl/"), options({ range })),
      ).rejects.toThrow(
        /^redrive stopped after removing 0 dead letter\(s\).*cannot delete s3:\/\/dl-bucket\/dl\/dt=2026-03-06\/org=org1\/id-7\.json/,
      );
      s3.failing.clear();
      const again = await redrive(new S3DeadLetterStore(s3.client, bucket, "dl/"), options({ range }));
      expect(again).toMatchObject({ found: 1, indexed: 0, duplicates: 1, removed: 1 });
    });
  });
});
