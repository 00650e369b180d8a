import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  type DeleteCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  type GetCommandOutput,
  paginateScan,
  UpdateCommand,
  type UpdateCommandOutput,
} from "@aws-sdk/lib-dynamodb";
import { awsSetupProblem, awsUnreachable } from "../aws/sdk-failures.ts";
import { AwsUnreachableError, ConfigurationError, LeaseLostError } from "../errors.ts";
import {
  type Checkpoint,
  type CheckpointStore,
  type CheckpointUpdate,
  storedProgress,
} from "./checkpoint.ts";

/** How long a finished replay's item stays before the table's TTL (`expiresAt`) removes it. */
export const REPLAY_KEPT_SECONDS = 30 * 86_400;

/** Partition key attribute of the checkpoint table. */
export const CHECKPOINT_KEY_ATTRIBUTE = "pk";

/**
 * The item listing an org's scheduled checkpoint keys (`keys`, a string set). Not a checkpoint:
 * `parseCheckpointKey` reads no org from it, and `list` leaves it out.
 */
export const orgIndexKey = (orgId: string | undefined) => `org-index#${orgId ?? "default"}`;
const isOrgIndex = (item: Record<string, unknown>) => String(item.pk).startsWith("org-index#");

function fromItem(item: Record<string, unknown>): Checkpoint {
  return {
    key: item.pk as string,
    cursor: item.cursor as number | undefined,
    progress: storedProgress(item.progress),
    highWater: item.highWater as number | undefined,
    recheckedTo: item.recheckedTo as number | undefined,
    done: (item.done as boolean | undefined) ?? false,
    registered: (item.registered as boolean | undefined) ?? false,
    version: (item.version as number | undefined) ?? 0,
    leaseOwner: item.leaseOwner as string | undefined,
    leaseExpiresAt: item.leaseExpiresAt as number | undefined,
    stats: item.stats as Checkpoint["stats"],
  };
}

/**
 * An SDK failure no retry fixes, as one line saying what to set or grant (a ConfigurationError);
 * anything else unchanged. The operator's commands meet these first: `status` on a laptop
 * without a region, credentials or `dynamodb:Scan`.
 */
export function tableFailure(error: unknown, table: string, action: string): unknown {
  const { name = "", message = "" } = (error ?? {}) as { name?: string; message?: string };
  const problem =
    awsSetupProblem(error, `the checkpoint table ${table}`) ??
    (name === "AccessDeniedException"
      ? `access denied on the checkpoint table ${table}: the AWS identity needs dynamodb:${action} on it (${message})`
      : name === "ResourceNotFoundException"
        ? `the checkpoint table ${table} does not exist in this region: check CHECKPOINT_TABLE (the stack's CheckpointTable output) and AWS_REGION`
        : undefined);
  if (problem !== undefined) return new ConfigurationError([problem], { cause: error });
  const unreachable = awsUnreachable(error, `the checkpoint table ${table}`);
  return unreachable === undefined ? error : new AwsUnreachableError(unreachable, { cause: error });
}

function conditionFailed(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as { name?: string }).name === "ConditionalCheckFailedException"
  );
}

/** Checkpoints and leases in DynamoDB: one item per key, every write conditional. */
export class DynamoDbCheckpointStore implements CheckpointStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async acquire(key: string, owner: string, leaseMs: number, now: number): Promise<Checkpoint | undefined> {
    try {
      const result = await this.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: key },
          UpdateExpression:
            "SET leaseOwner = :owner, leaseExpiresAt = :expires, version = if_not_exists(version, :zero) + :one",
          ConditionExpression:
            "attribute_not_exists(pk) OR attribute_not_exists(leaseOwner) OR leaseExpiresAt < :now OR leaseOwner = :owner",
          ExpressionAttributeValues: {
            ":owner": owner,
            ":expires": now + leaseMs,
            ":now": now,
            ":zero": 0,
            ":one": 1,
          },
          ReturnValues: "ALL_NEW",
        }),
      );
      return fromItem(result.Attributes ?? {});
    } catch (error) {
      if (conditionFailed(error)) return undefined;
      throw error;
    }
  }

  async renew(checkpoint: Checkpoint, leaseMs: number, now: number): Promise<Checkpoint> {
    return this.update(checkpoint, {
      sets: ["leaseExpiresAt = :expires"],
      values: { ":expires": now + leaseMs },
    });
  }

  async save(checkpoint: Checkpoint, update: CheckpointUpdate): Promise<Checkpoint> {
    const change: Change = { sets: [], removes: [], values: {} };
    if (update.cursor !== undefined) {
      change.sets.push("#cursor = :cursor");
      change.values[":cursor"] = update.cursor;
      // The cursor never moves backwards, whatever a caller asks.
      change.condition = "attribute_not_exists(#cursor) OR #cursor <= :cursor";
      change.names = { "#cursor": "cursor" };
    }
    if (update.progress?.length === 0) change.removes?.push("progress");
    else if (update.progress !== undefined) {
      change.sets.push("progress = :progress");
      change.values[":progress"] = update.progress;
    }
    for (const name of ["highWater", "recheckedTo"] as const) {
      if (update[name] === undefined) continue;
      change.sets.push(`${name} = :${name}`);
      change.values[`:${name}`] = update[name];
    }
    if (update.done !== undefined) {
      change.sets.push("done = :done");
      change.values[":done"] = update.done;
      // A finished replay is kept a while for `status`, then DynamoDB's TTL removes it.
      if (update.done) {
        change.sets.push("expiresAt = :expires");
        change.values[":expires"] = Math.floor(Date.now() / 1000) + REPLAY_KEPT_SECONDS;
      }
    }
    if (update.registered !== undefined) {
      change.sets.push("registered = :registered");
      change.values[":registered"] = update.registered;
    }
    if (update.stats !== undefined) {
      change.sets.push("stats = :stats");
      change.values[":stats"] = update.stats;
    }
    return this.update(checkpoint, change);
  }

  async release(checkpoint: Checkpoint): Promise<void> {
    if (checkpoint.leaseOwner !== undefined) await this.breakLease(checkpoint.key, checkpoint.leaseOwner);
  }

  async breakLease(key: string, owner: string): Promise<boolean> {
    try {
      await this.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: key },
          UpdateExpression: "REMOVE leaseOwner, leaseExpiresAt SET version = version + :one",
          ConditionExpression: "leaseOwner = :owner",
          ExpressionAttributeValues: { ":owner": owner, ":one": 1 },
        }),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }

  async forget(key: string, now: number): Promise<"removed" | "held" | "gone"> {
    try {
      await this.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: key },
          ConditionExpression:
            "attribute_exists(pk) AND (attribute_not_exists(leaseOwner) OR leaseExpiresAt < :now)",
          ExpressionAttributeValues: { ":now": now },
        }),
      );
      return "removed";
    } catch (error) {
      if (!conditionFailed(error)) throw error;
      return (await this.get(key)) === undefined ? "gone" : "held";
    }
  }

  async list(): Promise<Checkpoint[]> {
    const items: Checkpoint[] = [];
    try {
      // A table holds one item per org and service set, plus replays: a consistent scan, paged.
      for await (const page of paginateScan(
        { client: this.client },
        { TableName: this.table, ConsistentRead: true },
      )) {
        items.push(...(page.Items ?? []).filter((item) => !isOrgIndex(item)).map(fromItem));
      }
    } catch (error) {
      throw tableFailure(error, this.table, "Scan");
    }
    return items.sort((a, b) => a.key.localeCompare(b.key));
  }

  // Every call: an SDK failure the user must fix becomes one line naming it (see tableFailure).
  private send(command: GetCommand): Promise<GetCommandOutput>;
  private send(command: UpdateCommand): Promise<UpdateCommandOutput>;
  private send(command: DeleteCommand): Promise<DeleteCommandOutput>;
  private async send(
    command: GetCommand | UpdateCommand | DeleteCommand,
  ): Promise<GetCommandOutput | UpdateCommandOutput | DeleteCommandOutput> {
    const action =
      command instanceof GetCommand
        ? "GetItem"
        : command instanceof DeleteCommand
          ? "DeleteItem"
          : "UpdateItem";
    try {
      if (command instanceof GetCommand) return await this.client.send(command);
      if (command instanceof DeleteCommand) return await this.client.send(command);
      return await this.client.send(command);
    } catch (error) {
      throw tableFailure(error, this.table, action);
    }
  }

  async registerScheduled(orgId: string | undefined, key: string): Promise<string[]> {
    // One write, idempotent (a set): concurrent first runs of two service lists both land.
    const result = await this.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: orgIndexKey(orgId) },
        UpdateExpression: "ADD #keys :key",
        ExpressionAttributeNames: { "#keys": "keys" },
        ExpressionAttributeValues: { ":key": new Set([key]) },
        ReturnValues: "ALL_NEW",
      }),
    );
    const keys = (result.Attributes?.keys as Set<string> | undefined) ?? new Set<string>();
    return [...keys].filter((k) => k !== key).sort();
  }

  async get(key: string): Promise<Checkpoint | undefined> {
    const result = await this.send(
      new GetCommand({ TableName: this.table, Key: { pk: key }, ConsistentRead: true }),
    );
    return result.Item ? fromItem(result.Item) : undefined;
  }

  // Every change: only by the lease owner, only from the version it read.
  private async update(checkpoint: Checkpoint, change: Change): Promise<Checkpoint> {
    const sets = [...change.sets, "version = version + :one"];
    const removes = change.removes ?? [];
    try {
      const result = await this.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: checkpoint.key },
          UpdateExpression: `SET ${sets.join(", ")}${removes.length > 0 ? ` REMOVE ${removes.join(", ")}` : ""}`,
          ConditionExpression: `leaseOwner = :owner AND version = :version${change.condition ? ` AND (${change.condition})` : ""}`,
          ExpressionAttributeValues: {
            ...change.values,
            ":owner": checkpoint.leaseOwner,
            ":version": checkpoint.version,
            ":one": 1,
          },
          ...(change.names && { ExpressionAttributeNames: change.names }),
          ReturnValues: "ALL_NEW",
        }),
      );
      return fromItem(result.Attributes ?? {});
    } catch (error) {
      if (conditionFailed(error)) {
        throw new LeaseLostError(
          `checkpoint ${checkpoint.key}: the lease or the version moved (another run, or an expired lease)`,
          { cause: error },
        );
      }
      throw error;
    }
  }
}

interface Change {
  sets: string[];
  removes?: string[];
  values: Record<string, unknown>;
  condition?: string;
  names?: Record<string, string>;
}
