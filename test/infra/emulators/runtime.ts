import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A function as deployed: its unpacked code, handler, resolved environment and limits. */
export interface LocalFunction {
  name: string;
  /** The template's logical id. */
  logicalId: string;
  /** Its execution role's logical id. */
  roleId: string;
  /** The template's Runtime (`nodejs24.x`). */
  runtime: string;
  /** The unpacked asset (Lambda's /var/task), outside the repository. */
  dir: string;
  /** `file.export`, as in the template (`index.handler`). */
  handler: string;
  environment: Record<string, string>;
  /** What Lambda adds from the function's role: its session's credentials (each role its own key). */
  credentials: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
  /** The template's ReservedConcurrentExecutions, if any. */
  reservedConcurrency?: number;
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
  /** Whether a new execution environment was started for it (a cold start). */
  cold?: boolean;
  /** Which execution environment ran it (its process id). */
  environment?: number;
}

// Lambda's Node runtime in miniature (CommonJS, like the bundles): the init phase loads the handler
// once per environment; each invocation arrives over IPC and is answered over IPC, after a marker on
// stdout and stderr that ends its log. Module state survives between invocations, as in Lambda.
const RUNNER = String.raw`"use strict";
const { join } = require("node:path");
const [dir, handlerName] = process.argv.slice(2);
const failure = (error, type) =>
  error instanceof Error
    ? { errorType: type ?? error.name, errorMessage: error.message, trace: String(error.stack).split("\n") }
    : { errorType: typeof error, errorMessage: String(error), trace: [] };
const dot = handlerName.lastIndexOf(".");
let handler;
let initError;
try {
  handler = require(join(dir, handlerName.slice(0, dot)))[handlerName.slice(dot + 1)];
  if (typeof handler !== "function")
    initError = { errorType: "Runtime.HandlerNotFound", errorMessage: handlerName + " is undefined or not exported", trace: [] };
} catch (error) {
  initError = failure(error, "Runtime.ImportModuleError");
}
const end = (requestId) =>
  Promise.all([process.stdout, process.stderr].map((s) => new Promise((r) => s.write("\n@@end " + requestId + "\n", r))));
process.on("message", ({ requestId, event, context: base }) => {
  const context = {
    ...base,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, base.deadlineMs - Date.now()),
  };
  const answer = (outcome) =>
    end(requestId).then(() => process.send({ requestId, ...outcome, node: process.version, environment: process.pid }));
  if (initError) return answer({ error: initError });
  Promise.resolve()
    .then(() => handler(event, context))
    .then((result) => answer({ result: result === undefined ? null : result }), (error) => answer({ error: failure(error) }));
});
`;

// Windows has no SIGSTOP (Node would kill the process instead): environments there stay thawed.
const FREEZES = process.platform !== "win32";

interface Pending {
  requestId: string;
  resolve: (invocation: Invocation) => void;
  logs: string;
  ended: number;
  outcome?: Omit<Invocation, "logs" | "requestId">;
  timer: NodeJS.Timeout;
}

/** One execution environment: a Node process that keeps its module state between invocations. */
class Environment {
  readonly child: ChildProcess;
  busy: Pending | undefined;
  dead = false;

  constructor(
    readonly fn: LocalFunction,
    command: string,
    args: string[],
    env: Record<string, string>,
    private readonly onExit: (environment: Environment) => void,
  ) {
    this.child = spawn(command, args, { cwd: fn.dir, env, stdio: ["ignore", "pipe", "pipe", "ipc"] });
    for (const stream of [this.child.stdout, this.child.stderr])
      stream?.setEncoding("utf8").on("data", (text: string) => this.log(text));
    this.child.on("message", (message: Invocation) => {
      const pending = this.busy;
      if (!pending || message.requestId !== pending.requestId) return;
      const { requestId: _, ...outcome } = message;
      pending.outcome = outcome;
      this.settle();
    });
    this.child.on("exit", (code, signal) => this.end(this.crash(code, signal)));
    // A binary that cannot start (ENOENT) never exits: its invocation fails at once instead of hanging.
    this.child.on("error", (error) =>
      this.end({ errorType: "Runtime.StartError", errorMessage: error.message, trace: [] }),
    );
  }

  /** Thaws the environment and runs one invocation in it (killed at the function's timeout). */
  run(requestId: string, event: unknown, context: object, cold: boolean): Promise<Invocation> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.child.kill("SIGKILL"), this.fn.timeoutSeconds * 1000);
      this.busy = { requestId, resolve, logs: "", ended: 0, timer };
      if (FREEZES) this.child.kill("SIGCONT");
      this.child.send({ requestId, event, context }, (error) => {
        if (error && this.busy?.requestId === requestId) this.child.kill("SIGKILL");
      });
    }).then((invocation) => ({ ...(invocation as Invocation), cold }));
  }

  private end(error: LambdaError): void {
    if (this.dead) return;
    this.dead = true;
    const pending = this.busy;
    if (pending) {
      pending.outcome = { error };
      pending.ended = 2;
      this.settle();
    }
    this.onExit(this);
  }

  private log(text: string): void {
    const pending = this.busy;
    if (!pending) return;
    const marker = `\n@@end ${pending.requestId}\n`;
    let rest = text;
    for (let at = rest.indexOf(marker); at >= 0; at = rest.indexOf(marker)) {
      pending.logs += rest.slice(0, at);
      rest = rest.slice(at + marker.length);
      pending.ended++;
    }
    if (pending.ended < 2) pending.logs += rest;
    this.settle();
  }

  // Answers once the result arrived and both streams reached their end marker.
  private settle(): void {
    const pending = this.busy;
    if (!pending?.outcome || pending.ended < 2) return;
    clearTimeout(pending.timer);
    this.busy = undefined;
    // Frozen between invocations, as Lambda freezes an idle environment: no timer runs.
    if (!this.dead && FREEZES) this.child.kill("SIGSTOP");
    pending.resolve({ requestId: pending.requestId, logs: pending.logs, ...pending.outcome });
  }

  private crash(code: number | null, signal: string | null): LambdaError {
    if (signal === "SIGKILL")
      return {
        errorType: "Sandbox.Timedout",
        errorMessage: `Task timed out after ${this.fn.timeoutSeconds}.00 seconds`,
        trace: [],
      };
    return {
      errorType: "Runtime.ExitError",
      errorMessage: `Runtime exited with error: ${signal ?? `exit status ${code}`}`,
      trace: [],
    };
  }
}

/**
 * Runs bundles as Lambda does: each function in execution environments (Node processes on the
 * Lambda runtime's Node) that start cold with the function's own environment plus what the runtime
 * sets (region, the role's credentials, the function's name), serve one invocation at a time, are
 * reused warm and frozen in between, and are replaced after a timeout or a crash. The AWS SDK is on
 * NODE_PATH as the runtime offers it; our bundles carry their own (infra/bundling.ts).
 */
export class LambdaRuntime {
  private readonly runner: string;
  private readonly nodePath: string;
  private readonly idle = new Map<string, Environment[]>();
  private readonly all = new Set<Environment>();

  /** `node`: the binary to run bundles on; `sdkFrom`: a node_modules holding `@aws-sdk`. */
  constructor(
    root: string,
    private readonly node: string,
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

  /** Invokes `fn` with `event` in a warm environment if one is idle, else a new one. */
  invoke(fn: LocalFunction, event: unknown): Promise<Invocation> {
    const requestId = randomUUID();
    const warm = this.idle.get(fn.name)?.pop();
    const environment = warm ?? this.start(fn);
    return environment.run(requestId, event ?? {}, this.context(fn, requestId), !warm).then((invocation) => {
      if (!environment.dead) this.idleList(fn.name).push(environment);
      return invocation;
    });
  }

  /** Ends every environment of `fn` (a configuration change: the next invocation starts cold). */
  reset(fnName: string): void {
    for (const environment of this.idle.get(fnName) ?? []) environment.child.kill("SIGKILL");
    this.idle.delete(fnName);
  }

  /** Kills every environment (a failed test must not leave processes behind). */
  stop(): void {
    for (const environment of this.all) environment.child.kill("SIGKILL");
    this.all.clear();
    this.idle.clear();
  }

  private start(fn: LocalFunction): Environment {
    const environment = new Environment(
      fn,
      this.node,
      [this.runner, fn.dir, fn.handler],
      this.environment(fn),
      (gone) => {
        this.all.delete(gone);
        const list = this.idle.get(fn.name);
        if (list?.includes(gone)) list.splice(list.indexOf(gone), 1);
      },
    );
    this.all.add(environment);
    return environment;
  }

  private idleList(name: string): Environment[] {
    const list = this.idle.get(name) ?? [];
    this.idle.set(name, list);
    return list;
  }

  private context(fn: LocalFunction, requestId: string): object {
    return {
      awsRequestId: requestId,
      functionName: fn.name,
      functionVersion: "$LATEST",
      invokedFunctionArn: `arn:aws:lambda:${this.sandbox.AWS_REGION}:123456789012:function:${fn.name}`,
      memoryLimitInMB: String(fn.memoryMb),
      logGroupName: `/aws/lambda/${fn.name}`,
      logStreamName: `local/[$LATEST]${requestId.replaceAll("-", "")}`,
      deadlineMs: Date.now() + fn.timeoutSeconds * 1000,
    };
  }

  // Nothing from this process's environment: no real credential or profile can leak in.
  private environment(fn: LocalFunction): Record<string, string> {
    return {
      PATH: "/usr/local/bin:/usr/bin:/bin",
      ...fn.environment,
      ...this.sandbox,
      ...fn.credentials,
      NODE_PATH: this.nodePath,
      TZ: "UTC",
      LAMBDA_TASK_ROOT: fn.dir,
      _HANDLER: fn.handler,
      AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
      AWS_LAMBDA_FUNCTION_NAME: fn.name,
      AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
    };
  }
}
