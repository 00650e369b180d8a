import type { LambdaClient } from "@aws-sdk/client-lambda";
import { describe, expect, it } from "vitest";
import { chunkBySize, LambdaDelivery } from "../../lib/collect/delivery.ts";
import { MapperInvocationError } from "../../lib/errors.ts";

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
      Payload: { received: p.events.length, indexed: 0, duplicates: 0, deadLettered: 0, pipelineErrors: 0 },
    }));
    await expect(
      new LambdaDelivery(lambda.client, "mapper").deliver(events.slice(0, 2), {}),
    ).rejects.toBeInstanceOf(MapperInvocationError);
  });

  it("keeps an oversized event alone in its payload", () => {
    const chunks = chunkBySize([{ a: "x".repeat(100) }, { b: "y".repeat(10_000) }, { c: 1 }], 1_000);
    expect(chunks.map((c) => c.length)).toStrictEqual([1, 1, 1]);
  });
});
