import type { IncomingMessage } from "node:http";
import { LoopbackServer, type Reply } from "./http.ts";
import type { Invocation, LambdaRuntime, LocalFunction } from "./runtime.ts";

/** An Invoke call as the emulation received it, with its outcome once known. */
export interface InvokeRecord {
  functionName: string;
  invocationType: string;
  payload: unknown;
  outcome?: Invocation;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
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

function fail(status: number, type: string, message: string): Reply {
  const headers = { ...JSON_TYPE, "x-amzn-errortype": type };
  return { status, body: JSON.stringify({ Type: "User", message }), headers };
}

/**
 * Lambda's Invoke API on loopback: runs the named function in the runtime. RequestResponse
 * answers its result, or a handler error as 200 with `X-Amz-Function-Error: Unhandled`; Event
 * answers 202 at once and runs it in the background.
 */
export class LambdaEmulator {
  readonly invocations: InvokeRecord[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly server = new LoopbackServer((req, body) => this.handle(req, body));
  private runtime: LambdaRuntime | undefined;

  constructor(private readonly functions: ReadonlyMap<string, LocalFunction>) {}

  /** The runtime is made after the endpoints are known (its environment names them). */
  attach(runtime: LambdaRuntime): void {
    this.runtime = runtime;
  }

  start(): Promise<string> {
    return this.server.start();
  }

  /**
   * Waits until no invocation runs: one whose caller gave up (an aborted RequestResponse, an
   * Event) goes on, as in Lambda, and could otherwise act in a later step.
   */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  async stop(): Promise<void> {
    await this.server.stop();
  }

  private async handle(req: IncomingMessage, body: Buffer): Promise<Reply> {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const match = req.method === "POST" ? INVOKE_PATH.exec(path) : null;
    if (!match) return fail(404, "UnknownOperationException", `${req.method} ${path} is not emulated`);
    const functionName = decodeURIComponent(match[1] as string);
    const fn = this.functions.get(shortName(functionName));
    if (!fn || !this.runtime)
      return fail(404, "ResourceNotFoundException", `Function not found: ${functionName}`);
    const record: InvokeRecord = {
      functionName,
      invocationType: String(req.headers["x-amz-invocation-type"] ?? "RequestResponse"),
      payload: body.length > 0 ? JSON.parse(body.toString("utf8")) : {},
    };
    this.invocations.push(record);
    const run = this.runtime.invoke(fn, record.payload).then((outcome) => {
      record.outcome = outcome;
      return outcome;
    });
    this.inFlight.add(run);
    const forget = () => this.inFlight.delete(run);
    run.then(forget, forget);
    if (record.invocationType === "Event") return { status: 202, headers: JSON_TYPE };
    return answer(await run);
  }
}
