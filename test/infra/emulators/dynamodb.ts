import type { IncomingMessage } from "node:http";
import { request } from "node:http";
import type { Authorize, Caller, Callers, Request } from "./access.ts";
import { LoopbackServer, type Reply } from "./http.ts";

/** Read and write units one caller consumed, as DynamoDB bills them on demand. */
export interface Capacity {
  read: number;
  write: number;
  /** Requests made, by operation. */
  requests: Record<string, number>;
}

const JSON_1_0 = { "content-type": "application/x-amz-json-1.0" };

// Operations that take ReturnConsumedCapacity, and whether they read or write.
const METERED: Readonly<Record<string, "read" | "write">> = {
  GetItem: "read",
  BatchGetItem: "read",
  Query: "read",
  Scan: "read",
  TransactGetItems: "read",
  PutItem: "write",
  UpdateItem: "write",
  DeleteItem: "write",
  BatchWriteItem: "write",
  TransactWriteItems: "write",
};

type Body = Record<string, unknown>;

// IAM has no action for a transaction: each item is authorized as the call it makes.
const TRANSACT_ACTIONS: Readonly<Record<string, string>> = {
  Put: "PutItem",
  Update: "UpdateItem",
  Delete: "DeleteItem",
  ConditionCheck: "ConditionCheckItem",
  Get: "GetItem",
};

/** What IAM checks for a request: each action with the table (or index) ARN it acts on. */
function checksOf(operation: string, input: Body, arn: (table: string) => string): Request[] {
  const named = (table: unknown, index?: unknown) =>
    `${arn(String(table))}${typeof index === "string" ? `/index/${index}` : ""}`;
  if (operation === "BatchGetItem" || operation === "BatchWriteItem")
    return Object.keys((input.RequestItems as Body | undefined) ?? {}).map((t) => ({
      action: `dynamodb:${operation}`,
      resources: [named(t)],
    }));
  if (operation === "TransactWriteItems" || operation === "TransactGetItems") {
    const items = (input.TransactItems as Record<string, { TableName?: string }>[] | undefined) ?? [];
    return items.flatMap((item) =>
      Object.entries(item).map(([kind, op]) => ({
        action: `dynamodb:${TRANSACT_ACTIONS[kind] ?? kind}`,
        resources: [named(op.TableName)],
      })),
    );
  }
  const resource = input.TableName === undefined ? "*" : named(input.TableName, input.IndexName);
  return [{ action: `dynamodb:${operation}`, resources: [resource] }];
}

function units(consumed: unknown): number {
  const list = Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed];
  return list.reduce(
    (sum: number, c) => sum + Number((c as { CapacityUnits?: number }).CapacityUnits ?? 0),
    0,
  );
}

function error(type: string, message: string): Reply {
  return {
    status: 400,
    body: JSON.stringify({ __type: `com.amazon.coral.service#${type}`, Message: message }),
    headers: JSON_1_0,
  };
}

/**
 * DynamoDB as a function's role sees it: each request checked against the caller's identity
 * policies (`dynamodb:<Operation>` on the table's ARN), refused with AccessDeniedException as AWS
 * refuses it, otherwise passed to dynalite (a real DynamoDB API). Counts the capacity units each
 * caller consumed, as DynamoDB reports them (a refused conditional write costs one unit, as in AWS).
 */
export class DynamoDbGate {
  /** Units consumed, by caller (`operator`, or a function's session name). */
  readonly capacity = new Map<string, Capacity>();
  private readonly server = new LoopbackServer((req, body) => this.handle(req, body));

  constructor(
    private readonly upstream: string,
    private readonly callers: Callers,
    private readonly authorize: Authorize,
    private readonly tableArn: (table: string) => string,
  ) {}

  start(): Promise<string> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  /** Forgets the units counted so far (to measure one run). */
  resetCapacity(): void {
    this.capacity.clear();
  }

  private async handle(req: IncomingMessage, body: Buffer): Promise<Reply> {
    const operation = String(req.headers["x-amz-target"] ?? "").replace(/^DynamoDB_\d+\./, "");
    const input = JSON.parse(body.toString("utf8") || "{}") as Body;
    const caller = this.callers.of(req);
    if (!caller)
      return error("UnrecognizedClientException", "The security token included in the request is invalid.");
    for (const check of checksOf(operation, input, this.tableArn)) {
      const denied = this.authorize(caller, check);
      if (denied) return error("AccessDeniedException", denied);
    }
    const kind = METERED[operation];
    const asked = input.ReturnConsumedCapacity;
    const forwarded = kind && asked === undefined ? { ...input, ReturnConsumedCapacity: "TOTAL" } : input;
    const reply = await this.forward(req, Buffer.from(JSON.stringify(forwarded)));
    this.meter(caller, operation, kind, reply);
    if (kind && asked === undefined && reply.status === 200) {
      const { ConsumedCapacity: _, ...rest } = JSON.parse(String(reply.body)) as Body;
      return { ...reply, body: JSON.stringify(rest) };
    }
    return reply;
  }

  private meter(caller: Caller, operation: string, kind: "read" | "write" | undefined, reply: Reply): void {
    const name = caller.kind === "operator" ? "operator" : caller.session;
    const entry = this.capacity.get(name) ?? { read: 0, write: 0, requests: {} };
    this.capacity.set(name, entry);
    entry.requests[operation] = (entry.requests[operation] ?? 0) + 1;
    if (!kind) return;
    if (reply.status === 200) entry[kind] += units((JSON.parse(String(reply.body)) as Body).ConsumedCapacity);
    else if (String(reply.body).includes("ConditionalCheckFailedException")) entry.write += 1;
  }

  private forward(req: IncomingMessage, body: Buffer): Promise<Reply> {
    const headers = {
      ...req.headers,
      "content-length": String(body.length),
      host: new URL(this.upstream).host,
    };
    return new Promise((resolve, reject) => {
      const upstream = request(
        `${this.upstream}${req.url ?? "/"}`,
        { method: req.method, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 500,
              body: Buffer.concat(chunks),
              headers: { "content-type": String(res.headers["content-type"] ?? JSON_1_0["content-type"]) },
            }),
          );
          res.on("error", reject);
        },
      );
      upstream.on("error", reject);
      upstream.end(body);
    });
  }
}
