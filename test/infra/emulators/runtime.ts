import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A function as deployed: its unpacked code, handler, resolved environment and limits. */
export interface LocalFunction {
  name: string;
  /** The unpacked asset (Lambda's /var/task), outside the repository. */
  dir: string;
  /** `file.export`, as in the template (`index.handler`). */
  handler: string;
  environment: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
}

/** A failed invocation, in the shape Lambda's Node runtime answers it. */
export interface LambdaError {
  errorType: string;
  errorMessage: string;
  trace: string[];
}

/** One invocation: the handler's result or its error, what it logged, and the Node that ran it. */
export interface Invocation {
  requestId: string;
  result?: unknown;
  error?: LambdaError;
  logs: string;
  /** `process.version` of the process that ran the bundle. */
  node?: string;
}

// Lambda's Node runtime in miniature (CommonJS, like the bundles): load the handler as the runtime
// does, call it once with the event from stdin, write the outcome to a file (stdout is the log).
const RUNNER = String.raw`"use strict";
const { readFileSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");
const [dir, handlerName, contextJson, resultPath] = process.argv.slice(2);
const report = (outcome) => {
  writeFileSync(resultPath, JSON.stringify({ ...outcome, node: process.version }));
  process.exit(0);
};
const failure = (error, type) =>
  error instanceof Error
    ? { errorType: type ?? error.name, errorMessage: error.message, trace: String(error.stack).split("\n") }
    : { errorType: typeof error, errorMessage: String(error), trace: [] };
const dot = handlerName.lastIndexOf(".");
let handler;
try {
  handler = require(join(dir, handlerName.slice(0, dot)))[handlerName.slice(dot + 1)];
} catch (error) {
  report({ error: failure(error, "Runtime.ImportModuleError") });
}
if (typeof handler !== "function") {
  const errorMessage = handlerName + " is undefined or not exported";
  report({ error: { errorType: "Runtime.HandlerNotFound", errorMessage, trace: [] } });
}
const base = JSON.parse(contextJson);
const context = {
  ...base,
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => Math.max(0, base.deadlineMs - Date.now()),
};
Promise.resolve()
  .then(() => handler(JSON.parse(readFileSync(0, "utf8")), context))
  .then((result) => report({ result: result === undefined ? null : result }), (error) => report({ error: failure(error) }));
`;

/**
 * Runs bundles as Lambda would, each invocation in a fresh Node process: the function's own
 * environment plus what the runtime sets (region, credentials, function name), and the AWS SDK
 * on NODE_PATH as the runtime offers it. Our bundles carry their own SDK (infra/bundling.ts) and
 * never reach for this one; it is offered only so the sandbox matches Lambda's.
 */
export class LambdaRuntime {
  private readonly runner: string;
  private readonly nodePath: string;
  private readonly running = new Set<ChildProcess>();

  /** `sdkFrom`: a node_modules holding `@aws-sdk`; `sandbox`: variables every function gets. */
  constructor(
    private readonly root: string,
    sdkFrom: string,
    private readonly sandbox: Record<string, string>,
  ) {
    this.runner = join(root, "runtime", "runner.cjs");
    this.nodePath = join(root, "runtime", "node_modules");
    // Only the SDK is offered, so a dependency the bundle forgot fails here as it would in Lambda.
    mkdirSync(this.nodePath, { recursive: true });
    writeFileSync(this.runner, RUNNER);
    symlinkSync(join(sdkFrom, "@aws-sdk"), join(this.nodePath, "@aws-sdk"), "dir");
  }

  /** Invokes `fn` with `event` and waits for its outcome (killed at the function's timeout). */
  async invoke(fn: LocalFunction, event: unknown): Promise<Invocation> {
    const requestId = randomUUID();
    const resultPath = join(this.root, "runtime", `${requestId}.json`);
    const child = this.spawn(fn, requestId, resultPath);
    let logs = "";
    for (const stream of [child.stdout, child.stderr])
      stream.setEncoding("utf8").on("data", (text: string) => (logs += text));
    // A process that dies before reading its event must not fail this one with EPIPE.
    child.stdin.on("error", () => {});
    child.stdin.end(JSON.stringify(event ?? {}));
    const [code, signal] = (await once(child, "close")) as [number | null, string | null];
    this.running.delete(child);
    if (existsSync(resultPath)) return { requestId, logs, ...JSON.parse(readFileSync(resultPath, "utf8")) };
    return { requestId, logs, error: this.crash(fn, code, signal) };
  }

  /** Kills invocations still running (a failed test must not leave processes behind). */
  stop(): void {
    for (const child of this.running) child.kill("SIGKILL");
    this.running.clear();
  }

  private spawn(fn: LocalFunction, requestId: string, resultPath: string) {
    const args = [this.runner, fn.dir, fn.handler, this.context(fn, requestId), resultPath];
    const child = spawn(process.execPath, args, {
      cwd: fn.dir,
      env: this.environment(fn),
      stdio: ["pipe", "pipe", "pipe"],
      timeout: fn.timeoutSeconds * 1000,
      killSignal: "SIGKILL",
    });
    this.running.add(child);
    return child;
  }

  private crash(fn: LocalFunction, code: number | null, signal: string | null): LambdaError {
    if (signal === "SIGKILL")
      return {
        errorType: "Sandbox.Timedout",
        errorMessage: `Task timed out after ${fn.timeoutSeconds}.00 seconds`,
        trace: [],
      };
    return {
      errorType: "Runtime.ExitError",
      errorMessage: `Runtime exited with error: ${signal ?? `exit status ${code}`}`,
      trace: [],
    };
  }

  private context(fn: LocalFunction, requestId: string): string {
    return JSON.stringify({
      awsRequestId: requestId,
      functionName: fn.name,
      functionVersion: "$LATEST",
      invokedFunctionArn: `arn:aws:lambda:${this.sandbox.AWS_REGION}:123456789012:function:${fn.name}`,
      memoryLimitInMB: String(fn.memoryMb),
      logGroupName: `/aws/lambda/${fn.name}`,
      logStreamName: `local/[$LATEST]${requestId.replaceAll("-", "")}`,
      deadlineMs: Date.now() + fn.timeoutSeconds * 1000,
    });
  }

  // Nothing from this process's environment: no real credential or profile can leak in.
  private environment(fn: LocalFunction): Record<string, string> {
    return {
      PATH: "/usr/local/bin:/usr/bin:/bin",
      ...fn.environment,
      ...this.sandbox,
      NODE_PATH: this.nodePath,
      TZ: "UTC",
      LAMBDA_TASK_ROOT: fn.dir,
      _HANDLER: fn.handler,
      AWS_EXECUTION_ENV: "AWS_Lambda_nodejs24.x",
      AWS_LAMBDA_FUNCTION_NAME: fn.name,
      AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
    };
  }
}
