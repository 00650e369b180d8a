import { InvokeCommand, type InvokeCommandOutput, type LambdaClient } from "@aws-sdk/client-lambda";
import { MapperInvocationError } from "../errors.ts";
import { type BatchContext, type IndexEventsDeps, indexEvents } from "../pipeline/index-events.ts";

/** The mapper's acknowledgement of a batch; the counts add up to `received`. */
export interface DeliveryResult {
  received: number;
  indexed: number;
  duplicates: number;
  deadLettered: number;
}

/** Port: hands a page of raw events to the mapper and waits for its acknowledgement. */
export interface BatchDelivery {
  deliver(events: readonly unknown[], context: BatchContext, signal?: AbortSignal): Promise<DeliveryResult>;
}

/** Adds acknowledgements up. */
export function addResults(a: DeliveryResult, b: DeliveryResult): DeliveryResult {
  return {
    received: a.received + b.received,
    indexed: a.indexed + b.indexed,
    duplicates: a.duplicates + b.duplicates,
    deadLettered: a.deadLettered + b.deadLettered,
  };
}

export const NOTHING: DeliveryResult = { received: 0, indexed: 0, duplicates: 0, deadLettered: 0 };

/** Checks an acknowledgement: every event of the batch accounted for, exactly. */
export function checkAcknowledgement(result: unknown, sent: number): DeliveryResult {
  const r = result as Partial<DeliveryResult> | null;
  const fields = ["received", "indexed", "duplicates", "deadLettered"] as const;
  if (!r || !fields.every((f) => Number.isInteger(r[f]) && (r[f] as number) >= 0)) {
    throw new MapperInvocationError(
      `the mapper answered without counts: ${JSON.stringify(result)?.slice(0, 200)}`,
    );
  }
  const ack = r as DeliveryResult;
  if (ack.received !== sent || ack.indexed + ack.duplicates + ack.deadLettered !== sent) {
    throw new MapperInvocationError(`the mapper acknowledged ${JSON.stringify(ack)} for ${sent} events`);
  }
  return ack;
}

/** The mapper in the same process (the CLI): the same code the mapper Lambda runs. */
export class InProcessDelivery implements BatchDelivery {
  constructor(private readonly deps: IndexEventsDeps) {}

  async deliver(
    events: readonly unknown[],
    context: BatchContext,
    signal?: AbortSignal,
  ): Promise<DeliveryResult> {
    const { received, indexed, duplicates, deadLettered } = await indexEvents(
      events,
      this.deps,
      context,
      signal,
    );
    return checkAcknowledgement({ received, indexed, duplicates, deadLettered }, events.length);
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

  async deliver(
    events: readonly unknown[],
    context: BatchContext,
    signal?: AbortSignal,
  ): Promise<DeliveryResult> {
    const chunks = chunkBySize(events, this.options.maxPayloadBytes ?? 5_000_000);
    const results: DeliveryResult[] = [];
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) {
        const chunk = chunks[next++] as unknown[];
        results.push(await this.invoke(chunk, context, signal));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency ?? 4, chunks.length) }, worker));
    return results.reduce(addResults, NOTHING);
  }

  private async invoke(
    events: unknown[],
    context: BatchContext,
    signal?: AbortSignal,
  ): Promise<DeliveryResult> {
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
    return checkAcknowledgement(parsed, events.length);
  }
}
