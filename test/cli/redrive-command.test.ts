import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type DeadLetter,
  FileDeadLetterSink,
  S3DeadLetterSink,
} from "../../lib/elasticsearch/dead-letters.ts";
import { ingestPipeline, pipelineName } from "../../lib/elasticsearch/ingest-pipeline.ts";
import { ElasticsearchEmulator } from "../../simulators/elasticsearch/server.ts";
import { fakeAws, memoryS3 } from "../helpers/aws.ts";
import { cli, cliProcess } from "../helpers/cli.ts";

const STREAM = "logs-jumpcloud.events-default";
const REASON = "failed to parse field [x] of type [long]";

function letter(n: number, at: string): DeadLetter {
  return {
    raw: { id: `e${n}`, timestamp: at },
    document: { "@timestamp": at, event: { id: `e${n}` } },
    id: `id-${n}`,
    dataStream: STREAM,
    error: { status: 400, type: "document_parsing_exception", reason: "failed to parse" },
    orgId: "org1",
    at,
  };
}

const DAY = "2026-03-04";
const LETTERS = [1, 2, 3].map((n) => letter(n, `${DAY}T0${n}:00:00.000Z`));

describe("cli redrive", () => {
  const refuse = new Set<string>();
  const es = new ElasticsearchEmulator({
    rejectDocument: (doc) => (refuse.has(String((doc.event as { id?: string }).id)) ? REASON : undefined),
  });
  let url: string;
  let dir: string;
  let file: string;
  const env = () => ({ ELASTICSEARCH_URL: url, DEAD_LETTER_DIR: dir });
  const stored = () => es.documents(STREAM).map((d) => d._id);
  const lines = () => readFileSync(file, "utf8").trimEnd().split("\n");

  beforeAll(async () => {
    url = await es.start();
    // As `setup` leaves the cluster (without it, documents go without the pipeline, with a warning).
    es.ingest.put(pipelineName("cluster"), ingestPipeline("cluster"));
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "redrive-cli-"));
    file = join(dir, `dead-letters-${DAY}.ndjson`);
    await new FileDeadLetterSink(dir).write(LETTERS.slice(0, 2));
    appendFileSync(file, "{garbage\n");
    await new FileDeadLetterSink(dir).write(LETTERS.slice(2));
  });
  afterEach(() => {
    refuse.clear();
    es.streams.clear();
    es.requests.length = 0;
  });
  afterAll(() => es.stop());

  it("re-sends the folder's letters, removes those that landed, and exits 1 while some are still refused", async () => {
    // Letter 1 landed meanwhile; letter 3's cause is not fixed yet.
    es.streams.set(STREAM, new Map([["id-1", { _index: STREAM, _id: "id-1", _source: {} }]]));
    refuse.add("e3");
    const { code, stdout, stderr } = await cli(["redrive"], { env: env() });
    expect(code).toBe(1);
    expect(stdout.split("\n")).toStrictEqual([
      `dead letters in ${dir}, all times`,
      "found 3: indexed 1, duplicates 1, still refused 1; removed 2",
      "still refused, most frequent reasons first:",
      "count  status  type                        reason                                    e.g.",
      `1      400     document_parsing_exception  failed to parse field [x] of type [long]  ${file}:4`,
      "unreadable, left in place (1):",
      expect.stringMatching(new RegExp(`^  ${file}:3: not JSON \\(`)),
      "",
    ]);
    expect(stderr).toBe(
      "error: 1 dead letter(s) still refused, left in place: fix the cause (reasons in the summary) and run redrive again\n",
    );
    expect(stored().sort()).toStrictEqual(["id-1", "id-2"]);
    expect(lines()).toStrictEqual(["{garbage", JSON.stringify(LETTERS[2])]);

    refuse.clear();
    const fixed = await cli(["redrive"], { env: env() });
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toContain("found 1: indexed 1, duplicates 0, still refused 0; removed 1\n");
    expect(lines()).toStrictEqual(["{garbage"]);
  });

  it("prints the report as JSON with --json, the error apart on stderr", async () => {
    refuse.add("e2");
    const { code, stdout, stderr } = await cli(["redrive", "--json"], { env: env() });
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toStrictEqual({
      location: dir,
      dryRun: false,
      found: 3,
      dataStreams: { [STREAM]: 3 },
      indexed: 2,
      duplicates: 0,
      stillRefused: 1,
      removed: 2,
      reasons: [
        { status: 400, type: "document_parsing_exception", reason: REASON, count: 1, example: `${file}:2` },
      ],
      unreadable: [{ where: `${file}:3`, problem: expect.stringMatching(/^not JSON/) }],
      warnings: [],
    });
    expect(JSON.parse(stderr)).toMatchObject({ error: { kind: "failed", exitCode: 1 } });
  });

  it("re-sends only the letters refused between --from and --to", async () => {
    const { code, stdout } = await cli(
      ["redrive", "--from", `${DAY}T01:30:00Z`, "--to", `${DAY}T02:30:00Z`, "--json"],
      { env: env() },
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({
      from: `${DAY}T01:30:00.000Z`,
      to: `${DAY}T02:30:00.000Z`,
      found: 1,
      indexed: 1,
      removed: 1,
    });
    expect(stored()).toStrictEqual(["id-2"]);
    expect(lines()).toStrictEqual([JSON.stringify(LETTERS[0]), "{garbage", JSON.stringify(LETTERS[2])]);
  });

  it("reads and deletes S3 objects when DEAD_LETTER_BUCKET is set", async () => {
    const s3 = memoryS3();
    await new S3DeadLetterSink(s3.client, "dead-bucket").write(LETTERS);
    refuse.add("e1");
    const { code, stdout } = await cli(["redrive"], {
      env: { ELASTICSEARCH_URL: url, DEAD_LETTER_BUCKET: "dead-bucket", AWS_REGION: "eu-west-1" },
      aws: fakeAws({ s3: s3.client }),
    });
    expect(code).toBe(1);
    expect(stdout).toContain("dead letters in s3://dead-bucket/dead-letters/, all times\n");
    expect(stdout).toContain("found 3: indexed 2, duplicates 0, still refused 1; removed 2\n");
    expect(stdout).toContain(`s3://dead-bucket/dead-letters/dt=${DAY}/org=org1/id-1.json`);
    expect([...s3.objects.keys()]).toStrictEqual([`dead-bucket/dead-letters/dt=${DAY}/org=org1/id-1.json`]);
    // The folder is not the source then.
    expect(lines()).toHaveLength(4);
  });

  it("counts what would be sent with --dry-run, needing no cluster and touching nothing", async () => {
    const before = readFileSync(file, "utf8");
    const { code, stdout } = await cli(["redrive", "--dry-run"], { env: { DEAD_LETTER_DIR: dir } });
    expect(code).toBe(0);
    expect(stdout.split("\n")).toStrictEqual([
      `dead letters in ${dir}, all times`,
      "dry run: 3 found, would be re-sent; nothing sent, nothing removed",
      "count  data stream",
      `3      ${STREAM}`,
      "unreadable, left in place (1):",
      expect.stringMatching(new RegExp(`^  ${file}:3: not JSON \\(`)),
      "",
    ]);
    expect(readFileSync(file, "utf8")).toBe(before);
    expect(es.requests).toHaveLength(0);
  });

  it.each([
    [[], {}, /^error: set ELASTICSEARCH_URL or ELASTICSEARCH_CLOUD_ID/m],
    [
      ["--from", "last tuesday"],
      { ELASTICSEARCH_URL: "http://localhost:9200" },
      /--from must be an ISO 8601 time/,
    ],
    [
      ["--from", "1h", "--to", "2h"],
      { ELASTICSEARCH_URL: "http://localhost:9200" },
      /--from \(.*\) must be before --to \(.*\)/,
    ],
  ])("refuses %j with %j: exit 2, nothing touched", async (args, more, message) => {
    const { code, stdout, stderr } = await cli(["redrive", ...args], {
      env: { DEAD_LETTER_DIR: dir, ...more },
    });
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toMatch(message);
    expect(lines()).toHaveLength(4);
  });

  it("runs as a process of its own: the landed letters' file is gone", async () => {
    const alone = mkdtempSync(join(tmpdir(), "redrive-smoke-"));
    await new FileDeadLetterSink(alone).write([letter(7, `${DAY}T07:00:00.000Z`)]);
    const { code, stdout, stderr } = await cliProcess(["redrive"], {
      env: { ELASTICSEARCH_URL: url, DEAD_LETTER_DIR: alone },
    });
    expect({ code, stderr }).toStrictEqual({ code: 0, stderr: "" });
    expect(stdout).toBe(
      `dead letters in ${alone}, all times\nfound 1: indexed 1, duplicates 0, still refused 0; removed 1\n`,
    );
    expect(stored()).toStrictEqual(["id-7"]);
    expect(existsSync(join(alone, `dead-letters-${DAY}.ndjson`))).toBe(false);
    expect(readdirSync(alone)).toStrictEqual([]);
  });
});
