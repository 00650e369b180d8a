import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildMapperDependencies,
  cachedDependencies,
  handleSetup,
  isSetupRequest,
  makeMapperHandler,
} from "../../functions/mapper/handler.ts";
import { SECRET_PLACEHOLDER } from "../../lib/aws/secrets.ts";
import { createElasticsearchClient } from "../../lib/compose/elasticsearch.ts";
import { ConfigurationError, ElasticsearchRequestError } from "../../lib/errors.ts";
import { silentLogger } from "../../lib/logger.ts";
import { loadSettings } from "../../lib/settings/load.ts";
import { ElasticsearchEmulator } from "../../simulators/elasticsearch/server.ts";
import { fakeAws, fakeS3, fakeSecrets } from "../helpers/aws.ts";
import { rawEvents } from "../helpers/elasticsearch.ts";
import { fixturePath } from "../helpers/fixtures.ts";

describe("mapper Lambda wiring (AWS doubles, emulated Elasticsearch)", () => {
  const raw = rawEvents(25, 21);
  const es = new ElasticsearchEmulator({
    authorizations: ["ApiKey right-key"],
    rejectDocument: (doc) => ((doc.event as { id?: string }).id === raw[3]?.id ? "bad document" : undefined),
  });
  let env: Record<string, string>;

  beforeAll(async () => {
    env = {
      ELASTICSEARCH_URL: await es.start(),
      ELASTICSEARCH_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:es",
      DEAD_LETTER_BUCKET: "dead-letter-bucket",
      GEOIP_CITY_DB: "s3://geo-bucket/layers/GeoLite2-City-Test.mmdb",
      GEOIP_ASN_DB: fixturePath("geoip/GeoLite2-ASN-Test.mmdb"),
      DATA_STREAM_NAMESPACE: "prod",
      ELASTICSEARCH_REQUEST_TIMEOUT: "5s",
    };
  });
  afterAll(() => es.stop());

  it("builds everything from the environment and stores a batch, dead letters in S3", async () => {
    const s3 = fakeS3();
    const secrets = fakeSecrets(['{"api_key":"right-key"}']);
    const tmp = mkdtempSync(join(tmpdir(), "geo-"));
    const handler = makeMapperHandler(() =>
      buildMapperDependencies(env, silentLogger, fakeAws({ s3: s3.client, secrets: secrets.client }), {
        tmpDir: tmp,
      }),
    );

    const result = await handler({ events: raw, context: { orgId: "org-x" } });

    expect(result).toStrictEqual({
      received: 25,
      indexed: 24,
      duplicates: 0,
      deadLettered: 1,
      pipelineErrors: 0,
      withoutGeo: 0,
      withoutPipeline: 0,
    });
    expect(secrets.reads).toStrictEqual([env.ELASTICSEARCH_SECRET_ARN]);
    expect(s3.gets).toStrictEqual(["geo-bucket/layers/GeoLite2-City-Test.mmdb"]);
    expect(s3.puts).toHaveLength(1);
    expect(s3.puts[0]?.Key).toMatch(/^dead-letters\/dt=\d{4}-\d{2}-\d{2}\/org=org-x\/.+\.json$/);
    const stored = es.documents("logs-jumpcloud.events-prod");
    expect(stored).toHaveLength(24);
    // The first invocation installed the index template (nothing else does in a fresh deploy).
    expect(
      (es as unknown as { indexTemplates: Map<string, unknown> }).indexTemplates.has(
        "jumpcloud-elastic-logs-jumpcloud.events",
      ),
    ).toBe(true);
    expect(stored.some((d) => (d._source.client as { geo?: unknown } | undefined)?.geo)).toBe(true);
  });

  it("reads the secret again after Elasticsearch refuses it (rotation)", async () => {
    const secrets = fakeSecrets(['{"api_key":"old-key"}', '{"api_key":"right-key"}']);
    const aws = fakeAws({ s3: fakeS3().client, secrets: secrets.client });
    const dependencies = cachedDependencies((fresh) =>
      buildMapperDependencies(env, silentLogger, aws, { fresh, tmpDir: mkdtempSync(join(tmpdir(), "geo-")) }),
    );
    const handler = makeMapperHandler(dependencies.get, dependencies.invalidate);
    await expect(handler({ events: raw.slice(0, 2) })).rejects.toBeInstanceOf(ElasticsearchRequestError);
    await expect(handler({ events: raw.slice(0, 2) })).resolves.toMatchObject({ received: 2 });
    expect(secrets.reads).toHaveLength(2);
    // Warm invocations use the cached secret (Powertools' TTL cache): no third read.
    await expect(handler({ events: raw.slice(2, 4) })).resolves.toMatchObject({ received: 2 });
    expect(secrets.reads).toHaveLength(2);
  });

  it("reads the secret again at once after it held the stack's placeholder (no 5-minute wait)", async () => {
    const secrets = fakeSecrets([
      JSON.stringify({ placeholder: SECRET_PLACEHOLDER }),
      '{"api_key":"right-key"}',
    ]);
    const aws = fakeAws({ s3: fakeS3().client, secrets: secrets.client });
    const dependencies = cachedDependencies((fresh) =>
      buildMapperDependencies(env, silentLogger, aws, { fresh, tmpDir: mkdtempSync(join(tmpdir(), "geo-")) }),
    );
    const handler = makeMapperHandler(dependencies.get, dependencies.invalidate);
    await expect(handler({ events: raw.slice(0, 2) })).rejects.toThrow(/secret not filled yet/);
    // The operator ran put-secret-value: the very next invocation stores the batch.
    await expect(handler({ events: raw.slice(0, 2) })).resolves.toMatchObject({ received: 2 });
    expect(secrets.reads).toHaveLength(2);
  });

  it("names every missing setting at once", async () => {
    const error = await buildMapperDependencies(
      { DATA_STREAM_NAMESPACE: "Bad NS" },
      silentLogger,
      fakeAws({ s3: fakeS3().client, secrets: fakeSecrets([]).client }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).problems).toHaveLength(3);
  });

  it("downloads a GeoIP object again once it changed in S3, when the dependencies are next built", async () => {
    const s3 = fakeS3();
    const secrets = fakeSecrets(['{"api_key":"right-key"}']);
    const tmp = mkdtempSync(join(tmpdir(), "geo-"));
    let clock = 0;
    const dependencies = cachedDependencies(
      (fresh) =>
        buildMapperDependencies(env, silentLogger, fakeAws({ s3: s3.client, secrets: secrets.client }), {
          fresh,
          tmpDir: tmp,
        }),
      { maxAgeMs: 60_000, now: () => clock },
    );
    await dependencies.get();
    clock = 30_000;
    await dependencies.get();
    expect(s3.gets).toHaveLength(1);
    // Older than the max age: built again; the same ETag finds the copy in /tmp.
    clock = 120_000;
    await dependencies.get();
    expect(s3.gets).toHaveLength(1);
    s3.etags.current = '"v2"';
    clock = 200_000;
    await dependencies.get();
    expect(s3.gets).toStrictEqual([
      "geo-bucket/layers/GeoLite2-City-Test.mmdb",
      "geo-bucket/layers/GeoLite2-City-Test.mmdb",
    ]);
  });

  it("installs the index template and the ingest pipeline for the stack's custom resource, and never fails a deploy", async () => {
    const fresh = new ElasticsearchEmulator();
    const url = await fresh.start();
    try {
      const { settings } = loadSettings({ ELASTICSEARCH_URL: url });
      const client = async () => ({
        client: await createElasticsearchClient(settings, fakeAws({})),
        mode: "cluster" as const,
      });
      const created = await handleSetup({ RequestType: "Create" }, client, silentLogger);
      expect(created).toStrictEqual({
        PhysicalResourceId: "jumpcloud-elastic-index-template",
        Data: {
          Action: "installed/installed",
          Reason:
            "template jumpcloud-elastic-logs-jumpcloud.events, pipeline jumpcloud-elastic-logs-jumpcloud.events-geoip",
        },
      });
      // event.ingested, the integration's 8 GeoIP steps, the 4 @custom calls.
      expect(fresh.ingest.get("jumpcloud-elastic-logs-jumpcloud.events-geoip")?.processors).toHaveLength(13);
      expect((await handleSetup({ RequestType: "Update" }, client, silentLogger)).Data.Action).toBe(
        "unchanged/unchanged",
      );
      expect((await handleSetup({ RequestType: "Delete" }, client, silentLogger)).Data.Action).toBe("left");
      const unfilled = async () => {
        throw new ConfigurationError(["secret not filled yet: aws secretsmanager put-secret-value ..."]);
      };
      await expect(handleSetup({ RequestType: "Create" }, unfilled, silentLogger)).resolves.toMatchObject({
        Data: { Action: "skipped", Reason: "secret not filled yet: aws secretsmanager put-secret-value ..." },
      });
      expect(isSetupRequest({ RequestType: "Create" })).toBe(true);
      expect(isSetupRequest({ events: [] })).toBe(false);
    } finally {
      await fresh.stop();
    }
  });

  it("waits for the stack's GeoIP updater without stopping: a missing database object is a warning, documents go without geo", async () => {
    const missing = {
      send: async () => {
        throw Object.assign(new Error("UnknownError"), {
          // As the SDK reports S3's bodiless 403 to a HEAD (seen in the deployed-stack test).
          name: "Unknown",
          $metadata: { httpStatusCode: 403 },
        });
      },
    };
    const secrets = () => fakeSecrets(['{"api_key":"right-key"}']).client;
    const updaterEnv = {
      ...env,
      GEOIP_CITY_DB: "s3://bucket/geoip/GeoLite2-City.mmdb",
      GEOIP_ASN_DB: "s3://bucket/geoip/GeoLite2-ASN.mmdb",
    };
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (message: string) => void warnings.push(message) };
    const deps = await buildMapperDependencies(
      { ...updaterEnv, GEOIP_UPDATER: "stack-geoip-updater" },
      logger,
      fakeAws({ s3: missing as never, secrets: secrets() }),
    );
    const counts = await makeMapperHandler(async () => deps)({ events: raw.slice(0, 2) });
    expect(counts.indexed + counts.duplicates).toBe(2);
    expect(warnings.filter((w) => w.includes("is not there yet"))).toHaveLength(2);
    expect(warnings[0]).toMatch(
      /^s3:\/\/bucket\/geoip\/GeoLite2-City\.mmdb is not there yet: the GeoIP updater stack-geoip-updater has not run; fill its MaxMind secret, then `aws lambda invoke --function-name stack-geoip-updater out\.json`/,
    );
    // Without the updater, a database that cannot be read stops the mapper, named by its setting.
    await expect(
      buildMapperDependencies(
        updaterEnv,
        silentLogger,
        fakeAws({ s3: missing as never, secrets: secrets() }),
      ),
    ).rejects.toThrow(/GEOIP_CITY_DB: cannot download s3:\/\/bucket\/geoip\/GeoLite2-City\.mmdb/);
  });

  it("takes the cluster from the secret when no URL is configured (one secret to fill after deploying)", async () => {
    const secrets = fakeSecrets([JSON.stringify({ url: env.ELASTICSEARCH_URL, api_key: "right-key" })]);
    const { ELASTICSEARCH_URL: _, ...withoutUrl } = env;
    const deps = await buildMapperDependencies(
      { ...withoutUrl, GEOIP_CITY_DB: "", GEOIP_ASN_DB: "" },
      silentLogger,
      fakeAws({ s3: fakeS3().client, secrets: secrets.client }),
    );
    await expect(makeMapperHandler(async () => deps)({ events: rawEvents(2, 77) })).resolves.toMatchObject({
      received: 2,
      indexed: 2,
    });
  });

  it.each([
    [
      `{"placeholder":"${SECRET_PLACEHOLDER}"}`,
      /^secret not filled yet: aws secretsmanager put-secret-value --secret-id arn:\S+ --secret-string '\{"url":/,
    ],
    ['{"api_key":"k"}', /^set ELASTICSEARCH_URL or ELASTICSEARCH_CLOUD_ID, or "url" in the secret arn:/],
    ['{"api_key":"k","url":"http://es.example.com"}', /^"url" in the secret arn:\S+ must use https/],
    ['{"api_key":"k","cloud_id":"garbage"}', /^"cloud_id" in the secret arn:\S+ must be a Cloud ID/],
  ])("says what to fix in the secret: %s", async (value, message) => {
    const { ELASTICSEARCH_URL: _, ...withoutUrl } = env;
    const error = await buildMapperDependencies(
      { ...withoutUrl, GEOIP_CITY_DB: "", GEOIP_ASN_DB: "" },
      silentLogger,
      fakeAws({ s3: fakeS3().client, secrets: fakeSecrets([value]).client }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).problems).toStrictEqual([expect.stringMatching(message)]);
  });

  it.each([
    [
      { ELASTICSEARCH_URL: "", ELASTICSEARCH_CLOUD_ID: "garbage" },
      [],
      /^ELASTICSEARCH_CLOUD_ID must be a Cloud ID/,
    ],
    [
      { ELASTICSEARCH_SECRET_ARN: "es-secret" },
      [],
      /^ELASTICSEARCH_SECRET_ARN must be a Secrets Manager secret ARN/,
    ],
    [{}, [{ errorName: "CredentialsProviderError" }], /cannot read the secret .*: no AWS credentials/],
    [{}, [{ errorName: "ResourceNotFoundException" }], /cannot read the secret .*: it does not exist/],
    [{}, [{ errorName: "AccessDeniedException" }], /secretsmanager:GetSecretValue/],
    [
      { GEOIP_CITY_DB: fixturePath("geoip/GeoLite2-ASN-Test.mmdb") },
      [],
      /^GEOIP_CITY_DB: .* expected a City database/,
    ],
  ])("fails with one ConfigurationError, not a stack trace: %j", async (extra, secretAnswers, message) => {
    const secrets = fakeSecrets(secretAnswers.length > 0 ? secretAnswers : ['{"api_key":"right-key"}']);
    const error = await buildMapperDependencies(
      { ...env, GEOIP_CITY_DB: "", GEOIP_ASN_DB: "", ...extra },
      silentLogger,
      fakeAws({ s3: fakeS3().client, secrets: secrets.client }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).problems).toStrictEqual([expect.stringMatching(message)]);
  });
});
