import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LambdaClient } from "@aws-sdk/client-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeMapperHandler } from "../../functions/mapper/handler.ts";
import { chunkBySize, LambdaDelivery } from "../../lib/collect/delivery.ts";
import { NO_COUNTS } from "../../lib/counts.ts";
import { EcsMapper } from "../../lib/ecs/mapper.ts";
import { FileDeadLetterSink } from "../../lib/elasticsearch/dead-letters.ts";
import { MapperInvocationError } from "../../lib/errors.ts";
import { silentLogger } from "../../lib/logger.ts";
import { ElasticsearchEmulator } from "../../simulators/elasticsearch/server.ts";
import { rawEvents, testClient, testSink } from "../helpers/elasticsearch.ts";

/** A Lambda client double answering with `answer(payload)`. */
function fakeLambda(
  answer: (payload: { events: unknown[] }) => { Payload?: unknown; FunctionError?: string },
) {
  const calls: { events: unknown[]; context: unknown }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const client = {
    send: async (command: { input: { Payload: Uint8Array; InvocationType: string } }) => {
      const payload = JSON.parse(Buffer.from(command.input.Payload).toString("utf8"));
      calls.push(payload);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      const out = answer(payload);
      return {
        ...out,
        Payload: out.Payload === undefined ? undefined : Buffer.from(JSON.stringify(out.Payload)),
      };
    },
  } as unknown as LambdaClient;
  return { client, calls, maxInFlight: () => maxInFlight };
}

const ack = (p: { events: unknown[] }) => ({
  Payload: {
    received: p.events.length,
    indexed: p.events.length,
    duplicates: 0,
    deadLettered: 0,
    pipelineErrors: 0,
    withoutGeo: 0,
    withoutPipeline: 0,
  },
});

describe("LambdaDelivery", () => {
  const events = Array.from({ length: 300 }, (_, i) => ({ id: `e${i}`, blob: "x".repeat(1_000) }));

  it("splits pages into payloads under the size limit, a bounded number in flight, and adds the answers up", async () => {
    const lambda = fakeLambda(ack);
    const delivery = new LambdaDelivery(lambda.client, "mapper", { maxPayloadBytes: 50_000, concurrency: 3 });
    const result = await delivery.deliver(events, { orgId: "o" });
    expect(result).toStrictEqual({
      received: 300,
      indexed: 300,
      duplicates: 0,
      deadLettered: 0,
      pipelineErrors: 0,
      withoutGeo: 0,
      withoutPipeline: 0,
    });
    expect(lambda.calls.length).toBeGreaterThan(5);
    for (const call of lambda.calls)
      expect(Buffer.byteLength(JSON.stringify(call))).toBeLessThanOrEqual(50_000);
    expect(lambda.calls.flatMap((c) => c.events)).toHaveLength(300);
    expect(lambda.maxInFlight()).toBeLessThanOrEqual(3);
    expect(lambda.calls[0]?.context).toStrictEqual({ orgId: "o" });
  });

  it("does not acknowledge on a function error", async () => {
    const lambda = fakeLambda(() => ({
      FunctionError: "Unhandled",
      Payload: { errorType: "ElasticsearchUnavailableError", errorMessage: "down" },
    }));
    const error = await new LambdaDelivery(lambda.client, "mapper")
      .deliver(events.slice(0, 2), {})
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MapperInvocationError);
    expect(String(error)).toMatch(/ElasticsearchUnavailableError: down/);
  });

  it("does not acknowledge counts that do not add up", async () => {
    const lambda = fakeLambda((p) => ({
      Payload: { ...NO_COUNTS, received: p.events.length },
    }));
    await expect(
      new LambdaDelivery(lambda.client, "mapper").deliver(events.slice(0, 2), {}),
    ).rejects.toBeInstanceOf(MapperInvocationError);
  });

  it("sizes chunks to fit beside the context: events under the limit never need a claim check", async () => {
    const lambda = fakeLambda(ack);
    const puts: string[] = [];
    const claimChecks = {
      put: async (text: string) => {
        puts.push(text);
        return { bucket: "b", key: "k" };
      },
    };
    const delivery = new LambdaDelivery(lambda.client, "mapper", { maxPayloadBytes: 10_000, claimChecks });
    const two = [
      { id: "a", blob: "x".repeat(4_875) },
      { id: "b", blob: "y".repeat(4_875) },
    ];
    const context = {
      orgId: "5f0c0c0c0c0c0c0c0c0c0c0c",
      window: { start: "2026-05-01T11:00:00.000Z", end: "2026-05-01T12:00:00.000Z" },
      deadline: "2026-05-01T12:14:00.000Z",
      rereadBefore: "2026-05-01T11:55:00.000Z",
    };
    expect((await delivery.deliver(two, context)).received).toBe(2);
    expect(puts).toStrictEqual([]);
    expect(lambda.calls).toHaveLength(2);
  });

  it("keeps an oversized event alone in its payload", () => {
    const chunks = chunkBySize([{ a: "x".repeat(100) }, { b: "y".repeat(10_000) }, { c: 1 }], 1_000);
    expect(chunks.map((c) => c.length)).toStrictEqual([1, 1, 1]);
  });
});

describe("LambdaDelivery to the real mapper handler", () => {
  const es = new ElasticsearchEmulator();
  const claims = new Map<string, string>();
  const store = {
    put: async (text: string) => {
      const ref = { bucket: "dead-letters", key: `collector/claims/${claims.size}.json` };
      claims.set(ref.key, text);
      return ref;
    },
    get: async (ref: { key: string }) => claims.get(ref.key) ?? "",
    delete: async (ref: { key: string }) => {
      claims.delete(ref.key);
    },
  };
  let lambda: LambdaClient;
  let puts = 0;

  beforeAll(async () => {
    const client = await testClient(await es.start());
    const handler = makeMapperHandler(async () => ({
      mapper: new EcsMapper(),
      sink: testSink(client),
      deadLetters: new FileDeadLetterSink(mkdtempSync(join(tmpdir(), "dl-"))),
      logger: silentLogger,
      claimChecks: store,
    }));
    // Like Lambda: the payload crosses as bytes (limit 6 MB), the answer too.
    lambda = {
      send: async (command: { input: { Payload: Uint8Array } }) => {
        expect(command.input.Payload.byteLength).toBeLessThanOrEqual(6 * 1024 * 1024);
        const request = JSON.parse(Buffer.from(command.input.Payload).toString("utf8"));
        if (request.eventsRef) puts++;
        return { Payload: Buffer.from(JSON.stringify(await handler(request))) };
      },
    } as unknown as LambdaClient;
  });
  afterAll(() => es.stop());

  it("sends an event over Lambda's payload limit through a claim check, and one nested 10 000 deep", async () => {
    const [small, big, deep] = rawEvents(3, 31) as Record<string, unknown>[];
    (big as Record<string, unknown>).resource = { id: "r1", name: "x".repeat(7_000_000) };
    let nested: unknown = { leaf: true };
    for (let i = 0; i < 10_000; i++) nested = { n: nested };
    (deep as Record<string, unknown>).resource = { id: "r2", extra: nested };
    const delivery = new LambdaDelivery(lambda, "mapper", { claimChecks: store });
    const counts = await delivery.deliver([small, big, deep], { orgId: "o" });
    expect(counts.received).toBe(3);
    expect(counts.indexed + counts.deadLettered + counts.duplicates).toBe(3);
    expect(puts).toBe(1);
    // The mapper deleted the claim check once its batch was stored.
    expect(claims.size).toBe(0);
    const stored = es
      .documents("logs-jumpcloud.events-default")
      .map((d) => (d._source.event as { id: string }).id);
    expect(stored).toEqual(expect.arrayContaining([small?.id, big?.id]));
  });

  it("refuses, unacknowledged, an event over the limit when no claim-check bucket is configured", async () => {
    const [big] = rawEvents(1, 32) as Record<string, unknown>[];
    (big as Record<string, unknown>).resource = { id: "r1", name: "x".repeat(7_000_000) };
    await expect(new LambdaDelivery(lambda, "mapper").deliver([big], {})).rejects.toThrow(
      /CLAIM_CHECK_BUCKET/,
    );
  });
});
