import { describe, expect, it } from "vitest";
import { SECRET_PLACEHOLDER } from "../../lib/aws/secrets.ts";
import { createKibanaClient } from "../../lib/compose/kibana.ts";
import { ConfigurationError } from "../../lib/errors.ts";
import { type Environment, loadSettings } from "../../lib/settings/load.ts";
import { answeringSecrets, fakeAws } from "../helpers/aws.ts";

const ES_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:es-AbCdEf";
const KIBANA_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:kibana-AbCdEf";
const PLACEHOLDER = JSON.stringify({ placeholder: SECRET_PLACEHOLDER });
// name:base64("host$es-id$kibana-id"), as Elastic Cloud shows it.
const CLOUD_ID = `prod:${Buffer.from("eu-west-1.aws.found.io:443$es123$kb456").toString("base64")}`;

function secrets(values: Record<string, string>) {
  return fakeAws({ secrets: answeringSecrets((id) => values[id] ?? "").client });
}

async function connect(env: Environment, values: Record<string, string> = {}) {
  const client = await createKibanaClient(loadSettings(env).settings, secrets(values));
  return client.connection;
}

describe("the Kibana connection the settings make", () => {
  it("KIBANA_API_KEY wins; the space goes into every URL", async () => {
    const connection = await connect({
      KIBANA_URL: "https://kb.example.com/",
      KIBANA_API_KEY: "kb-key",
      KIBANA_SPACE: "soc",
      ELASTICSEARCH_URL: "https://es.example.com",
      ELASTICSEARCH_API_KEY: "es-key",
    });
    expect(connection).toMatchObject({
      url: "https://kb.example.com",
      space: "soc",
      authorization: "ApiKey kb-key",
      credentialSource: "KIBANA_API_KEY",
    });
  });

  it("without a key of its own: the Elasticsearch API key, or user and password", async () => {
    const base = { KIBANA_URL: "https://kb.example.com", ELASTICSEARCH_URL: "https://es.example.com" };
    expect((await connect({ ...base, ELASTICSEARCH_API_KEY: "es-key" })).authorization).toBe("ApiKey es-key");
    const basic = await connect({ ...base, ELASTICSEARCH_USERNAME: "elastic", ELASTICSEARCH_PASSWORD: "pw" });
    expect(basic.authorization).toBe(`Basic ${Buffer.from("elastic:pw").toString("base64")}`);
    expect(basic.credentialSource).toMatch(/^the Elasticsearch credentials/);
  });

  it("with a Cloud ID and no KIBANA_URL: the deployment's Kibana", async () => {
    const connection = await connect({ ELASTICSEARCH_CLOUD_ID: CLOUD_ID, ELASTICSEARCH_API_KEY: "k" });
    expect(connection.url).toBe("https://kb456.eu-west-1.aws.found.io");
  });

  it("in Lambda: the Kibana secret's key; left with its placeholder, the Elasticsearch secret's", async () => {
    const env = {
      KIBANA_URL: "https://kb.example.com",
      ELASTICSEARCH_SECRET_ARN: ES_ARN,
      KIBANA_SECRET_ARN: KIBANA_ARN,
    };
    const es = JSON.stringify({ url: "https://es.example.com", api_key: "es-key" });
    const own = await connect(env, { [ES_ARN]: es, [KIBANA_ARN]: JSON.stringify({ api_key: "kb-key" }) });
    expect(own.authorization).toBe("ApiKey kb-key");
    const fallback = await connect(env, { [ES_ARN]: es, [KIBANA_ARN]: PLACEHOLDER });
    expect(fallback.authorization).toBe("ApiKey es-key");
    // Both unfilled: the Elasticsearch secret's own "not filled yet" says which command fills it.
    await expect(connect(env, { [ES_ARN]: PLACEHOLDER, [KIBANA_ARN]: PLACEHOLDER })).rejects.toThrow(
      /^secret not filled yet: aws secretsmanager put-secret-value --secret-id arn:aws:secretsmanager:eu-west-1:123456789012:secret:es-AbCdEf/,
    );
    await expect(connect(env, { [ES_ARN]: es, [KIBANA_ARN]: "{not json" })).rejects.toThrow(
      /the Kibana secret .* is neither an API key nor valid JSON/,
    );
  });

  it("no Kibana or no credentials: a ConfigurationError saying what to set", async () => {
    await expect(
      connect({ ELASTICSEARCH_URL: "https://es.example.com", ELASTICSEARCH_API_KEY: "k" }),
    ).rejects.toThrow(/^set KIBANA_URL/);
    const none = connect({
      KIBANA_URL: "https://kb.example.com",
      ELASTICSEARCH_URL: "https://es.example.com",
    });
    await expect(none).rejects.toBeInstanceOf(ConfigurationError);
    await expect(none).rejects.toThrow(/no credentials for Kibana: set KIBANA_API_KEY/);
  });
});
