import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MapperDependencies, makeMapperHandler, withDeadline } from "../../functions/mapper/handler.ts";
import { EcsMapper } from "../../lib/ecs/mapper.ts";
import { FileDeadLetterSink } from "../../lib/elasticsearch/dead-letters.ts";
import { ElasticsearchUnavailableError, InputError } from "../../lib/errors.ts";
import { silentLogger } from "../../lib/logger.ts";
import { ElasticsearchEmulator } from "../../simulators/elasticsearch/server.ts";
import { rawEvents, testClient, testSink } from "../helpers/elasticsearch.ts";
import { openTestGeoIp } from "../helpers/fixtures.ts";

const raw = rawEvents(40, 11);
const badId = raw[5]?.id;

describe("mapper Lambda handler (emulated Elasticsearch, local dead letters)", () => {
  const es = new ElasticsearchEmulator({
    rejectDocument: (doc) =>
      (doc.event as { id?: string }).id === badId ? "mapper_parsing_exception: bad field" : undefined,
  });
  let deps: MapperDependencies;
  let deadLetterDir: string;
  let handler: ReturnType<typeof makeMapperHandler>;

  beforeAll(async () => {
    const client = await testClient(await es.start());
    deadLetterDir = mkdtempSync(join(tmpdir(), "dead-"));
    deps = {
      mapper: new EcsMapper({ geoIp: await openTestGeoIp() }),
      sink: testSink(client),
      deadLetters: new FileDeadLetterSink(deadLetterDir),
      logger: silentLogger,
    };
    handler = makeMapperHandler(async () => deps);
  });
  afterAll(() => es.stop());

  it("answers counts that add up to what it received, and a re-sent batch is all duplicates", async () => {
    const first = await handler({ events: raw, context: { orgId: "org-a" } });
    expect(first).toStrictEqual({
      received: 40,
      indexed: 39,
      duplicates: 0,
      deadLettered: 1,
      pipelineErrors: 0,
      withoutGeo: 0,
      withoutPipeline: 0,
    });
    const again = await handler({ events: raw, context: { orgId: "org-a" } });
    expect(again).toStrictEqual({
      received: 40,
      indexed: 0,
      duplicates: 39,
      deadLettered: 1,
      pipelineErrors: 0,
      withoutGeo: 0,
      withoutPipeline: 0,
    });
    expect(es.documents("logs-jumpcloud.events-default")).toHaveLength(39);
  });

  it("keeps each refused document with the raw event and the reason", () => {
    const [file] = readdirSync(deadLetterDir);
    const letters = readFileSync(join(deadLetterDir, file as string), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(letters[0]).toMatchObject({
      raw: raw[5],
      orgId: "org-a",
      dataStream: "logs-jumpcloud.events-default",
      error: {
        status: 400,
        type: "document_parsing_exception",
        reason: "mapper_parsing_exception: bad field",
      },
    });
  });

  it("maps unusable events to error documents instead of failing the batch", async () => {
    const result = await handler({ events: ["not an event", { id: "only-id" }, null] });
    expect(result).toStrictEqual({
      received: 3,
      indexed: 3,
      duplicates: 0,
      deadLettered: 0,
      pipelineErrors: 2,
      withoutGeo: 0,
      withoutPipeline: 0,
    });
  });

  // Events never stored: stored ones are found by the lookup and need no _bulk at all.
  const unseen = rawEvents(3, 12);

  it("fails the invocation when Elasticsearch cannot take the batch", async () => {
    es.inject({ kind: "status", status: 503 }, 100, "/_bulk");
    await expect(handler({ events: unseen })).rejects.toBeInstanceOf(ElasticsearchUnavailableError);
    es.clearFaults();
  });

  it("gives up by the collector's deadline, or its own end, whichever comes first", async () => {
    es.inject({ kind: "status", status: 503 }, 100, "/_bulk");
    const bulks = () => es.requests.filter((r) => r.path.endsWith("/_bulk")).length;
    const before = bulks();
    await expect(handler({ events: unseen })).rejects.toBeInstanceOf(ElasticsearchUnavailableError);
    const unbounded = bulks() - before;
    const past = new Date(Date.now() - 1).toISOString();
    const start = bulks();
    await expect(handler({ events: unseen, context: { deadline: past } })).rejects.toThrow(/deadline/);
    expect(bulks() - start).toBeLessThan(unbounded);
    // The invocation's own end counts too: 500 ms left, minus the second kept to answer.
    const own = bulks();
    await expect(handler({ events: unseen }, { getRemainingTimeInMillis: () => 500 })).rejects.toThrow(
      /deadline/,
    );
    expect(bulks() - own).toBeLessThan(unbounded);
    es.clearFaults();
  });

  it("takes the earlier of the collector's deadline and its own end", () => {
    const now = Date.parse("2026-05-01T12:00:00Z");
    const at = (ms: number) => new Date(now + ms).toISOString();
    expect(withDeadline({ deadline: at(10_000) }, 60_000, now).deadline).toBe(at(10_000));
    expect(withDeadline({ deadline: at(90_000) }, 60_000, now).deadline).toBe(at(59_000));
    expect(withDeadline({ orgId: "o" }, undefined, now)).toStrictEqual({ orgId: "o" });
    expect(withDeadline({ deadline: "garbage" }, 60_000, now).deadline).toBe(at(59_000));
  });

  it("refuses a request that is not {events: [...]}", async () => {
    await expect(handler({} as never)).rejects.toBeInstanceOf(InputError);
  });
});
