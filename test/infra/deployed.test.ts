import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SECRET_PLACEHOLDER } from "../../lib/aws/secrets.ts";
import { DynamoDbCheckpointStore } from "../../lib/collect/dynamodb-checkpoint-store.ts";
import { generateTenantEvents } from "../../simulators/jumpcloud/tenant.ts";
import { DeployedWorld, HOUR, JUMPCLOUD_KEY, MINUTE, orgEvents, orgIds } from "./deployed-world.ts";
import type { Invocation } from "./emulators/runtime.ts";

const [ORG_A, ORG_B] = orgIds(2) as [string, string];
const EVENTS = 300;

/** One line saying how to fill a placeholder secret (what the stack's secrets hold until then). */
const NOT_FILLED =
  /^secret not filled yet: aws secretsmanager put-secret-value --secret-id (\S+) --secret-string '[^'\n]+'$/;

/** The run summaries of a collector invocation that succeeded. */
interface Collected {
  mode: string;
  summaries: {
    orgId?: string;
    status: string;
    fetched: number;
    cursorBefore?: string;
    counts: Record<string, number>;
  }[];
}

function templateVariables(world: DeployedWorld, id: string): Record<string, unknown> {
  const environment = world.stack.resources[id]?.Properties?.Environment as
    | { Variables?: Record<string, unknown> }
    | undefined;
  return environment?.Variables ?? {};
}

/** The handler's result; fails showing the error and logs when the invocation failed. */
function collected(invocation: Invocation): Collected["summaries"] {
  if (invocation.error)
    throw new Error(`collector failed: ${JSON.stringify(invocation.error)}\n${invocation.logs}`);
  const result = invocation.result as Collected;
  expect(result.mode).toBe("collected");
  return result.summaries;
}

/** Checks a failure is the one-line "secret not filled yet"; returns the secret it names. */
function placeholderFailure(error: Invocation["error"]): string {
  expect.soft(error?.errorType).toBe("ConfigurationError");
  const message = error?.errorMessage ?? "";
  expect.soft(message).not.toMatch(/\n|\bat .+:\d+:\d+/);
  expect(message).toMatch(NOT_FILLED);
  return (NOT_FILLED.exec(message) as RegExpExecArray)[1] as string;
}

/** The JSON payload the stack's ReplayCommand output sends, as an operator would copy it. */
function replayCommandPayload(world: DeployedWorld): { replay: Record<string, unknown> } {
  const value = world.stack.outputs.ReplayCommand?.Value;
  // A Fn::Join of literal text and the function's name: the text holds the payload.
  const parts = (value as { "Fn::Join"?: [string, unknown[]] } | undefined)?.["Fn::Join"]?.[1] ?? [value];
  const text = parts.map((p) => (typeof p === "string" ? p : "<ref>")).join("");
  const payload = /--payload '(\{.*?\})' /.exec(text)?.[1];
  if (!payload) throw new Error(`no --payload in the ReplayCommand output: ${text}`);
  return JSON.parse(payload);
}

/** The mapper invocations the collectors made (not the operator's or CloudFormation's). */
const mapperCalls = (world: DeployedWorld) =>
  world.deployment.lambda.invocations
    .filter((i) => i.caller === world.deployment.fn(world.stack.functionIds.collector).name)
    .filter((i) => i.functionName === world.deployment.fn(world.stack.functionIds.mapper).name);

// Each step runs Node processes (collectors, mappers): slow on a busy 2-core machine.
describe("the deployed stack, run as deployed: two orgs, each function's role enforced", {
  timeout: 90_000,
}, () => {
  const t0 = Date.now();
  const world = new DeployedWorld([
    orgEvents(ORG_A, 10, t0 - 3 * HOUR, t0 - 2 * MINUTE, EVENTS),
    orgEvents(ORG_B, 8, t0 - 3 * HOUR, t0 - 2 * MINUTE, EVENTS / 2),
  ]);
  const collector = () => world.stack.functionIds.collector;
  const mapper = () => world.stack.functionIds.mapper;
  beforeAll(() => world.start({}), 180_000);
  afterAll(() => world.stop(), 30_000);

  it("deploys the functions on the Lambda runtime's Node with the template's environment, the API URL aside", () => {
    console.log(
      `bundles run on Node ${world.deployment.node.version}${world.deployment.node.note ? ` (${world.deployment.node.note})` : ""}`,
    );
    // The runtime's major wherever npm has a Node binary package for it, and always in CI
    // (lambdaNode() refuses otherwise); elsewhere the local Node, with the note printed above.
    const { node } = world.deployment;
    for (const id of [collector(), mapper()]) {
      const major = /^nodejs(\d+)\.x$/.exec(world.deployment.fn(id).runtime)?.[1];
      expect(node.version.startsWith(`v${major}.`) || !node.exact, world.deployment.fn(id).runtime).toBe(
        true,
      );
    }
    for (const role of ["collector", "mapper"] as const) {
      const template = templateVariables(world, world.stack.functionIds[role]);
      const deployed = world.deployment.fn(world.stack.functionIds[role]).environment;
      expect(Object.keys(deployed).sort()).toStrictEqual(Object.keys(template).sort());
      const changed = Object.keys(template).filter(
        (k) => typeof template[k] === "string" && template[k] !== deployed[k],
      );
      expect(changed).toStrictEqual(role === "collector" ? ["JUMPCLOUD_API_URL"] : []);
    }
    expect(world.variable("collector", "JUMPCLOUD_ORG_IDS")).toBe(`${ORG_A},${ORG_B}`);
    expect(world.variable("collector", "MAPPER_FUNCTION_NAME")).toBe(world.deployment.fn(mapper()).name);
    for (const arn of [
      world.variable("collector", "JUMPCLOUD_SECRET_ARN"),
      world.variable("mapper", "ELASTICSEARCH_SECRET_ARN"),
    ])
      expect(world.deployment.secrets.value(arn)).toBe(JSON.stringify({ placeholder: SECRET_PLACEHOLDER }));
  });

  it("runs the setup custom resource through the Provider framework's role: skipped, with why, while the secret is unfilled", async () => {
    const [id] = Object.entries(world.stack.resources).find(([, r]) => r.Type.startsWith("Custom::")) ?? [];
    const invocation = await world.deployment.customResource(id as string, "Create");
    expect(invocation.error).toBeUndefined();
    expect(invocation.result).toMatchObject({
      Data: { Action: "skipped", Reason: expect.stringMatching(/^secret not filled yet/) },
    });
  });

  it("fails each scheduled org run in one line while the JumpCloud secret holds the placeholder, each recorded in the failed-runs queue", async () => {
    const arn = world.variable("collector", "JUMPCLOUD_SECRET_ARN");
    try {
      await world.scheduledRun();
      const { failures } = world.deployment.lambda;
      expect(failures.length).toBeGreaterThan(0);
      for (const failure of failures) expect(failure.destinationError).toBeUndefined();
      const runs = world.deployment.lambda.invocations.filter((i) => i.caller === "scheduler");
      expect(runs).toHaveLength(1);
      expect(placeholderFailure(runs[0]?.outcome?.error)).toBe(arn);
      const queue = world.deployment.arn(
        Object.keys(world.stack.resources).find((id) => id.startsWith("ScheduleFailedRuns")) as string,
      );
      const records = world.deployment.sqs.messages(queue);
      expect(records.map((m) => JSON.parse(m.body).requestContext.condition)).toStrictEqual(
        failures.map(() => "RetriesExhausted"),
      );
    } finally {
      await world.putSecret(arn, { api_key: JUMPCLOUD_KEY });
    }
  });

  it("stores nothing and keeps each cursor behind every event while the Elasticsearch secret holds the placeholder", async () => {
    const arn = world.variable("mapper", "ELASTICSEARCH_SECRET_ARN");
    try {
      await world.scheduledRun();
      const mappers = mapperCalls(world);
      expect(mappers.length).toBeGreaterThan(0);
      expect(placeholderFailure(mappers[0]?.outcome?.error)).toBe(arn);
      expect(world.stored()).toHaveLength(0);
      const items = await world.items();
      for (const org of world.orgs) {
        const first = Math.min(...org.events.map((e) => e.at));
        const cursor = items.find((i) => i.pk === `${org.id}#all#scheduled`)?.cursor;
        expect(cursor ?? 0, org.id).toBeLessThanOrEqual(first);
      }
    } finally {
      await world.fillSecrets();
    }
  });

  it("stores every event of every org exactly once through scheduled runs alone, the warm mapper reading its filled secret at once", async () => {
    const refused = new Set(mapperCalls(world).map((i) => i.outcome?.environment));
    const before = mapperCalls(world).length;
    const collectors = () =>
      world.deployment.lambda.invocations.filter(
        (i) => i.functionName === world.deployment.fn(collector()).name,
      );
    const refusedCollectors = new Set(
      collectors()
        .filter((i) => i.outcome?.error?.errorMessage.startsWith("secret not filled yet"))
        .map((i) => i.outcome?.environment),
    );
    const collectorsBefore = collectors().length;
    await world.scheduledRun();
    expect(world.storageProblems()).toStrictEqual([]);
    expect(world.stored()).toHaveLength(EVENTS + EVENTS / 2);
    // Default context: GEOIP=cluster. The stack's pipeline gave each address the geo and as the
    // integration's pipeline gives (the mapper's own lookup on the same databases is the yardstick).
    expect(world.variable("mapper", "GEOIP")).toBe("cluster");
    const located = await world.geoProblems();
    expect(located.problems).toStrictEqual([]);
    console.log(
      `cluster GeoIP: ${JSON.stringify({ ...located, problems: undefined })} of ${world.stored().length}`,
    );
    expect(located.withGeo).toBeGreaterThan(EVENTS / 10);
    expect(located.withAs).toBeGreaterThan(EVENTS / 10);
    expect(located.withBoth).toBeGreaterThan(0);
    // Environments that answered "not filled yet" a moment ago store batches now, without a cold start.
    const recovered = mapperCalls(world)
      .slice(before)
      .filter((i) => refused.has(i.outcome?.environment) && !i.outcome?.error);
    expect(recovered.length).toBeGreaterThan(0);
    // Likewise the collectors: an environment that found the JumpCloud secret unfilled collects now.
    const collected = collectors()
      .slice(collectorsBefore)
      .filter((i) => refusedCollectors.has(i.outcome?.environment) && !i.outcome?.error);
    expect(collected.length).toBeGreaterThan(0);
    expect(world.deployment.denials).toStrictEqual([]);
    const nodes = new Set(world.deployment.lambda.invocations.map((i) => i.outcome?.node).filter(Boolean));
    expect([...nodes]).toStrictEqual([world.deployment.node.version]);
  });

  it("adds nothing on the next scheduled run; the table holds one checkpoint per org and the org index, no lease left", async () => {
    await world.scheduledRun();
    expect(world.storageProblems()).toStrictEqual([]);
    const items = await world.items();
    const scheduled = items.filter((i) => i.pk.endsWith("#scheduled"));
    expect(scheduled.map((i) => i.pk).sort()).toStrictEqual([
      `${ORG_A}#all#scheduled`,
      `${ORG_B}#all#scheduled`,
    ]);
    expect(
      items
        .filter((i) => i.pk.startsWith("org-index#"))
        .map((i) => i.pk)
        .sort(),
    ).toStrictEqual([`org-index#${ORG_A}`, `org-index#${ORG_B}`]);
    for (const item of items) expect((item as { leaseOwner?: string }).leaseOwner).toBeUndefined();
  });

  it("replays a window of every org with the stack's ReplayCommand payload as written: duplicates only", async () => {
    const payload = replayCommandPayload(world);
    expect(Object.keys(payload.replay).sort()).toStrictEqual(["end", "start"]);
    const [start, end] = [t0 - 2 * HOUR, t0 - HOUR];
    const replay = {
      ...payload.replay,
      start: new Date(start).toISOString(),
      end: new Date(end).toISOString(),
    };
    const summaries = collected(await world.collector({ replay }));
    expect(summaries.map((s) => [s.orgId, s.status])).toStrictEqual([
      [ORG_A, "caught-up"],
      [ORG_B, "caught-up"],
    ]);
    for (const [i, org] of world.orgs.entries()) {
      const inWindow = org.events.filter((e) => e.at >= start && e.at < end).length;
      expect(summaries[i]?.counts).toMatchObject({ received: inWindow, indexed: 0, duplicates: inWindow });
    }
    expect(world.storageProblems()).toStrictEqual([]);
  });

  it("dead-letters a late event the cluster refuses into the bucket, under the mapper's prefix", async () => {
    // Two minutes behind the scheduled cursor: within the next run's overlap (5m), however long this took.
    const cursor = (await world.items()).find((c) => c.pk === `${ORG_A}#all#scheduled`)?.cursor as number;
    const late = generateTenantEvents({
      seed: 9,
      start: cursor - 2 * MINUTE,
      end: cursor - MINUTE,
      count: 1,
      organization: ORG_A,
    });
    world.refused.add(String(late[0]?.event.id));
    world.simulator.addEvents(ORG_A, late);
    await world.scheduledRun();
    const puts = world.deployment.s3.puts.filter((p) => p.key.startsWith("dead-letters/"));
    expect(puts).toHaveLength(1);
    expect(puts[0]).toMatchObject({ bucket: world.variable("mapper", "DEAD_LETTER_BUCKET") });
    expect(puts[0]?.body).toContain(String(late[0]?.event.id));
    expect(world.storageProblems()).toStrictEqual([]);
  });

  it("carries a 7 MB event through the S3 claim check: put by the collector, read and deleted by the mapper", async () => {
    const cursor = (await world.items()).find((c) => c.pk === `${ORG_B}#all#scheduled`)?.cursor as number;
    const [big] = generateTenantEvents({
      seed: 10,
      start: cursor - 2 * MINUTE,
      end: cursor - MINUTE,
      count: 1,
      organization: ORG_B,
    });
    if (!big) throw new Error("no event");
    big.event.message = "x".repeat(7_000_000);
    world.simulator.addEvents(ORG_B, [big]);
    await world.scheduledRun();
    const claims = world.deployment.s3.puts.filter((p) => p.key.startsWith("collector/claims/"));
    expect(claims).toHaveLength(1);
    expect(world.deployment.s3.deletes.map((d) => d.key)).toContain(claims[0]?.key);
    expect(world.storageProblems()).toStrictEqual([]);
    // A retry of that mapper invocation finds it gone: S3 says 403 (no s3:ListBucket), said plainly.
    const bucket = world.variable("mapper", "DEAD_LETTER_BUCKET");
    const retry = await world.deployment.invoke(mapper(), { eventsRef: { bucket, key: claims[0]?.key } });
    expect(retry.error).toMatchObject({
      errorType: "InputError",
      errorMessage: expect.stringMatching(/cannot be read: gone \(already stored by an earlier invocation/),
    });
    expect(world.deployment.denials).toStrictEqual([]);
  });

  it("refuses, as AWS does, what a role does not allow", async () => {
    const collectorDb = new DynamoDBClient(world.sdk("DYNAMODB", "collector"));
    const table = world.variable("collector", "CHECKPOINT_TABLE");
    const scan = await collectorDb.send(new ScanCommand({ TableName: table })).catch((e: unknown) => e);
    expect(scan).toMatchObject({ name: "AccessDeniedException" });
    expect(String((scan as Error).message)).toMatch(
      /^User: arn:aws:sts::123456789012:assumed-role\/.+\/JumpcloudElastic-collector is not authorized to perform: dynamodb:Scan on resource: arn:aws:dynamodb:us-east-1:123456789012:table\/.+ because no identity-based policy allows the dynamodb:Scan action$/,
    );
    // `status` run with such credentials says what the identity needs, in one line.
    const store = new DynamoDbCheckpointStore(DynamoDBDocumentClient.from(collectorDb), table);
    await expect(store.list()).rejects.toThrow(
      /^access denied on the checkpoint table .+: the AWS identity needs dynamodb:Scan on it \(User: /,
    );
    const mapperSecrets = new SecretsManagerClient(world.sdk("SECRETS_MANAGER", "mapper"));
    const other = world.variable("collector", "JUMPCLOUD_SECRET_ARN");
    await expect(mapperSecrets.send(new GetSecretValueCommand({ SecretId: other }))).rejects.toMatchObject({
      name: "AccessDeniedException",
    });
    const mapperS3 = new S3Client({ ...world.sdk("S3", "mapper"), forcePathStyle: true });
    const bucket = world.variable("mapper", "DEAD_LETTER_BUCKET");
    // No s3:ListBucket: a claim check that is gone is a 403, not a 404, as S3 answers it.
    await expect(
      mapperS3.send(new GetObjectCommand({ Bucket: bucket, Key: "collector/claims/none.json" })),
    ).rejects.toMatchObject({ name: "AccessDenied" });
    await expect(
      mapperS3.send(new PutObjectCommand({ Bucket: bucket, Key: "collector/claims/x.json", Body: "x" })),
    ).rejects.toMatchObject({ name: "AccessDenied" });
    const mapperLambda = new LambdaClient(world.sdk("LAMBDA", "mapper"));
    await expect(
      mapperLambda.send(new InvokeCommand({ FunctionName: world.deployment.fn(collector()).name })),
    ).rejects.toMatchObject({ name: "AccessDeniedException" });
    // Lambda's payload quotas, which the claim check exists for: 6 MB RequestResponse, 1 MB Event.
    const operator = new LambdaClient(world.sdk("LAMBDA"));
    const mapperName = world.deployment.fn(mapper()).name;
    const sized = (bytes: number) => Buffer.from(JSON.stringify({ events: ["x".repeat(bytes)] }));
    await expect(
      operator.send(new InvokeCommand({ FunctionName: mapperName, Payload: sized(6_300_000) })),
    ).rejects.toMatchObject({ name: "RequestTooLargeException" });
    await expect(
      operator.send(
        new InvokeCommand({ FunctionName: mapperName, InvocationType: "Event", Payload: sized(1_100_000) }),
      ),
    ).rejects.toMatchObject({ name: "RequestTooLargeException" });
    for (const client of [collectorDb, mapperSecrets, mapperS3, mapperLambda, operator]) client.destroy();
    world.deployment.denials.length = 0;
  });
});
