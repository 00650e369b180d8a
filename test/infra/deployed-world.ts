import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { EcsMapper } from "../../lib/ecs/mapper.ts";
import { ElasticsearchEmulator } from "../../simulators/elasticsearch/server.ts";
import { JumpcloudSimulator } from "../../simulators/jumpcloud/server.ts";
import { type GeneratedEvent, generateTenantEvents } from "../../simulators/jumpcloud/tenant.ts";
import { fixturePath, openTestGeoIp } from "../helpers/fixtures.ts";
import { Callers } from "./emulators/access.ts";
import { LocalDeployment } from "./emulators/deployment.ts";
import type { Invocation } from "./emulators/runtime.ts";
import { LOCAL_ACCOUNT, type SynthesizedStack, synthesize } from "./emulators/stack-template.ts";

export const JUMPCLOUD_KEY = "deployed-test-jumpcloud-key";
export const ES_API_KEY = "ZGVwbG95ZWQtdGVzdDpub3QtYS1yZWFsLWtleQ==";
export const STREAM = "logs-jumpcloud.events-default";
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

/** An org of the simulated MSP tenant, with the events it starts with. */
export interface Org {
  id: string;
  events: GeneratedEvent[];
}

/** `count` org ids, 24 hex digits each as JumpCloud's are. */
export const orgIds = (count: number, prefix = "5e") =>
  Array.from({ length: count }, (_, i) => `${prefix}${i.toString(16).padStart(22, "0")}`);

/** The `event.id` of a stored document. */
export const eventId = (doc: Record<string, unknown>) =>
  String((doc.event as { id?: unknown } | undefined)?.id);

/**
 * The stack synthesized with bundling (or reused: synthesis is the slow part) and deployed onto
 * the local emulations, with the template's IAM enforced; a simulated MSP tenant of several orgs
 * behind one key; the Elasticsearch emulation.
 */
export class DeployedWorld {
  readonly root = mkdtempSync(join(tmpdir(), "jumpcloud-elastic-deployed-"));
  readonly refused = new Set<string>();
  readonly es = new ElasticsearchEmulator({
    authorizations: [`ApiKey ${ES_API_KEY}`],
    // MaxMind's test databases stand in for the ones a cluster downloads (GEOIP=cluster).
    geoip: {
      files: {
        "GeoLite2-City.mmdb": fixturePath("geoip/GeoLite2-City-Test.mmdb"),
        "GeoLite2-ASN.mmdb": fixturePath("geoip/GeoLite2-ASN-Test.mmdb"),
      },
    },
    rejectDocument: (doc) =>
      this.refused.has(eventId(doc)) ? "failed to parse field [jumpcloud]" : undefined,
  });
  stack!: SynthesizedStack;
  simulator!: JumpcloudSimulator;
  deployment!: LocalDeployment;

  constructor(readonly orgs: Org[]) {}

  /** Synthesizes with `context` (unless `stack` is given), starts the services and deploys (variables of a function overridden by its logical id). */
  async start(
    context: Record<string, string>,
    stack?: SynthesizedStack,
    overrides: Record<string, Record<string, string>> = {},
  ): Promise<this> {
    this.stack =
      stack ??
      synthesize(join(this.root, "cdk.out"), {
        scheduleMinutes: "5",
        jumpcloudOrgIds: this.orgs.map((o) => o.id).join(","),
        ...context,
      });
    this.simulator = new JumpcloudSimulator({
      tenants: this.orgs.map((o) => ({ orgId: o.id, events: o.events })),
      keys: [{ key: JUMPCLOUD_KEY, orgs: this.orgs.map((o) => o.id) }],
    });
    const apiUrl = await this.simulator.start();
    await this.es.start();
    // The one variable this test changes: the real API ("us") becomes the simulator.
    this.deployment = await LocalDeployment.deploy(this.stack, this.root, {
      ...overrides,
      [this.stack.functionIds.collector]: { JUMPCLOUD_API_URL: apiUrl },
    });
    return this;
  }

  async stop(): Promise<void> {
    await this.deployment?.stop();
    await Promise.allSettled([this.simulator?.stop(), this.es.stop()]);
    rmSync(this.root, { recursive: true, force: true });
  }

  /** An operator's `aws lambda invoke` of the collector, waiting for its answer. */
  collector(event: unknown): Promise<Invocation> {
    return this.deployment.invoke(this.stack.functionIds.collector, event);
  }

  /** One firing of the schedule, and everything it set off (fan-out, mappers) run to the end. */
  async scheduledRun(): Promise<void> {
    this.deployment.fireSchedule();
    await this.deployment.lambda.idle();
  }

  /** Fills both secrets as an operator would, through the Secrets Manager API. */
  async fillSecrets(): Promise<void> {
    await this.putSecret(this.variable("collector", "JUMPCLOUD_SECRET_ARN"), { api_key: JUMPCLOUD_KEY });
    await this.putSecret(this.variable("mapper", "ELASTICSEARCH_SECRET_ARN"), {
      url: this.es.url,
      api_key: ES_API_KEY,
    });
  }

  async putSecret(secretId: string, value: unknown): Promise<void> {
    const client = new SecretsManagerClient(this.sdk("SECRETS_MANAGER"));
    await client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: JSON.stringify(value) }));
    client.destroy();
  }

  /** SDK client settings for an emulated service, with the operator's or a function's credentials. */
  sdk(service: "SECRETS_MANAGER" | "S3" | "LAMBDA" | "DYNAMODB", as?: "collector" | "mapper") {
    const accessKeyId = as
      ? (this.deployment.fn(this.stack.functionIds[as]).credentials.AWS_ACCESS_KEY_ID as string)
      : Callers.OPERATOR_KEY;
    return {
      region: LOCAL_ACCOUNT.region,
      endpoint: this.deployment.endpoints[`AWS_ENDPOINT_URL_${service}`],
      credentials: { accessKeyId, secretAccessKey: "x", sessionToken: "x" },
      maxAttempts: 1,
    };
  }

  variable(role: "collector" | "mapper", name: string): string {
    return this.deployment.fn(this.stack.functionIds[role]).environment[name] ?? "";
  }

  /** Every item of the table: checkpoints and the org index. */
  async items(): Promise<{ pk: string; cursor?: number }[]> {
    const table = this.variable("collector", "CHECKPOINT_TABLE");
    const { Items = [] } = await this.deployment.dynamodb.send(new ScanCommand({ TableName: table }));
    return Items as { pk: string; cursor?: number }[];
  }

  stored() {
    return this.es.documents(STREAM);
  }

  /**
   * Stored documents whose `source`/`client` geo or as differ from what the mapper's own lookup on
   * the test databases gives for the same event (GEOIP=files: the integration's output, field for field).
   */
  async geoProblems(): Promise<{ problems: string[]; withGeo: number; withAs: number; withBoth: number }> {
    const mapper = new EcsMapper({ geoIp: await openTestGeoIp() });
    const want = new Map<string, Record<string, unknown>>();
    for (const org of this.orgs)
      for (const event of this.simulator.allEvents(org.id)) {
        const mapped = mapper.mapValue(event);
        want.set(mapped.id, mapped.document);
      }
    const problems: string[] = [];
    let withGeo = 0;
    let withAs = 0;
    let withBoth = 0;
    for (const doc of this.stored()) {
      const source = doc._source as Record<string, Record<string, unknown> | undefined>;
      const expected = want.get(doc._id) as Record<string, Record<string, unknown> | undefined>;
      for (const field of ["source", "client"] as const)
        for (const part of ["geo", "as"] as const) {
          const got = source[field]?.[part];
          const want = expected?.[field]?.[part];
          // Key order aside (the cluster writes its own): the same fields and values.
          if (!isDeepStrictEqual(got, want) && problems.length < 5)
            problems.push(
              `${doc._id} ${field}.${part}: ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`,
            );
        }
      if (source.source?.geo || source.client?.geo) withGeo++;
      if (source.source?.as || source.client?.as) withAs++;
      if (source.source?.geo && source.source?.as) withBoth++;
    }
    return { problems, withGeo, withAs, withBoth };
  }

  /** What is wrong with what the cluster holds: every org's events, each once, nothing else. */
  storageProblems(): string[] {
    const mapper = new EcsMapper();
    const want = new Map<string, string>();
    for (const org of this.orgs)
      for (const event of this.simulator.allEvents(org.id))
        if (!this.refused.has(String(event.id))) want.set(mapper.mapValue(event).id, org.id);
    const seen = new Map<string, number>();
    for (const doc of this.stored()) seen.set(doc._id, (seen.get(doc._id) ?? 0) + 1);
    const problems: string[] = [];
    const missing = [...want.keys()].filter((id) => !seen.has(id));
    if (missing.length > 0) {
      const orgs = new Set(missing.map((id) => want.get(id)));
      problems.push(`${missing.length} of ${want.size} events not stored (orgs: ${[...orgs].join(", ")})`);
    }
    const twice = [...seen.values()].filter((n) => n > 1).length;
    if (twice > 0) problems.push(`${twice} events stored more than once`);
    const extra = [...seen.keys()].filter((id) => !want.has(id)).length;
    if (extra > 0) problems.push(`${extra} documents that are no event of the tenant`);
    return problems;
  }
}

/** A deterministic tenant for one org: `count` events between `start` and `end`. */
export function orgEvents(id: string, seed: number, start: number, end: number, count: number): Org {
  return { id, events: generateTenantEvents({ seed, start, end, count, organization: id }) };
}
