import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildMapperDependencies,
  type MapperDependencies,
  makeMapperHandler,
} from "../../functions/mapper/handler.ts";
import { ConfigurationError, ElasticsearchRequestError } from "../../lib/errors.ts";
import { silentLogger } from "../../lib/logger.ts";
import { ElasticsearchEmulator } from "../../simulators/elasticsearch/server.ts";
import { rawEvents } from "../helpers/elasticsearch.ts";
import { fixturePath } from "../helpers/fixtures.ts";

/** S3 double: serves the test GeoIP databases and records dead letters. */
function fakeS3() {
  const puts: { Bucket?: string; Key?: string; Body?: string }[] = [];
  const gets: string[] = [];
  const client = {
    send: async (command: { constructor: { name: string }; input: Record<string, string> }) => {
      if (command.constructor.name === "GetObjectCommand") {
        gets.push(`${command.input.Bucket}/${command.input.Key}`);
        const bytes = readFileSync(fixturePath(`geoip/${command.input.Key?.split("/").pop()}`));
        return { Body: { transformToByteArray: async () => new Uint8Array(bytes) } };
      }
      puts.push(command.input);
      return {};
    },
  } as unknown as S3Client;
  return { client, puts, gets };
}

/** Secrets Manager double answering from a list, one value per read. */
function fakeSecrets(values: string[]) {
  const reads: string[] = [];
  const client = {
    send: async (command: { input: { SecretId: string } }) => {
      reads.push(command.input.SecretId);
      return { SecretString: values[Math.min(reads.length - 1, values.length - 1)] };
    },
  } as unknown as SecretsManagerClient;
  return { client, reads };
}

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
      ELASTICSEARCH_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:1:secret:es",
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
      buildMapperDependencies(env, silentLogger, { s3: s3.client, secrets: secrets.client }, tmp),
    );

    const result = await handler({ events: raw, context: { orgId: "org-x" } });

    expect(result).toStrictEqual({ received: 25, indexed: 24, duplicates: 0, deadLettered: 1 });
    expect(secrets.reads).toStrictEqual([env.ELASTICSEARCH_SECRET_ARN]);
    expect(s3.gets).toStrictEqual(["geo-bucket/layers/GeoLite2-City-Test.mmdb"]);
    expect(s3.puts).toHaveLength(1);
    expect(s3.puts[0]?.Key).toMatch(/^dead-letters\/dt=\d{4}-\d{2}-\d{2}\/org=org-x\/.+\.json$/);
    const stored = es.documents("logs-jumpcloud.events-prod");
    expect(stored).toHaveLength(24);
    expect(stored.some((d) => (d._source.client as { geo?: unknown } | undefined)?.geo)).toBe(true);
  });

  it("reads the secret again after Elasticsearch refuses it (rotation)", async () => {
    const secrets = fakeSecrets(['{"api_key":"old-key"}', '{"api_key":"right-key"}']);
    let cached: Promise<MapperDependencies> | undefined;
    const handler = makeMapperHandler(
      () => {
        cached ??= buildMapperDependencies(env, silentLogger, {
          s3: fakeS3().client,
          secrets: secrets.client,
        });
        return cached;
      },
      () => {
        cached = undefined;
      },
    );
    await expect(handler({ events: raw.slice(0, 2) })).rejects.toBeInstanceOf(ElasticsearchRequestError);
    await expect(handler({ events: raw.slice(0, 2) })).resolves.toMatchObject({ received: 2 });
    expect(secrets.reads).toHaveLength(2);
  });

  it("names every missing setting at once", async () => {
    const error = await buildMapperDependencies({ DATA_STREAM_NAMESPACE: "Bad NS" }, silentLogger, {
      s3: fakeS3().client,
      secrets: fakeSecrets([]).client,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).problems).toHaveLength(3);
  });
});
