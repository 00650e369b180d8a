import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { addCounts, type Counts, NO_COUNTS } from "../../lib/counts.ts";
import { EcsMapper } from "../../lib/ecs/mapper.ts";
import { FileDocumentSink } from "../../lib/elasticsearch/file-sink.ts";
import type { IndexItem } from "../../lib/elasticsearch/sink.ts";
import { hourOf } from "../../lib/elasticsearch/written-ids.ts";
import { type BatchContext, indexEvents } from "../../lib/pipeline/index-events.ts";
import { generateTenantEvents } from "../../simulators/jumpcloud/tenant.ts";

const HOUR = 3_600_000;
const START = Date.parse("2026-05-01T00:00:00Z");
const mapper = new EcsMapper();
const tenant = generateTenantEvents({ seed: 5, start: START, end: START + 6 * HOUR, count: 600 });
const noDeadLetters = { write: async () => {} };

const iso = (hour: number) => new Date(START + hour * HOUR).toISOString();
const eventsOf = (from: number, to: number) =>
  tenant.filter((g) => g.at >= START + from * HOUR && g.at < START + to * HOUR).map((g) => g.event);
const countOf = (from: number, to: number) => eventsOf(from, to).length;
const newSink = (dir: string, cachedIds?: number) =>
  new FileDocumentSink(dir, mapper.dataStream, cachedIds === undefined ? {} : { cachedIds });

/** Delivers hours `from`..`to` in pages of 50, as the collector does, with the context it would pass. */
async function deliver(
  sink: FileDocumentSink,
  from: number,
  to: number,
  rereadBefore?: number,
): Promise<Counts> {
  const context: BatchContext = {
    window: { start: iso(from), end: iso(to) },
    ...(rereadBefore !== undefined && { rereadBefore: iso(rereadBefore) }),
  };
  const events = eventsOf(from, to);
  let total = NO_COUNTS;
  for (let i = 0; i < events.length; i += 50) {
    const counts = await indexEvents(
      events.slice(i, i + 50),
      { mapper, sink, deadLetters: noDeadLetters },
      context,
    );
    total = addCounts(total, counts);
  }
  return total;
}

const lines = (path: string) =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "");

/** The `_id`s of both outputs, checked to hold each once. */
function storedIds(sink: FileDocumentSink): string[] {
  const docs = lines(sink.path).flatMap((line) => {
    try {
      return [(JSON.parse(line) as { _id: string })._id];
    } catch {
      return [];
    }
  });
  const actions = lines(sink.bulkPath).flatMap((line) => {
    try {
      const parsed = JSON.parse(line) as { create?: { _id: string } };
      return parsed.create ? [parsed.create._id] : [];
    } catch {
      return [];
    }
  });
  expect(new Set(docs).size).toBe(docs.length);
  expect([...actions].sort()).toStrictEqual([...docs].sort());
  return docs;
}

function itemsFor(events: unknown[], collectedAt: Date): IndexItem[] {
  return events.map((raw) => {
    const { id, document, failed } = mapper.mapValue(raw, collectedAt);
    return { id, document, raw, pipelineError: failed };
  });
}

const tempDir = () => mkdtempSync(join(tmpdir(), "file-sink-"));

describe("FileDocumentSink: each _id once, across windows and restarts", () => {
  it("runs the same window twice, then an overlap after a restart (a new sink): nothing is written twice", async () => {
    const dir = tempDir();
    const first = newSink(dir);
    expect(await deliver(first, 0, 3)).toMatchObject({ indexed: countOf(0, 3), duplicates: 0 });
    expect(await deliver(first, 0, 3, 3)).toMatchObject({ indexed: 0, duplicates: countOf(0, 3) });
    const restarted = newSink(dir);
    expect(await deliver(restarted, 2, 6, 3)).toMatchObject({
      indexed: countOf(3, 6),
      duplicates: countOf(2, 3),
    });
    expect(await deliver(newSink(dir), 0, 6, 6)).toMatchObject({ indexed: 0, duplicates: countOf(0, 6) });
    expect(storedIds(restarted)).toHaveLength(tenant.length);
  });

  it("dedupes without a context too, and batches sent at once take each new _id once", async () => {
    const sink = newSink(tempDir());
    const batch = itemsFor(eventsOf(0, 2), new Date());
    const outcomes = await Promise.all([sink.index(batch), sink.index(batch.slice(10)), sink.index(batch)]);
    expect(outcomes.map((o) => o.indexed)).toStrictEqual([batch.length, 0, 0]);
    expect(storedIds(sink)).toHaveLength(batch.length);
  });

  it("takes documents timed by collection as the same when mapped again later (their _id does not change)", async () => {
    const dir = tempDir();
    const broken = ["not an event", { id: "no-time" }, [1]];
    const at = new Date(START);
    expect((await newSink(dir).index(itemsFor(broken, at))).indexed).toBe(3);
    const later = itemsFor(broken, new Date(START + 30 * 24 * HOUR));
    expect(await newSink(dir).index(later)).toMatchObject({ indexed: 0, duplicates: 3 });
  });

  it("with few ids kept in memory, hours read back from disk still answer", async () => {
    const dir = tempDir();
    const sink = newSink(dir, 1);
    for (let hour = 0; hour < 6; hour++) await deliver(sink, hour, hour + 1);
    expect(await deliver(sink, 0, 6, 6)).toMatchObject({ indexed: 0, duplicates: tenant.length });
    expect(await deliver(newSink(dir, 1), 5, 6, 6)).toMatchObject({ indexed: 0 });
    expect(storedIds(sink)).toHaveLength(tenant.length);
  });
});

describe("FileDocumentSink: what it keeps on disk", () => {
  it("indexes the _ids by event hour beside the output, and says how much of the output they cover", async () => {
    const dir = tempDir();
    const sink = newSink(dir);
    await deliver(sink, 0, 6);
    await sink.index(itemsFor(["not an event"], new Date()));
    const files = readdirSync(sink.idsPath).sort();
    expect(files.filter((f) => /^2026-05-01T0[0-5]\.ids$/.test(f))).toHaveLength(6);
    expect(files.filter((f) => /^untimed-\d+\.ids$/.test(f))).toHaveLength(1);
    expect(files).toContain("coverage.json");
    const coverage = JSON.parse(readFileSync(join(sink.idsPath, "coverage.json"), "utf8"));
    expect(coverage.bytes).toBe(statSync(sink.path).size);
    const firstHour = readFileSync(join(sink.idsPath, "2026-05-01T00.ids"), "utf8")
      .split("\n")
      .filter(Boolean);
    expect(firstHour.sort()).toStrictEqual(
      itemsFor(eventsOf(0, 1), new Date())
        .map((i) => i.id)
        .sort(),
    );
  });

  it("does not read the output again on a restart: the index answers", async () => {
    const dir = tempDir();
    const sink = newSink(dir);
    await deliver(sink, 0, 6);
    // Same file, same size, its first and last lines kept, no document left between them: only
    // the index still knows what was written there.
    const size = statSync(sink.path).size;
    const all = lines(sink.path);
    const [first, last] = [all[0] as string, all.at(-1) as string];
    const middle = " ".repeat(size - Buffer.byteLength(first) - Buffer.byteLength(last) - 3);
    writeFileSync(sink.path, `${first}\n${middle}\n${last}\n`, { flag: "r+" });
    expect(await deliver(newSink(dir), 0, 6, 6)).toMatchObject({ indexed: 0, duplicates: tenant.length });
    expect(statSync(sink.path).size).toBe(size);
  });

  it("reads the output's tail the index does not cover (a run stopped between them, or an older version's output)", async () => {
    const dir = tempDir();
    const sink = newSink(dir);
    await deliver(sink, 0, 2);
    // Documents appended as the sink does, their ids never indexed.
    const unindexed = itemsFor(eventsOf(2, 4), new Date());
    appendFileSync(
      sink.path,
      unindexed
        .map((i) => `{"_id":${JSON.stringify(i.id)},"_source":${JSON.stringify(i.document)}}\n`)
        .join(""),
    );
    expect(await deliver(newSink(dir), 0, 4, 4)).toMatchObject({ indexed: 0, duplicates: countOf(0, 4) });
    rmSync(sink.idsPath, { recursive: true });
    expect(await deliver(newSink(dir), 0, 5, 4)).toMatchObject({
      indexed: countOf(4, 5),
      duplicates: countOf(0, 4),
    });
    expect(existsSync(join(sink.idsPath, "2026-05-01T03.ids"))).toBe(true);
  });

  it("writes everything again when the output was removed or replaced, whatever the index says", async () => {
    const dir = tempDir();
    const sink = newSink(dir);
    await deliver(sink, 0, 2);
    rmSync(sink.path);
    rmSync(sink.bulkPath);
    expect(await deliver(newSink(dir), 0, 2, 2)).toMatchObject({ indexed: countOf(0, 2) });
    const kept = lines(sink.path).slice(0, 5);
    rmSync(sink.path);
    writeFileSync(sink.path, `${kept.join("\n")}\n${"\n".repeat(statSync(sink.bulkPath).size)}`);
    expect(await deliver(newSink(dir), 0, 2, 2)).toMatchObject({ indexed: countOf(0, 2) - 5, duplicates: 5 });
  });

  it("after a line cut short by a stopped run, starts a line of its own and writes that document whole", async () => {
    const dir = tempDir();
    const sink = newSink(dir);
    await deliver(sink, 0, 1);
    const [cut] = itemsFor(eventsOf(1, 2), new Date());
    const line = `{"_id":${JSON.stringify(cut?.id)},"_source":${JSON.stringify(cut?.document)}}`;
    appendFileSync(sink.path, line.slice(0, 40));
    appendFileSync(sink.bulkPath, line.slice(0, 10));
    expect(await deliver(newSink(dir), 0, 2, 1)).toMatchObject({
      indexed: countOf(1, 2),
      duplicates: countOf(0, 1),
    });
    expect(storedIds(sink)).toHaveLength(countOf(0, 2));
    expect(lines(sink.path).filter((l) => l === line.slice(0, 40))).toHaveLength(1);
  });
});

describe("hourOf", () => {
  it("keys a document by the UTC hour of its event time, one timed by collection by its _id", () => {
    expect(hourOf("a", { "@timestamp": "2026-05-01T10:59:59.999Z" })).toBe("2026-05-01T10");
    const collected = mapper.mapValue({ id: "x" }, new Date(START));
    expect(hourOf(collected.id, collected.document)).toMatch(/^untimed-\d+$/);
    const again = mapper.mapValue({ id: "x" }, new Date(START + HOUR));
    expect(hourOf(again.id, again.document)).toBe(hourOf(collected.id, collected.document));
  });
});
