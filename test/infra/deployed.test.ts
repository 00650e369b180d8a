import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SECRET_PLACEHOLDER } from "../../lib/aws/secrets.ts";
import { EcsMapper } from "../../lib/ecs/mapper.ts";
import { ElasticsearchEmulator } from "../../simulators/elasticsearch/server.ts";
import { JumpcloudSimulator } from "../../simulators/jumpcloud/server.ts";
import { type GeneratedEvent, generateTenantEvents } from "../../simulators/jumpcloud/tenant.ts";
import { LocalDeployment } from "./emulators/deployment.ts";
import type { Invocation } from "./emulators/runtime.ts";
import { LOCAL_ACCOUNT, type SynthesizedStack, synthesize } from "./emulators/stack-template.ts";

const ORG = "5e00000000000000000000d1";
const JUMPCLOUD_KEY = "deployed-test-jumpcloud-key";
const ES_API_KEY = "ZGVwbG95ZWQtdGVzdDpub3QtYS1yZWFsLWtleQ==";
const STREAM = "logs-jumpcloud.events-default";
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const EVENTS = 300;

/** One line saying how to fill a placeholder secret (what the stack's secrets hold until then). */
const NOT_FILLED =
  /^secret not filled yet: aws secretsmanager put-secret-value --secret-id (\S+) --secret-string '[^'\n]+'$/;

/** The run summaries of a collector invocation that succeeded. */
interface Collected {
  mode: string;
  summaries: {
    status: string;
    fetched: number;
    cursorBefore?: string;
    counts: Record<string, number>;
  }[];
}

/**
 * The world of one test file: the stack synthesized with bundling and deployed onto local
 * emulations, the JumpCloud simulator with a small tenant, and the Elasticsearch emulation.
 */
class World {
  readonly root = mkdtempSync(join(tmpdir(), "jumpcloud-elastic-deployed-"));
  readonly es = new ElasticsearchEmulator({
    authorizations: [`ApiKey ${ES_API_KEY}`],
    rejectDocument: (doc) =>
      this.refused.has(eventId(doc)) ? "failed to parse field [jumpcloud]" : undefined,
  });
  readonly refused = new Set<string>();
  stack!: SynthesizedStack;
  simulator!: JumpcloudSimulator;
  deployment!: LocalDeployment;
  /** When the tenant was made: its events end two minutes before, behind the collector's 1m lag. */
  t0 = 0;
  events: GeneratedEvent[] = [];

  async start(): Promise<void> {
    this.stack = synthesize(join(this.root, "cdk.out"), { scheduleMinutes: "5" });
    this.t0 = Date.now();
    this.events = tenant(7, this.t0 - 3 * HOUR, this.t0 - 2 * MINUTE, EVENTS);
    this.simulator = new JumpcloudSimulator({
      tenants: [{ orgId: ORG, events: this.events }],
      keys: [{ key: JUMPCLOUD_KEY, orgs: [ORG] }],
    });
    const apiUrl = await this.simulator.start();
    await this.es.start();
    // The one variable this test changes: the real API ("us") becomes the simulator.
    this.deployment = await LocalDeployment.deploy(this.stack, this.root, {
      [this.stack.functionIds.collector]: { JUMPCLOUD_API_URL: apiUrl },
    });
  }

  async stop(): Promise<void> {
    await this.deployment?.stop();
    await Promise.allSettled([this.simulator?.stop(), this.es.stop()]);
    rmSync(this.root, { recursive: true, force: true });
  }

  collector(event: unknown): Promise<Invocation> {
    return this.deployment.invoke(this.stack.functionIds.collector, event);
  }

  /** Fills a secret as an operator would, through the Secrets Manager API. */
  async putSecret(secretId: string, value: unknown): Promise<void> {
    const client = new SecretsManagerClient(this.sdk("SECRETS_MANAGER"));
    await client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: JSON.stringify(value) }));
    client.destroy();
  }

  /** SDK client settings for one of the emulated services, as an operator's machine would have. */
  sdk(service: "SECRETS_MANAGER" | "S3" | "LAMBDA") {
    return {
      region: LOCAL_ACCOUNT.region,
      endpoint: this.deployment.endpoints[`AWS_ENDPOINT_URL_${service}`],
      credentials: { accessKeyId: "operator", secretAccessKey: "operator" },
    };
  }

  variable(role: "collector" | "mapper", name: string): string {
    return this.deployment.fn(this.stack.functionIds[role]).environment[name] ?? "";
  }

  /** Every checkpoint in the table: its key and cursor (epoch ms). */
  async checkpoints(): Promise<{ pk: string; cursor?: number }[]> {
    const table = this.variable("collector", "CHECKPOINT_TABLE");
    const { Items = [] } = await this.deployment.dynamodb.send(new ScanCommand({ TableName: table }));
    return Items as { pk: string; cursor?: number }[];
  }

  stored() {
    return this.es.documents(STREAM);
  }
}

function templateVariables(stack: SynthesizedStack, id: string): Record<string, unknown> {
  const environment = stack.resources[id]?.Properties?.Environment as
    | { Variables?: Record<string, unknown> }
    | undefined;
  return environment?.Variables ?? {};
}

const eventId = (doc: Record<string, unknown>) => String((doc.event as { id?: unknown } | undefined)?.id);

const tenant = (seed: number, start: number, end: number, count: number) =>
  generateTenantEvents({ seed, start, end, count, organization: ORG });

/** The handler's result; fails showing the error and logs when the invocation failed. */
function collected(invocation: Invocation): Collected["summaries"][number] {
  if (invocation.error)
    throw new Error(`collector failed: ${JSON.stringify(invocation.error)}\n${invocation.logs}`);
  const result = invocation.result as Collected;
  expect(result.mode).toBe("collected");
  expect(result.summaries).toHaveLength(1);
  return result.summaries[0] as Collected["summaries"][number];
}

/** Checks a failure is the one-line "secret not filled yet"; returns the secret it names. */
function placeholderFailure(invocation: Invocation): string {
  expect.soft(invocation.error?.errorType).toBe("ConfigurationError");
  const message = invocation.error?.errorMessage ?? "";
  expect.soft(message).not.toMatch(/\n|\bat .+:\d+:\d+/);
  expect(message).toMatch(NOT_FILLED);
  return (NOT_FILLED.exec(message) as RegExpExecArray)[1] as string;
}

// Each step spawns Node processes (a collector, a mapper per page): slow on a busy 2-core machine.
describe("the deployed artifacts, run for real", { timeout: 60_000 }, () => {
  const world = new World();
  beforeAll(() => world.start(), 120_000);
  afterAll(() => world.stop(), 30_000);

  it("deploys the functions with the template's environment, the API URL aside", () => {
    for (const role of ["collector", "mapper"] as const) {
      const template = templateVariables(world.stack, world.stack.functionIds[role]);
      const deployed = world.deployment.fn(world.stack.functionIds[role]).environment;
      expect(Object.keys(deployed).sort()).toStrictEqual(Object.keys(template).sort());
      const changed = Object.keys(template).filter(
        (k) => typeof template[k] === "string" && template[k] !== deployed[k],
      );
      expect(changed).toStrictEqual(role === "collector" ? ["JUMPCLOUD_API_URL"] : []);
    }
    expect(templateVariables(world.stack, world.stack.functionIds.collector).JUMPCLOUD_API_URL).toBe("us");
    expect(world.variable("collector", "MAPPER_FUNCTION_NAME")).toBe(
      world.deployment.fn(world.stack.functionIds.mapper).name,
    );
    for (const arn of [
      world.variable("collector", "JUMPCLOUD_SECRET_ARN"),
      world.variable("mapper", "ELASTICSEARCH_SECRET_ARN"),
    ])
      expect(world.deployment.secrets.value(arn)).toBe(JSON.stringify({ placeholder: SECRET_PLACEHOLDER }));
  });

  it("refuses to collect while the JumpCloud secret holds the stack's placeholder, in one line", async () => {
    const arn = world.variable("collector", "JUMPCLOUD_SECRET_ARN");
    try {
      expect(placeholderFailure(await world.collector({}))).toBe(arn);
    } finally {
      // Filled whatever the answer, so each later step fails only for its own reason.
      await world.putSecret(arn, { api_key: JUMPCLOUD_KEY });
    }
  });

  it("fails the run, the cursor behind every event, while the Elasticsearch secret holds the placeholder", async () => {
    const arn = world.variable("mapper", "ELASTICSEARCH_SECRET_ARN");
    try {
      const invocation = await world.collector({});
      await world.deployment.lambda.idle();
      expect(invocation.error?.errorMessage).toContain(
        `secret not filled yet: aws secretsmanager put-secret-value --secret-id ${arn}`,
      );
      const failed = world.deployment.lambda.invocations.filter((i) => i.outcome?.error);
      expect(failed.length).toBeGreaterThan(0);
      expect(placeholderFailure(failed[0]?.outcome as Invocation)).toBe(arn);
      expect(world.stored()).toHaveLength(0);
      // Empty windows before the first event are done; no window holding one is.
      const first = Math.min(...world.events.map((e) => e.at));
      for (const { cursor } of await world.checkpoints()) expect(cursor ?? 0).toBeLessThanOrEqual(first);
    } finally {
      // A mapper whose caller gave up still runs: none may index after the secret is filled.
      await world.deployment.lambda.idle();
      await world.putSecret(arn, { url: world.es.url, api_key: ES_API_KEY });
    }
  });

  it("indexes every simulated event exactly once on the first scheduled run, caught up", async () => {
    const invocation = await world.collector({});
    const summary = collected(invocation);
    expect(summary.status).toBe("caught-up");
    // The windows the failed run finished are not read again, only the overlap after them: each
    // event of it is looked up and counted a duplicate, never stored twice.
    expect(summary.counts).toMatchObject({
      received: summary.fetched,
      indexed: EVENTS,
      duplicates: summary.fetched - EVENTS,
      deadLettered: 0,
    });
    const docs = world.stored();
    const truth = world.simulator.allEvents(ORG);
    const mapper = new EcsMapper();
    expect(new Set(docs.map((d) => d._id))).toStrictEqual(new Set(truth.map((e) => mapper.mapValue(e).id)));
    const ids = docs.map((d) => eventId(d._source));
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids)).toStrictEqual(new Set(truth.map((e) => String(e.id))));
    const nodes = new Set(
      [invocation, ...world.deployment.lambda.invocations.map((i) => i.outcome)].map((i) => i?.node),
    );
    console.log(`bundles ran on Node ${[...nodes].join(", ")} (the functions' runtime is nodejs24.x)`);
    expect(nodes.size).toBe(1);
  });

  it("adds nothing on a second scheduled run", async () => {
    const summary = collected(await world.collector({}));
    expect(summary.status).toBe("caught-up");
    expect(summary.counts).toMatchObject({ indexed: 0, deadLettered: 0 });
    expect(world.stored()).toHaveLength(EVENTS);
  });

  it("re-reads a replayed window as duplicates only", async () => {
    const [start, end] = [world.t0 - 2 * HOUR, world.t0 - HOUR];
    const inWindow = world.events.filter((e) => e.at >= start && e.at < end).length;
    expect(inWindow).toBeGreaterThan(0);
    const replay = { start: new Date(start).toISOString(), end: new Date(end).toISOString() };
    const summary = collected(await world.collector({ replay }));
    expect(summary).toMatchObject({ status: "caught-up", fetched: inWindow });
    expect(summary.counts).toMatchObject({
      received: inWindow,
      indexed: 0,
      duplicates: inWindow,
      deadLettered: 0,
    });
    expect(world.stored()).toHaveLength(EVENTS);
  });

  it("dead-letters a late event the cluster refuses into the bucket, under the mapper's prefix", async () => {
    // Two minutes behind the scheduled cursor: within the next run's overlap (5m), however long this took.
    const scheduled = (await world.checkpoints()).find((c) => c.pk.endsWith("#scheduled"));
    const cursor = scheduled?.cursor as number;
    const late = tenant(8, cursor - 2 * MINUTE, cursor - MINUTE, 1);
    world.refused.add(String(late[0]?.event.id));
    world.simulator.addEvents(ORG, late);
    const summary = collected(await world.collector({}));
    // The replay kept its own checkpoint: the scheduled run resumed from the table's cursor.
    expect(summary.cursorBefore).toBe(new Date(cursor).toISOString());
    expect(summary.counts).toMatchObject({ indexed: 0, deadLettered: 1 });
    const puts = world.deployment.s3.puts;
    expect(puts).toHaveLength(1);
    expect(puts[0]).toMatchObject({
      bucket: world.variable("mapper", "DEAD_LETTER_BUCKET"),
      key: expect.stringMatching(/^dead-letters\//),
    });
    expect(puts[0]?.body).toContain(String(late[0]?.event.id));
  });

  it("emulates what the scenarios do not reach as AWS answers the SDK", async () => {
    const bucket = world.variable("mapper", "DEAD_LETTER_BUCKET");
    const s3 = new S3Client(world.sdk("S3"));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "geoip/db.mmdb", Body: "bytes" }));
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "geoip/db.mmdb" }));
    expect(await object.Body?.transformToString()).toBe("bytes");
    await expect(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "none" }))).rejects.toThrow(NoSuchKey);
    const secrets = new SecretsManagerClient(world.sdk("SECRETS_MANAGER"));
    await expect(secrets.send(new GetSecretValueCommand({ SecretId: "none" }))).rejects.toThrow(
      ResourceNotFoundException,
    );
    const lambda = new LambdaClient(world.sdk("LAMBDA"));
    const mapper = world.variable("collector", "MAPPER_FUNCTION_NAME");
    const payload = Buffer.from(JSON.stringify({ events: [] }));
    const queued = await lambda.send(
      new InvokeCommand({ FunctionName: mapper, InvocationType: "Event", Payload: payload }),
    );
    expect(queued.StatusCode).toBe(202);
    await world.deployment.lambda.idle();
    expect(world.deployment.lambda.invocations.at(-1)?.outcome?.result).toMatchObject({ received: 0 });
    await expect(lambda.send(new InvokeCommand({ FunctionName: "none" }))).rejects.toThrow(
      /Function not found/,
    );
    for (const client of [s3, secrets, lambda]) client.destroy();
  });
});
