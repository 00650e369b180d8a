import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeMapperHandler } from "../../functions/mapper/handler.ts";
import { addCounts, type Counts, NO_COUNTS } from "../../lib/counts.ts";
import { EcsMapper } from "../../lib/ecs/mapper.ts";
import type { JsonObject } from "../../lib/ecs/paths.ts";
import { FileDeadLetterSink } from "../../lib/elasticsearch/dead-letters.ts";
import { FileDocumentSink } from "../../lib/elasticsearch/file-sink.ts";
import { ElasticsearchDocumentSink } from "../../lib/elasticsearch/sink.ts";
import { silentLogger } from "../../lib/logger.ts";
import { indexEvents } from "../../lib/pipeline/index-events.ts";
import { ElasticsearchEmulator } from "../../simulators/elasticsearch/server.ts";
import { cli } from "../helpers/cli.ts";
import { FAST_RETRY, testClient } from "../helpers/elasticsearch.ts";
import { COLLECTED_AT } from "../helpers/fixtures.ts";
import {
  asValue,
  type BadCase,
  type CaseOptions,
  type EventExpectation,
  eventsOf,
  expectedCounts,
  loadCorpus,
} from "./corpus.ts";
import { refusal } from "./elasticsearch-rules.ts";
import { checkLandings, type Landing, mappedKind } from "./expectations.ts";

const corpus = loadCorpus();
const mapping = corpus.filter((c) => "events" in c.expected);
const refused = corpus.filter((c) => !("events" in c.expected));
const options = (c: BadCase): CaseOptions => ("options" in c.expected ? (c.expected.options ?? {}) : {});
const mapperFor = (c: BadCase) => new EcsMapper(options(c));
// The big cases leave tens of megabytes behind: every folder goes once the file is done.
const folders: string[] = [];
const tmp = (prefix: string) => {
  folders.push(mkdtempSync(join(tmpdir(), `bad-input-${prefix}-`)));
  return folders.at(-1) as string;
};
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** A case's events as the collector hands them over, with the `_id` the mapper gives each. */
function prepared(c: BadCase, mapper = mapperFor(c)) {
  const { raw, expected } = eventsOf(c);
  const values = raw.map(asValue);
  const ids = values.map((v) => mapper.mapValue(v, COLLECTED_AT).id);
  return { values, ids, expected };
}

function readNdjson(file: string): JsonObject[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as JsonObject);
}

function deadLetters(dir: string): Map<string, JsonObject> {
  const files = readdirSync(dir, { withFileTypes: true }).filter((f) => f.isFile());
  const letters = files.flatMap((f) => readNdjson(join(dir, f.name)));
  return new Map(letters.map((l) => [l.id as string, l]));
}

function landing(stored: Map<string, JsonObject>, letters: Map<string, JsonObject>): Landing {
  return {
    stored: (id) => stored.get(id),
    deadLetter: (id) => {
      const letter = letters.get(id);
      if (letter === undefined) return undefined;
      const error = letter.error as { reason: string };
      return { reason: error.reason, document: letter.document as JsonObject, raw: letter.raw };
    },
  };
}

function sum(cases: readonly BadCase[], cluster: boolean): Counts {
  return cases.map((c) => expectedCounts(eventsOf(c).expected, cluster)).reduce(addCounts, NO_COUNTS);
}

describe("the bad-input corpus (test/fixtures/bad)", () => {
  it("holds at least 60 cases, each saying why it ends as it does", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(60);
    expect(refused.length).toBeGreaterThan(0);
    for (const c of corpus) expect(c.expected.why, c.name).toMatch(/\w{3}/);
  });

  it.each(mapping)("$name: one expectation per event read, each well formed", (c) => {
    const { raw, expected } = eventsOf(c);
    expect(raw).toHaveLength(expected.length);
    for (const e of expected) {
      if (e.outcome === "pipeline-error") expect(e.error, "a pipeline error names its message").toBeDefined();
      if (e.outcome === "dead-letter") expect(e.reason, "a dead letter names its reason").toBeDefined();
    }
  });

  it("gives each case `_id`s of its own, so one batch of all of them adds up to the cases' sums", () => {
    const owner = new Map<string, string>();
    for (const c of mapping.filter((m) => Object.keys(options(m)).length === 0)) {
      for (const id of new Set(prepared(c).ids)) {
        expect(owner.get(id), `${c.name} shares ${id}`).toBeUndefined();
        owner.set(id, c.name);
      }
    }
  });
});

describe("path 1: indexEvents into the local-run sinks (no cluster refuses anything)", () => {
  it.each(mapping)("$name", async (c) => {
    const mapper = mapperFor(c);
    const { values, ids, expected } = prepared(c, mapper);
    const dir = tmp("files");
    const sink = new FileDocumentSink(dir, mapper.dataStream);
    const deadLetterDir = join(dir, "dead");
    const deps = {
      mapper,
      sink,
      deadLetters: new FileDeadLetterSink(deadLetterDir),
      now: () => COLLECTED_AT,
    };
    const counts = await indexEvents(values, deps);
    expect(counts).toStrictEqual(expectedCounts(expected, false));
    const stored = values.length === 0 ? [] : readNdjson(sink.path);
    const byId = new Map(stored.map((s) => [s._id as string, s._source as JsonObject]));
    checkLandings(c.name, ids, values, expected, landing(byId, new Map()), false);
  });
});

describe("path 2: the mapper Lambda handler against the emulated cluster", () => {
  const es = new ElasticsearchEmulator({ rejectDocument: refusal });
  let client: Awaited<ReturnType<typeof testClient>>;
  beforeAll(async () => {
    client = await testClient(await es.start(), { ELASTICSEARCH_REQUEST_TIMEOUT: "60s" });
  });
  afterAll(() => es.stop());

  function handlerFor(mapper: EcsMapper, deadLetterDir: string) {
    const sink = new ElasticsearchDocumentSink(client, {
      dataStream: mapper.dataStream,
      retry: FAST_RETRY,
      sleep: async () => {},
    });
    const deps = {
      mapper,
      sink,
      deadLetters: new FileDeadLetterSink(deadLetterDir),
      logger: silentLogger,
      now: () => COLLECTED_AT,
    };
    return makeMapperHandler(async () => deps);
  }

  function landed(mapper: EcsMapper, deadLetterDir: string): Landing {
    const stored = new Map(es.documents(mapper.dataStream).map((d) => [d._id, d._source]));
    return landing(stored, deadLetters(deadLetterDir));
  }

  it.each(mapping)("$name", async (c) => {
    const mapper = mapperFor(c);
    const { values, ids, expected } = prepared(c, mapper);
    const dir = tmp("letters");
    const counts = await handlerFor(mapper, dir)({ events: values, context: { orgId: "bad-input" } });
    expect(counts).toStrictEqual(expectedCounts(expected, true));
    checkLandings(c.name, ids, values, expected, landed(mapper, dir), true);
  });

  it("takes every case in one batch, answers their sum, and a re-send is all duplicates", async () => {
    const cases = mapping.filter((c) => Object.keys(options(c)).length === 0);
    const mapper = new EcsMapper({ namespace: "mixed" });
    const values = cases.flatMap((c) => prepared(c, mapper).values);
    const handler = handlerFor(mapper, tmp("mixed"));
    const first = await handler({ events: values });
    expect(first).toStrictEqual(sum(cases, true));
    const again = await handler({ events: values });
    expect(again).toStrictEqual({
      ...first,
      indexed: 0,
      duplicates: first.indexed + first.duplicates,
      pipelineErrors: 0,
      withoutGeo: 0,
      withoutPipeline: 0,
    });
  });
});

describe("path 3: the map command", () => {
  const flags = (c: BadCase) => [
    ...(options(c).preserveOriginalEvent ? ["--preserve-original-event"] : []),
    ...(options(c).preserveDuplicateCustomFields ? ["--preserve-duplicate-custom-fields"] : []),
  ];
  // Generated inputs are written out, so `map` reads every case from a file.
  const inputFile = (c: BadCase) => {
    if (!c.generated) return c.file;
    const file = join(tmp("input"), `${c.name}.ndjson`);
    writeFileSync(file, c.text());
    return file;
  };

  it.each(refused)("$name: refused as a whole, one line saying why", async (c) => {
    const { code, stdout, stderr } = await cli(["map", inputFile(c)]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toMatch(new RegExp((c.expected as { message: string }).message));
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it.each(mapping)("$name", async (c) => {
    const { expected } = eventsOf(c);
    const { code, stdout, stderr } = await cli(["map", "--format", "bulk", ...flags(c), inputFile(c)]);
    expect(code, stderr).toBe(0);
    const lines = stdout.split("\n").filter((l) => l !== "");
    const actions = lines.filter((_, i) => i % 2 === 0).map((l) => JSON.parse(l).create as { _id: string });
    const docs = lines.filter((_, i) => i % 2 === 1).map((l) => JSON.parse(l) as JsonObject);
    const ids = actions.map((a) => a._id);
    const first = new Map<string, JsonObject>();
    for (const [i, doc] of docs.entries()) if (!first.has(ids[i] as string)) first.set(ids[i] as string, doc);
    checkLandings(c.name, ids, [], expected, landing(first, new Map()), false);
    // `map` writes duplicates too (the cluster answers 409 to them): each of the kind expected.
    docs.forEach((doc, i) => {
      const failed = mappedKind(expected[i] as EventExpectation) === "pipeline-error";
      expect((doc.event as JsonObject).kind, `${c.name} event ${i}`).toBe(
        failed ? "pipeline_error" : undefined,
      );
    });
    const failed = expected.filter((e) => mappedKind(e) === "pipeline-error").length;
    expect(stderr).toContain(`mapped ${expected.length} event(s)`);
    expect(stderr).toContain(`${failed} pipeline error(s)`);
  });
});

describe("path 1, all at once", () => {
  it("indexEvents takes every case in one batch and counts their sum", async () => {
    const cases = mapping.filter((c) => Object.keys(options(c)).length === 0);
    const mapper = new EcsMapper();
    const values = cases.flatMap((c) => prepared(c, mapper).values);
    const dir = tmp("mixed-files");
    const deps = {
      mapper,
      sink: new FileDocumentSink(dir, mapper.dataStream),
      deadLetters: new FileDeadLetterSink(join(dir, "dead")),
      now: () => COLLECTED_AT,
    };
    expect(await indexEvents(values, deps)).toStrictEqual(sum(cases, false));
  });
});
