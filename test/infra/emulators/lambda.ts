import type { IncomingMessage } from "node:http";
import type { Authorize, Caller, Callers } from "./access.ts";
import { LoopbackServer, type Reply } from "./http.ts";
import type { Invocation, LambdaRuntime, LocalFunction } from "./runtime.ts";

/** An Invoke call as the emulation received it, with its outcome once known. */
export interface InvokeRecord {
  functionName: string;
  invocationType: string;
  payload: unknown;
  /** Who invoked: an operator, a role's session, or a service (the scheduler, CloudFormation). */
  caller: string;
  outcome?: Invocation;
}

/** What Lambda does with a failed or expired asynchronous event (the function's EventInvokeConfig). */
export interface AsyncConfig {
  maximumRetryAttempts: number;
  maximumEventAgeSeconds: number;
  /** The on-failure destination's ARN; it is sent with the function's own role. */
  onFailure?: string;
}

/** Sends an on-failure record to a destination as `caller` (an SQS queue here); a denial throws. */
export type DestinationSender = (caller: Caller, destination: string, record: unknown) => void;

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
const GET_FUNCTION_PATH = /^\/2015-03-31\/functions\/([^/]+)$/;
const JSON_TYPE = { "content-type": "application/json" };

// `FunctionName` may be a name, a partial or a full ARN (with a qualifier).
const shortName = (id: string) =>
  (id.includes(":function:") ? (id.split(":function:")[1] ?? id) : id).split(":")[0] ?? id;

/** A RequestResponse outcome as Lambda answers it: 200 either way, a handler error flagged in a header. */
function answer(outcome: Invocation): Reply {
  const headers = { ...JSON_TYPE, "x-amz-executed-version": "$LATEST" };
  if (outcome.error)
    return {
      status: 200,
      body: JSON.stringify(outcome.error),
      headers: { ...headers, "x-amz-function-error": "Unhandled" },
    };
  return { status: 200, body: JSON.stringify(outcome.result ?? null), headers };
}

function fail(status: number, type: string, message: string, extra: object = {}): Reply {
  const headers = { ...JSON_TYPE, "x-amzn-errortype": type };
  return { status, body: JSON.stringify({ Type: "User", message, ...extra }), headers };
}

interface Queued {
  record: InvokeRecord;
  fn: LocalFunction;
  at: number;
  attempts: number;
  /** Ends the event's wait in `idle()`: when it ran to the end, or was given up. */
  done: () => void;
}

// Lambda's payload quotas: 6 MB each way for RequestResponse, 1 MB for an Event.
const SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;
const ASYNC_PAYLOAD_BYTES = 1024 * 1024;

/** Why Lambda refuses an invocation before it runs, if it does. */
type Refusal = { status: number; type: string; message: string; reason?: string };

/**
 * Lambda's Invoke API on loopback, as a function's role meets it: each call checked against the
 * caller's identity policies (`lambda:InvokeFunction` on the function's ARN) and the payload
 * quotas. RequestResponse answers the result, or a handler error as 200 with
 * `X-Amz-Function-Error: Unhandled`, or 429 when the function's reserved concurrency is used up;
 * Event answers 202 and queues the event, run when a slot is free (a throttled event waits, as
 * Lambda retries it), retried after a failure as the EventInvokeConfig says, and sent to its
 * on-failure destination with the function's role.
 */
export class LambdaEmulator {
  readonly invocations: InvokeRecord[] = [];
  /** Records sent to on-failure destinations, with why. */
  readonly failures: {
    functionName: string;
    condition: string;
    payload: unknown;
    /** Why the record did not reach the destination (Lambda drops it then, and counts it). */
    destinationError?: string;
  }[] = [];
  /** The most invocations of each function that ran at once. */
  readonly peakConcurrency = new Map<string, number>();
  /** RequestResponse calls refused with 429 (reserved concurrency used up), by function. */
  readonly throttles = new Map<string, number>();
  private readonly running = new Map<string, number>();
  private readonly queue: Queued[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly server = new LoopbackServer((req, body) => this.handle(req, body));
  private runtime: LambdaRuntime | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly functions: ReadonlyMap<string, LocalFunction>,
    private readonly callers: Callers,
    private readonly authorize: Authorize,
    private readonly arnOf: (fn: LocalFunction) => string,
    private readonly asyncConfig: (fn: LocalFunction) => AsyncConfig,
    private readonly sendToDestination: DestinationSender,
  ) {}

  /** The runtime is made after the endpoints are known (its environment names them). */
  attach(runtime: LambdaRuntime): void {
    this.runtime = runtime;
  }

  start(): Promise<string> {
    return this.server.start();
  }

  /**
   * Waits until no invocation runs or waits in the queue: one whose caller gave up (an aborted
   * RequestResponse, an Event) goes on, as in Lambda, and could otherwise act in a later step.
   */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  async stop(): Promise<void> {
    await this.server.stop();
  }

  /** An asynchronous invocation by an AWS service (EventBridge Scheduler) once its role was checked. */
  enqueue(fn: LocalFunction, payload: unknown, caller: string): InvokeRecord {
    const record = this.record(fn.name, "Event", payload, caller);
    this.queueEvent(fn, record);
    return record;
  }

  /** A RequestResponse invocation by `caller` (already authorized), refused as any other would be. */
  invokeAs(fn: LocalFunction, payload: unknown, caller: string): Promise<Invocation> {
    const record = this.record(fn.name, "RequestResponse", payload, caller);
    const refused = this.refusal(fn, "RequestResponse", Buffer.byteLength(JSON.stringify(payload ?? {})));
    if (refused)
      return Promise.resolve({
        requestId: "",
        logs: "",
        error: { errorType: refused.type, errorMessage: refused.message, trace: [] },
      });
    return this.runNow(fn, record);
  }

  private async handle(req: IncomingMessage, body: Buffer): Promise<Reply> {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const invoke = req.method === "POST" ? INVOKE_PATH.exec(path) : null;
    const get = req.method === "GET" ? GET_FUNCTION_PATH.exec(path) : null;
    const match = invoke ?? get;
    if (!match) return fail(404, "UnknownOperationException", `${req.method} ${path} is not emulated`);
    const caller = this.callers.of(req);
    if (!caller)
      return fail(
        403,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
      );
    const functionName = decodeURIComponent(match[1] as string);
    const fn = this.functions.get(shortName(functionName));
    const qualifier = new URL(req.url ?? "/", "http://x").searchParams.get("Qualifier");
    const arn = fn
      ? `${this.arnOf(fn)}${qualifier ? `:${qualifier}` : ""}`
      : `arn:aws:lambda:*:*:function:${functionName}`;
    const denied = this.authorize(caller, {
      action: invoke ? "lambda:InvokeFunction" : "lambda:GetFunction",
      resources: [arn],
    });
    if (denied) return fail(403, "AccessDeniedException", denied);
    if (!fn || !this.runtime)
      return fail(404, "ResourceNotFoundException", `Function not found: ${functionName}`);
    if (get) {
      const configuration = { FunctionName: fn.name, FunctionArn: this.arnOf(fn), State: "Active" };
      return { status: 200, body: JSON.stringify({ Configuration: configuration }), headers: JSON_TYPE };
    }
    const type = String(req.headers["x-amz-invocation-type"] ?? "RequestResponse");
    const refused = this.refusal(fn, type, body.length);
    if (refused)
      return fail(
        refused.status,
        refused.type,
        refused.message,
        refused.reason ? { Reason: refused.reason } : {},
      );
    const payload = body.length > 0 ? JSON.parse(body.toString("utf8")) : {};
    const record = this.record(
      functionName,
      type,
      payload,
      caller.kind === "operator" ? "operator" : caller.session,
    );
    if (type === "Event") {
      this.queueEvent(fn, record);
      return { status: 202, headers: JSON_TYPE };
    }
    return answer(await this.runNow(fn, record));
  }

  private record(
    functionName: string,
    invocationType: string,
    payload: unknown,
    caller: string,
  ): InvokeRecord {
    const record: InvokeRecord = { functionName, invocationType, payload, caller };
    this.invocations.push(record);
    return record;
  }

  // What Lambda refuses before running anything: a payload over its quota, a RequestResponse
  // while the reserved concurrency is used up (an Event waits in the queue instead).
  private refusal(fn: LocalFunction, type: string, bytes: number): Refusal | undefined {
    const limit = type === "Event" ? ASYNC_PAYLOAD_BYTES : SYNC_PAYLOAD_BYTES;
    if (bytes > limit)
      return {
        status: 413,
        type: "RequestTooLargeException",
        message: `Request must be smaller than ${limit} bytes for the ${type === "Event" ? "InvokeAsync" : "Invoke"} operation`,
      };
    if (type === "Event" || this.hasSlot(fn)) return undefined;
    this.throttles.set(fn.name, (this.throttles.get(fn.name) ?? 0) + 1);
    return {
      status: 429,
      type: "TooManyRequestsException",
      message: "Rate Exceeded.",
      reason: "ReservedFunctionConcurrentInvocationLimitExceeded",
    };
  }

  private runNow(fn: LocalFunction, record: InvokeRecord): Promise<Invocation> {
    const run = this.run(fn, record);
    this.track(run);
    return run;
  }

  private queueEvent(fn: LocalFunction, record: InvokeRecord): void {
    let done = () => {};
    this.track(new Promise<void>((resolve) => (done = resolve)));
    this.queue.push({ record, fn, at: Date.now(), attempts: 0, done });
    this.dispatch();
  }

  private track(work: Promise<unknown>): void {
    this.inFlight.add(work);
    const forget = () => this.inFlight.delete(work);
    work.then(forget, forget);
  }

  private hasSlot(fn: LocalFunction): boolean {
    return fn.reservedConcurrency === undefined || (this.running.get(fn.name) ?? 0) < fn.reservedConcurrency;
  }

  private async run(fn: LocalFunction, record: InvokeRecord): Promise<Invocation> {
    const now = (this.running.get(fn.name) ?? 0) + 1;
    this.running.set(fn.name, now);
    this.peakConcurrency.set(fn.name, Math.max(now, this.peakConcurrency.get(fn.name) ?? 0));
    try {
      const outcome = await (this.runtime as LambdaRuntime).invoke(fn, record.payload);
      record.outcome = tooLarge(outcome);
      return record.outcome;
    } finally {
      this.running.set(fn.name, (this.running.get(fn.name) ?? 1) - 1);
      // A slot came free: a queued event may run now.
      setImmediate(() => this.dispatch());
    }
  }

  // Lambda's asynchronous queue: events in order, each run when its function has a slot.
  private dispatch(): void {
    for (let i = 0; i < this.queue.length; ) {
      const event = this.queue[i] as Queued;
      const config = this.asyncConfig(event.fn);
      if (Date.now() - event.at > config.maximumEventAgeSeconds * 1000) {
        this.queue.splice(i, 1);
        this.giveUp(event, "EventAgeExceeded", undefined);
        continue;
      }
      if (!this.hasSlot(event.fn)) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      event.attempts++;
      this.run(event.fn, event.record).then((outcome) => {
        if (!outcome.error) return event.done();
        if (event.attempts <= config.maximumRetryAttempts) {
          this.queue.push(event);
          return this.dispatch();
        }
        this.giveUp(event, "RetriesExhausted", outcome);
      });
    }
    // Events waiting for a slot are looked at again when one frees, or when they may expire.
    if (this.queue.length > 0 && !this.timer)
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.dispatch();
      }, 1_000).unref();
  }

  private giveUp(event: Queued, condition: string, outcome: Invocation | undefined): void {
    const { fn, record } = event;
    const failure: LambdaEmulator["failures"][number] = {
      functionName: fn.name,
      condition,
      payload: record.payload,
    };
    this.failures.push(failure);
    const destination = this.asyncConfig(fn).onFailure;
    try {
      if (destination)
        this.sendToDestination({ kind: "role", roleId: fn.roleId, session: fn.name }, destination, {
          version: "1.0",
          timestamp: new Date().toISOString(),
          requestContext: {
            requestId: outcome?.requestId,
            functionArn: `${this.arnOf(fn)}:$LATEST`,
            condition,
            approximateInvokeCount: event.attempts,
          },
          requestPayload: record.payload,
          responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
          responsePayload: outcome?.error,
        });
    } catch (error) {
      failure.destinationError = (error as Error).message;
    }
    event.done();
  }
}

// A result over the 6 MB response quota reaches no caller: Lambda answers an error instead.
function tooLarge(outcome: Invocation): Invocation {
  if (outcome.error || Buffer.byteLength(JSON.stringify(outcome.result ?? null)) <= SYNC_PAYLOAD_BYTES)
    return outcome;
  const { result: _, ...rest } = outcome;
  return {
    ...rest,
    error: {
      errorType: "Function.ResponseSizeTooLarge",
      errorMessage: "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
      trace: [],
    },
  };
}
