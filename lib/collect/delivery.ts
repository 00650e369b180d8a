import { InvokeCommand, type InvokeCommandOutput, type LambdaClient } from "@aws-sdk/client-lambda";
import pLimit from "p-limit";
import { addCounts, type Counts, checkCounts, NO_COUNTS } from "../counts.ts";
import { MapperInvocationError } from "../errors.ts";
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

/** Splits events into JSON payloads of at most `maxBytes` (one oversized event travels alone). */
export function chunkBySize(events: readonly unknown[], maxBytes: number, overhead = 200): unknown[][] {
  const chunks: unknown[][] = [];
  let chunk: unknown[] = [];
  let size = overhead;
  for (const event of events) {
    const bytes = Buffer.byteLength(JSON.stringify(event) ?? "null") + 1;
    if (chunk.length > 0 && size + bytes > maxBytes) {
      chunks.push(chunk);
      chunk = [];
      size = overhead;
    }
    chunk.push(event);
    size += bytes;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/**
 * The mapper Lambda, invoked synchronously (RequestResponse): payloads under Lambda's 6 MB
 * request limit (5 MB by default), a bounded number in flight. A function error, or counts that
 * do not add up, means the batch is not acknowledged.
 */
export class LambdaDelivery implements BatchDelivery {
  constructor(
    private readonly lambda: LambdaClient,
    private readonly functionName: string,
    private readonly options: { maxPayloadBytes?: number; concurrency?: number } = {},
  ) {}

  async deliver(events: readonly unknown[], context: BatchContext, signal?: AbortSignal): Promise<Counts> {
    const chunks = chunkBySize(events, this.options.maxPayloadBytes ?? 5_000_000);
    const limit = pLimit(this.options.concurrency ?? 4);
    const results = await limit.map(chunks, (chunk) => this.invoke(chunk, context, signal));
    return results.reduce(addCounts, NO_COUNTS);
  }

  private async invoke(events: unknown[], context: BatchContext, signal?: AbortSignal): Promise<Counts> {
    let response: InvokeCommandOutput;
    try {
      response = await this.lambda.send(
        new InvokeCommand({
          FunctionName: this.functionName,
          InvocationType: "RequestResponse",
          Payload: Buffer.from(JSON.stringify({ events, context })),
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
    return checkCounts(parsed, events.length);
  }
}
