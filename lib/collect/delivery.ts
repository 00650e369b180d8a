import { InvokeCommand, type InvokeCommandOutput, type LambdaClient } from "@aws-sdk/client-lambda";
import pLimit from "p-limit";
import { addCounts, type Counts, checkCounts, NO_COUNTS } from "../counts.ts";
import { MapperInvocationError } from "../errors.ts";
import { jsonText } from "../json-text.ts";
import { type BatchContext, type IndexEventsDeps, indexEvents } from "../pipeline/index-events.ts";

/** Port: hands a page of raw events to the mapper and waits for its acknowledgement. */
export interface BatchDelivery {
  deliver(events: readonly unknown[], context: BatchContext, signal?: AbortSignal): Promise<Counts>;
}

/** The mapper in the same process (the CLI): the same code the mapper Lambda runs. */
export class InProcessDelivery implements BatchDelivery {
  constructor(private readonly deps: IndexEventsDeps) {}

  deliver(events: readonly unknown[], context: BatchContext, signal?: AbortSignal): Promise<Counts> {
    // indexEvents checks its own counts.
    return indexEvents(events, this.deps, context, signal);
  }
}

/** Where a batch too large for one Lambda invocation waits for the mapper: a claim check. */
export interface ClaimCheckStore {
  /** Stores the JSON text of a batch; answers where the mapper finds it. */
  put(text: string): Promise<ClaimRef>;
}

/** A stored batch, as the mapper request names it. */
export interface ClaimRef {
  bucket: string;
  key: string;
}

/**
 * Each event's JSON text (serialised once, whatever its depth), grouped so that a group's texts
 * plus `overhead` stay under `maxBytes`; an event larger than that travels alone.
 */
export function chunkBySize(events: readonly unknown[], maxBytes: number, overhead = 200): string[][] {
  const chunks: string[][] = [];
  let chunk: string[] = [];
  let size = overhead;
  for (const event of events) {
    const text = jsonText(event);
    const bytes = Buffer.byteLength(text) + 1;
    if (chunk.length > 0 && size + bytes > maxBytes) {
      chunks.push(chunk);
      chunk = [];
      size = overhead;
    }
    chunk.push(text);
    size += bytes;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** Settings of the Lambda delivery. */
export interface LambdaDeliveryOptions {
  /** Largest request payload (default 5 MB, under Lambda's 6 MB limit for synchronous invokes). */
  maxPayloadBytes?: number;
  /** Invocations in flight per page (default 4). */
  concurrency?: number;
  /** Where a single event larger than the payload limit goes instead (S3 in the stack). */
  claimChecks?: ClaimCheckStore;
}

/**
 * The mapper Lambda, invoked synchronously (RequestResponse): payloads under Lambda's 6 MB
 * request limit (5 MB by default), a bounded number in flight; an event larger than that is put
 * in S3 and the mapper given its address. A function error, or counts that do not add up, means
 * the batch is not acknowledged.
 */
export class LambdaDelivery implements BatchDelivery {
  constructor(
    private readonly lambda: LambdaClient,
    private readonly functionName: string,
    private readonly options: LambdaDeliveryOptions = {},
  ) {}

  async deliver(events: readonly unknown[], context: BatchContext, signal?: AbortSignal): Promise<Counts> {
    const maxBytes = this.options.maxPayloadBytes ?? 5_000_000;
    const contextText = JSON.stringify(context);
    // The wrapper and the context travel with every chunk: a chunk is sized to fit beside them.
    const chunks = chunkBySize(events, maxBytes, Buffer.byteLength(contextText) + 64);
    const limit = pLimit(this.options.concurrency ?? 4);
    const results = await limit.map(chunks, async (texts) => {
      const inline = `{"events":[${texts.join(",")}],"context":${contextText}}`;
      const payload =
        Buffer.byteLength(inline) <= maxBytes
          ? inline
          : `{"eventsRef":${JSON.stringify(await this.claim(texts))},"context":${contextText}}`;
      return this.invoke(payload, texts.length, signal);
    });
    return results.reduce(addCounts, NO_COUNTS);
  }

  // Lambda refuses a request over 6 MB: the batch waits in S3 and the mapper reads it there.
  private async claim(texts: string[]): Promise<ClaimRef> {
    const { claimChecks } = this.options;
    const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t), 0);
    if (!claimChecks) {
      throw new MapperInvocationError(
        `${texts.length === 1 ? "an event" : `a batch of ${texts.length} events`} of ${bytes} bytes is over the mapper's payload limit and no claim-check bucket is configured (CLAIM_CHECK_BUCKET)`,
      );
    }
    return claimChecks.put(`[${texts.join(",")}]`);
  }

  private async invoke(payload: string, count: number, signal?: AbortSignal): Promise<Counts> {
    let response: InvokeCommandOutput;
    try {
      response = await this.lambda.send(
        new InvokeCommand({
          FunctionName: this.functionName,
          InvocationType: "RequestResponse",
          Payload: Buffer.from(payload),
        }),
        { abortSignal: signal },
      );
    } catch (cause) {
      throw new MapperInvocationError(`invoking ${this.functionName} failed: ${(cause as Error).message}`, {
        cause,
      });
    }
    const text = response.Payload ? Buffer.from(response.Payload).toString("utf8") : "";
    if (response.FunctionError) {
      let message = text.slice(0, 300);
      try {
        const parsed = JSON.parse(text) as { errorType?: string; errorMessage?: string };
        message = `${parsed.errorType ?? "Error"}: ${parsed.errorMessage ?? ""}`;
      } catch {
        // not JSON: keep the text
      }
      throw new MapperInvocationError(`${this.functionName} failed (${response.FunctionError}): ${message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new MapperInvocationError(`${this.functionName} answered something that is not JSON`);
    }
    return checkCounts(parsed, count);
  }
}
