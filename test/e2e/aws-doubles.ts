import { InvokeCommand, type InvokeCommandOutput, type LambdaClient } from "@aws-sdk/client-lambda";
import type { MapperResponse } from "../../functions/mapper/handler.ts";
import { raceAbort } from "../../lib/jumpcloud/http.ts";
import { answeringSecrets } from "../helpers/aws.ts";

/** Lambda refuses synchronous payloads over 6 MB (RequestEntityTooLargeException). */
export const LAMBDA_PAYLOAD_LIMIT = 6_291_456;

/**
 * A Secrets Manager double whose values can change between reads (rotation). A real SDK client,
 * since Powertools checks that it is one; every read is recorded.
 */
export function mutableSecrets(initial: Record<string, string>) {
  const values = new Map(Object.entries(initial));
  const { client, reads } = answeringSecrets((secretId) => {
    const value = values.get(secretId);
    if (value === undefined)
      throw Object.assign(new Error("no such secret"), { name: "ResourceNotFoundException" });
    return value;
  });
  return { client, reads, set: (arn: string, value: string) => values.set(arn, value) };
}

/** What the fake Lambda service does to one invocation of the mapper instead of answering normally. */
export type MapperFault =
  /** The function ran (and indexed), then Lambda reported a timeout. */
  | "timeout-after-index"
  /** The function failed before doing anything (a crash at init, out of memory). */
  | "crash-before"
  /** Lambda throttled the invoke (TooManyRequestsException): the function never ran. */
  | "throttled"
  /** A broken mapper that acknowledges every event and stores none: the checks must catch it. */
  | "lie";

/** One invocation of the mapper, as the Lambda service saw it. */
export interface MapperInvocation {
  n: number;
  events: unknown[];
  fault: MapperFault | undefined;
  result: MapperResponse | undefined;
  error: string | undefined;
}

/** The caller's side of an invocation: which collector instance sends it, and what it was told. */
export interface InvokeCaller {
  /** Called as each invocation is sent, with its number (the caller may die then). */
  beforeInvoke(n: number): void;
  /** The caller got an acknowledgement for these events. */
  acknowledged(events: unknown[]): void;
  /** Whether the caller died while waiting (its answer never arrives). */
  isDead(): boolean;
}

/** A mapper request as it travels: the events inline, or where in S3 they wait (a claim check). */
export type MapperPayload = {
  events?: unknown[];
  eventsRef?: { bucket: string; key: string };
  context?: unknown;
};

type MapperHandler = (request: never, lambda: { getRemainingTimeInMillis(): number }) => Promise<unknown>;

const sdkError = (name: string, message: string, status: number) =>
  Object.assign(new Error(message), { name, $fault: "client", $metadata: { httpStatusCode: status } });

/**
 * The mapper function as the Lambda service runs it: payloads JSON round-tripped, the 6 MB limit,
 * function errors in the payload, faults by invocation number; a function keeps running after
 * its caller gave up (`settle` waits for those).
 */
export class MapperFunction {
  readonly invocations: MapperInvocation[] = [];
  private readonly faults = new Map<number, MapperFault>();
  private readonly running = new Set<Promise<unknown>>();
  private readonly gates = new Map<number, Promise<void>>();
  private readonly waiters: { n: number; resolve: () => void }[] = [];
  /** Runs before each invocation with its number (scenarios inject faults or rotate keys here). */
  onInvoke: (n: number) => void = () => {};

  constructor(
    private readonly name: string,
    private readonly handler: MapperHandler,
    /** The events of a request that names a claim check (read before the mapper deletes it). */
    private readonly claimed: (ref: { bucket: string; key: string }) => unknown[],
    private readonly timeoutMs = 60_000,
  ) {}

  /** Serves `fault` to invocation number `n` (1-based, counted across every caller). */
  failAt(n: number, fault: MapperFault): void {
    this.faults.set(n, fault);
  }

  /** Invocation `n` waits, once sent, until the returned function is called. */
  holdAt(n: number): () => void {
    let open = () => {};
    this.gates.set(n, new Promise<void>((resolve) => (open = resolve)));
    return () => open();
  }

  /** Resolves once `n` invocations were sent. */
  reached(n: number): Promise<void> {
    if (this.invocations.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  /** A LambdaClient for one caller (one collector instance). */
  client(caller: InvokeCaller): LambdaClient {
    const send = (command: unknown, options?: { abortSignal?: AbortSignal }) =>
      this.invoke(command, caller, options?.abortSignal);
    return { send } as unknown as LambdaClient;
  }

  /** Waits for invocations still running after their caller left. */
  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private async invoke(command: unknown, caller: InvokeCaller, signal?: AbortSignal) {
    if (!(command instanceof InvokeCommand) || command.input.FunctionName !== this.name)
      throw sdkError("ResourceNotFoundException", "Function not found", 404);
    const payload = command.input.Payload as Uint8Array;
    if (payload.byteLength > LAMBDA_PAYLOAD_LIMIT)
      throw sdkError(
        "RequestEntityTooLargeException",
        `Request must be smaller than ${LAMBDA_PAYLOAD_LIMIT} bytes for the InvokeFunction operation`,
        413,
      );
    if (caller.isDead()) throw sdkError("AbortError", "the caller is gone", 0);
    const n = this.invocations.length + 1;
    // The caller may die now, with this invocation sent: the function runs, nobody hears back.
    caller.beforeInvoke(n);
    this.onInvoke(n);
    const request = JSON.parse(Buffer.from(payload).toString("utf8")) as MapperPayload;
    const events = request.eventsRef ? this.claimed(request.eventsRef) : (request.events ?? []);
    const record: MapperInvocation = { n, events, fault: this.faults.get(n), ...NONE };
    this.invocations.push(record);
    for (const w of this.waiters.filter((w) => w.n <= n)) w.resolve();
    if (record.fault === "throttled") throw sdkError("TooManyRequestsException", "Rate exceeded", 429);
    const run = this.run(record, request);
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    const output = await raceAbort(run, signal);
    if (caller.isDead()) throw sdkError("AbortError", "the caller is gone", 0);
    if (output.FunctionError === undefined) caller.acknowledged(events);
    return output;
  }

  private async run(record: MapperInvocation, request: MapperPayload): Promise<InvokeCommandOutput> {
    await this.gates.get(record.n);
    if (record.fault === "crash-before") return functionError(record, "Runtime.ExitError", "exited");
    if (record.fault === "lie") {
      const received = record.events.length;
      record.result = {
        received,
        indexed: received,
        duplicates: 0,
        deadLettered: 0,
        pipelineErrors: 0,
        withoutGeo: 0,
        withoutPipeline: 0,
      };
      return { StatusCode: 200, Payload: encode(record.result), $metadata: {} } as InvokeCommandOutput;
    }
    try {
      const result = await this.handler(request as never, { getRemainingTimeInMillis: () => this.timeoutMs });
      // What travels back is JSON, as from a real invoke.
      record.result = JSON.parse(JSON.stringify(result)) as MapperResponse;
    } catch (error) {
      return functionError(record, (error as Error).name, (error as Error).message);
    }
    if (record.fault === "timeout-after-index")
      return functionError(record, "Sandbox.Timedout", "Task timed out after 60.00 seconds");
    return { StatusCode: 200, Payload: encode(record.result), $metadata: {} } as InvokeCommandOutput;
  }
}

const NONE = { result: undefined, error: undefined } as const;

function functionError(record: MapperInvocation, errorType: string, errorMessage: string) {
  record.error = `${errorType}: ${errorMessage}`;
  return {
    StatusCode: 200,
    FunctionError: "Unhandled",
    Payload: encode({ errorType, errorMessage }),
    $metadata: {},
  } as InvokeCommandOutput;
}

function encode(value: unknown): InvokeCommandOutput["Payload"] {
  return new Uint8Array(Buffer.from(JSON.stringify(value))) as InvokeCommandOutput["Payload"];
}
