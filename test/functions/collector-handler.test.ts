import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildCollectorDependencies,
  type CollectorDependencies,
  type CollectorRequest,
  makeCollectorHandler,
} from "../../functions/collector/handler.ts";
import { SECRET_PLACEHOLDER, SecretsManagerSecrets } from "../../lib/aws/secrets.ts";
import { checkpointKey } from "../../lib/collect/collector.ts";
import { InProcessDelivery } from "../../lib/collect/delivery.ts";
import { FileCheckpointStore } from "../../lib/collect/file-checkpoint-store.ts";
import { createEventSource, parseJumpcloudSecret } from "../../lib/compose/jumpcloud.ts";
import { EcsMapper } from "../../lib/ecs/mapper.ts";
import { FileDeadLetterSink } from "../../lib/elasticsearch/dead-letters.ts";
import { FileDocumentSink } from "../../lib/elasticsearch/file-sink.ts";
import { CollectionError, ConfigurationError, InputError } from "../../lib/errors.ts";
import { ApiKeyAuthenticator } from "../../lib/jumpcloud/auth.ts";
import { DirectoryInsightsClient } from "../../lib/jumpcloud/client.ts";
import { type Logger, silentLogger } from "../../lib/logger.ts";
import { loadSettings } from "../../lib/settings/load.ts";
import { JumpcloudSimulator } from "../../simulators/jumpcloud/server.ts";
import { generateTenantEvents } from "../../simulators/jumpcloud/tenant.ts";
import { fakeAws, fakeSecrets } from "../helpers/aws.ts";

const ORG_A = "5f0d0d0d0d0d0d0d0d0d0d0a";
const ORG_B = "5f0d0d0d0d0d0d0d0d0d0d0b";
const KEY = "handler-secret-key-987654";
const NOW = Date.parse("2026-06-01T12:00:00Z");
const HOUR = 3_600_000;
const ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jumpcloud-AbCdEf";

describe("collector Lambda handler", () => {
  const events = generateTenantEvents({
    seed: 31,
    start: NOW - 5 * HOUR,
    end: NOW - 120_000,
    count: 400,
    organization: ORG_A,
  });
  const sim = new JumpcloudSimulator({
    tenants: [
      { orgId: ORG_A, events },
      { orgId: ORG_B, events: [] },
    ],
    keys: [{ key: KEY, orgs: [ORG_A, ORG_B] }],
    now: () => NOW,
  });
  const lines: string[] = [];
  const logger: Logger = {
    debug: (m, f) => lines.push(JSON.stringify({ m, f })),
    info: (m, f) => lines.push(JSON.stringify({ m, f })),
    warn: (m, f) => lines.push(JSON.stringify({ m, f })),
    error: (m, f) => lines.push(JSON.stringify({ m, f })),
  };
  const invoked: CollectorRequest[] = [];
  let deps: CollectorDependencies;
  let sink: FileDocumentSink;
  const context = { awsRequestId: "req-1", getRemainingTimeInMillis: () => 600_000 };

  beforeAll(async () => {
    const apiUrl = await sim.start();
    const dir = mkdtempSync(join(tmpdir(), "collector-handler-"));
    const mapper = new EcsMapper();
    sink = new FileDocumentSink(dir, mapper.dataStream);
    deps = {
      settings: loadSettings({
        INITIAL_LOOKBACK: "6h",
        PAGE_LIMIT: "100",
        JUMPCLOUD_API_KEY: KEY,
        JUMPCLOUD_ORG_IDS: `${ORG_A},${ORG_B}`,
      }).settings,
      source: new DirectoryInsightsClient({ apiUrl, auth: new ApiKeyAuthenticator(KEY) }),
      store: new FileCheckpointStore(join(dir, "cp.json")),
      delivery: new InProcessDelivery({
        mapper,
        sink,
        deadLetters: new FileDeadLetterSink(dir),
        now: () => new Date(NOW),
      }),
      logger,
      invokeSelf: async (payload) => {
        invoked.push(payload);
      },
      now: () => NOW,
    };
  });
  afterAll(() => sim.stop());

  const handler = () => makeCollectorHandler(async () => deps);

  it("fans the schedule out, one asynchronous invocation per org", async () => {
    await expect(handler()({}, context)).resolves.toStrictEqual({ mode: "fanned-out", orgs: [ORG_A, ORG_B] });
    expect(invoked).toStrictEqual([{ orgId: ORG_A }, { orgId: ORG_B }]);
  });

  it("collects one org inline until caught up, and finds nothing new the second time", async () => {
    const first = await handler()({ orgId: ORG_A }, context);
    expect(first.mode).toBe("collected");
    const [summary] = first.mode === "collected" ? first.summaries : [];
    expect(summary).toMatchObject({
      orgId: ORG_A,
      status: "caught-up",
      fetched: 400,
      counts: { indexed: 400 },
    });
    const second = await handler()({ orgId: ORG_A }, context);
    expect(second.mode === "collected" && second.summaries[0]?.counts.indexed).toBe(0);
  });

  it("replays a window on its own checkpoint (all duplicates), leaving the scheduled cursor alone", async () => {
    const scheduled = await deps.store.get(checkpointKey(ORG_A, ["all"]));
    const start = new Date(NOW - 4 * HOUR).toISOString();
    const end = new Date(NOW - 3 * HOUR).toISOString();
    const result = await handler()({ replay: { start, end, orgId: ORG_A } }, context);
    const [summary] = result.mode === "collected" ? result.summaries : [];
    expect(summary?.counts.indexed).toBe(0);
    expect(summary?.counts.duplicates).toBe(
      events.filter((g) => g.at >= Date.parse(start) && g.at < Date.parse(end)).length,
    );
    expect(summary?.key).toContain("#replay#");
    expect(await deps.store.get(checkpointKey(ORG_A, ["all"]))).toMatchObject({ cursor: scheduled?.cursor });
  });

  it("replays every listed org in turn when the payload names none (the stack's ReplayCommand as written)", async () => {
    const [start, end] = [new Date(NOW - 3 * HOUR).toISOString(), new Date(NOW - 2 * HOUR).toISOString()];
    const result = await handler()({ replay: { start, end } }, context);
    expect(result.mode).toBe("collected");
    const summaries = result.mode === "collected" ? result.summaries : [];
    expect(summaries.map((s) => [s.orgId, s.status])).toStrictEqual([
      [ORG_A, "caught-up"],
      [ORG_B, "caught-up"],
    ]);
    const inWindow = events.filter((g) => g.at >= Date.parse(start) && g.at < Date.parse(end)).length;
    expect(summaries[0]?.fetched).toBe(inWindow);
    expect(summaries[1]?.key).toContain(`${ORG_B}#all#replay#`);
  });

  it("replays the other orgs when one fails, then fails naming it", async () => {
    const failing: CollectorDependencies = {
      ...deps,
      source: {
        pages: (query, signal) => {
          if (query.orgId === ORG_A) throw new Error("JumpCloud said 403 for this org");
          return deps.source.pages(query, signal);
        },
      } as CollectorDependencies["source"],
    };
    const [start, end] = [new Date(NOW - 4 * HOUR).toISOString(), new Date(NOW - 3.5 * HOUR).toISOString()];
    const error = await makeCollectorHandler(async () => failing)({ replay: { start, end } }, context).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CollectionError);
    expect(String(error)).toMatch(new RegExp(`failed for org\\(s\\) ${ORG_A} \\(1 other org\\(s\\) ran`));
    expect(
      (
        await deps.store.get(
          checkpointKey(ORG_B, ["all"], { start: Date.parse(start), end: Date.parse(end) }),
        )
      )?.done,
    ).toBe(true);
  });

  it("stops starting work when the Lambda's time runs short, and says work remains", async () => {
    const start = new Date(NOW - 5 * HOUR).toISOString();
    const result = await handler()(
      { replay: { start, end: new Date(NOW - HOUR).toISOString(), orgId: ORG_A } },
      { awsRequestId: "req-2", getRemainingTimeInMillis: () => 1_000 },
    );
    expect(result.mode === "collected" && result.summaries[0]).toMatchObject({
      status: "work-remaining",
      workRemaining: true,
    });
  });

  it.each([
    [{ orgId: "someone-else" }, /not in JUMPCLOUD_ORG_IDS/],
    [
      { replay: { start: "yesterday", end: "2026-01-01T00:00:00Z", orgId: ORG_A } },
      /replay.start must be an ISO 8601 time/,
    ],
    [
      { replay: { start: "2026-01-02T00:00:00Z", end: "2026-01-01T00:00:00Z", orgId: ORG_A } },
      /before replay.end/,
    ],
    [
      { replay: { start: "2026-01-01T00:00:00Z", end: "2026-01-02T00:00:00Z", orgId: "x" } },
      /not in JUMPCLOUD/,
    ],
    [
      {
        replay: { start: "2026-01-01T00:00:00Z", end: "2026-01-02T00:00:00Z", orgId: ORG_A, services: "sso" },
      },
      /replay.services/,
    ],
    [
      {
        replay: {
          start: "2026-01-01T00:00:00Z",
          end: "2026-01-02T00:00:00Z",
          orgId: ORG_A,
          services: ["bogus"],
        },
      },
      /replay.services: bogus is not a Directory Insights service/,
    ],
    [
      { replay: { start: "2026-01-01T00:00:00Z", end: "2099-01-02T00:00:00Z", orgId: ORG_A } },
      /replay.end \(2099-01-02T00:00:00.000Z\) is in the future/,
    ],
  ])("refuses a bad payload: %j", async (payload, message) => {
    const error = await handler()(payload as CollectorRequest, context).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect(String(error)).toMatch(message);
  });

  it("never logs or returns the key", async () => {
    const result = await handler()({ orgId: ORG_B }, context);
    expect(JSON.stringify(result)).not.toContain(KEY);
    expect(lines.join("\n")).not.toContain(KEY);
  });
});

describe("collector Lambda wiring", () => {
  it.each([
    [{ SOURCE_LAG: "2h", INITIAL_LOOKBACK: "1h" }, /SOURCE_LAG \(2h\) must be shorter than INITIAL_LOOKBACK/],
    [{ JUMPCLOUD_SECRET_ARN: "jc-secret" }, /JUMPCLOUD_SECRET_ARN must be a Secrets Manager secret ARN/],
    [{ JUMPCLOUD_SERVICES: "all,sso" }, /JUMPCLOUD_SERVICES cannot combine `all`/],
  ])("fails with one ConfigurationError naming the variable: %j", async (bad, message) => {
    const env = {
      JUMPCLOUD_SECRET_ARN: ARN,
      CHECKPOINT_TABLE: "cp",
      MAPPER_FUNCTION_NAME: "mapper",
      AWS_LAMBDA_FUNCTION_NAME: "collector",
      ...bad,
    };
    const error = await buildCollectorDependencies(env, silentLogger, fakeAws({})).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).problems).toStrictEqual([expect.stringMatching(message)]);
  });

  it("needs credentials to build a client", async () => {
    await expect(
      createEventSource(loadSettings({}).settings, { aws: fakeAws({}), logger: silentLogger }),
    ).rejects.toThrow(/JUMPCLOUD_API_KEY/);
  });

  it("says how to fill a secret the stack created and nobody filled yet", async () => {
    const secrets = fakeSecrets([`{"placeholder":"${SECRET_PLACEHOLDER}"}`]);
    const { settings } = loadSettings({ JUMPCLOUD_SECRET_ARN: ARN });
    const error = await createEventSource(settings, {
      aws: fakeAws({ secrets: secrets.client }),
      logger: silentLogger,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).problems).toStrictEqual([
      `secret not filled yet: aws secretsmanager put-secret-value --secret-id ${ARN} --secret-string '{"api_key":"<JumpCloud API key>"}'`,
    ]);
  });

  it("names everything Lambda needs at once", async () => {
    const error = await buildCollectorDependencies({}, silentLogger, fakeAws({})).catch((e: unknown) => e);
    expect((error as ConfigurationError).problems).toHaveLength(4);
  });
});

describe("JumpCloud secret", () => {
  it.each([
    ["k-123", { apiKey: "k-123" }],
    ['{"api_key":"k-1"}', { apiKey: "k-1" }],
    ['{"client_id":"id","client_secret":"s"}', { clientId: "id", clientSecret: "s" }],
  ])("reads %s", (text, expected) => {
    expect(parseJumpcloudSecret(text)).toStrictEqual(expected);
  });

  it("refuses malformed JSON without quoting it", () => {
    const error = (() => {
      try {
        return parseJumpcloudSecret('{"api_key": "very-secret-value"');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(String(error)).not.toContain("very-secret-value");
  });

  it("caches for the TTL (Powertools Parameters) and reads afresh when asked", async () => {
    const secrets = fakeSecrets(["v1", "v2", "v3"]);
    const reader = new SecretsManagerSecrets(secrets.client, 300);
    expect(await reader.read(ARN)).toBe("v1");
    expect(await reader.read(ARN)).toBe("v1");
    expect(await reader.read(ARN, { fresh: true })).toBe("v2");
    expect(await reader.read(ARN)).toBe("v2");
    expect(secrets.reads).toHaveLength(2);
  });

  it("reads the key from the secret's own region, and afresh after a 401 (rotation)", async () => {
    const secrets = fakeSecrets(["old-key-0001", "new-key-0002"]);
    const regions: string[] = [];
    const aws = {
      ...fakeAws({ secrets: secrets.client }),
      secrets: (region: string) => {
        regions.push(region);
        return new SecretsManagerSecrets(secrets.client);
      },
    };
    const sim = new JumpcloudSimulator({
      tenants: [{ orgId: ORG_A, events: [] }],
      keys: [{ key: "new-key-0002", orgs: [ORG_A] }],
      now: () => NOW,
    });
    const apiUrl = await sim.start();
    try {
      const { settings } = loadSettings({ JUMPCLOUD_SECRET_ARN: ARN, JUMPCLOUD_API_URL: apiUrl });
      const client = await createEventSource(settings, { aws, logger: silentLogger });
      await expect(
        client.count({ services: ["all"], start: new Date(NOW - HOUR), end: new Date(NOW) }),
      ).resolves.toBe(0);
      expect(regions).toStrictEqual(["eu-west-1"]);
      expect(secrets.reads).toHaveLength(2);
    } finally {
      await sim.stop();
    }
  });
});
