import { describe, expect, it } from "vitest";
import { collectOptions } from "../../lib/compose/collect.ts";
import { ConfigurationError } from "../../lib/errors.ts";
import { type Environment, loadSettings, type Overrides, parseSettings } from "../../lib/settings/load.ts";
import { functionVariables, SETTINGS, type SettingName } from "../../lib/settings/schema.ts";

const ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jc-AbCdEf";
const CLOUD_ID = `prod:${Buffer.from("eu-west-1.aws.found.io:443$es1234$kb5678").toString("base64")}`;

/** The problems loading `env` (and overrides) reports, or [] when it loads. */
function problemsOf(
  env: Environment,
  overrides: Overrides = {},
  require: Parameters<typeof loadSettings>[1] = {},
) {
  try {
    loadSettings(env, { overrides, ...require });
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return [...(error as ConfigurationError).problems];
  }
}

// Every setting: a good text and what it parses to, a bad text and what the message says.
// `extra` completes a combination the cross-field rules need (a pair, say).
const CASES: Record<
  SettingName,
  { good: string; value: unknown; bad?: string; message?: RegExp; extra?: Record<string, string> }
> = {
  jumpcloudApiUrl: {
    good: "EU",
    value: "https://api.eu.jumpcloud.com/insights/directory/v1",
    bad: "http://api.example.com",
    message: /must use https/,
  },
  jumpcloudTokenUrl: {
    good: "https://id.example.com/oauth2/token/",
    value: "https://id.example.com/oauth2/token",
    bad: "not a url",
    message: /must be a URL/,
  },
  jumpcloudApiKey: {
    good: " k-123 ",
    value: "k-123",
    bad: "k 123",
    message: /must be printable ASCII without spaces/,
  },
  jumpcloudClientId: { good: "id", value: "id", extra: { JUMPCLOUD_CLIENT_SECRET: "s" } },
  jumpcloudClientSecret: { good: "s", value: "s", extra: { JUMPCLOUD_CLIENT_ID: "id" } },
  jumpcloudSecretArn: {
    good: ARN,
    value: ARN,
    bad: "jc-secret",
    message: /must be a Secrets Manager secret ARN/,
  },
  jumpcloudOrgIds: {
    good: "5f0000000000000000000001, 5F0000000000000000000002,,",
    value: ["5f0000000000000000000001", "5F0000000000000000000002"],
    bad: "5f0000000000000000000001,o2",
    message: /^JUMPCLOUD_ORG_IDS holds "o2", which is not a JumpCloud org id \(24 hexadecimal characters/,
  },
  jumpcloudServices: {
    good: "sso, radius",
    value: ["sso", "radius"],
    bad: "all,sso",
    message: /cannot combine `all`/,
  },
  jumpcloudTimeout: {
    good: "10s",
    value: 10_000,
    bad: "forever",
    message: /must be a duration .* from 1s to 10m, not "forever"/,
  },
  sourceLag: {
    good: "2m",
    value: 120_000,
    bad: "soon",
    message: /must be a duration such as 30s, 5m, 2h or 15d/,
  },
  overlap: {
    good: "2m",
    value: 120_000,
    bad: "soon",
    message: /OVERLAP must be a duration such as 30s, 5m, 2h or 15d, from 0s to 1d, not "soon"/,
  },
  maxWindow: { good: "30m", value: 1_800_000, bad: "500ms", message: /from 1s to 7d/ },
  initialLookback: { good: "15d", value: 1_296_000_000, bad: "120d", message: /from 1m to 90d/ },
  safetyMargin: { good: "30s", value: 30_000, bad: "1s", message: /from 5s to 10m/ },
  leaseDuration: { good: "5m", value: 300_000, bad: "10s", message: /from 30s to 2h/ },
  pageLimit: {
    good: "500",
    value: 500,
    bad: "abc",
    message: /must be a whole number from 1 to 10000, not "abc"/,
  },
  backfillConcurrency: { good: "8", value: 8, bad: "0", message: /from 1 to 32, not "0"/ },
  maxEventsPerWindow: { good: "1000", value: 1_000, bad: "1.5", message: /whole number/ },
  orgConcurrency: { good: "2", value: 2, bad: "65", message: /from 1 to 64/ },
  checkpointTable: { good: "cp", value: "cp" },
  checkpointFile: { good: "/tmp/cp.json", value: "/tmp/cp.json" },
  mapperFunctionName: { good: "mapper", value: "mapper" },
  recheckAfter: { good: "12h", value: 43_200_000, bad: "31d", message: /from 0s to 30d, not "31d"/ },
  claimCheckBucket: { good: "dead-letters-bucket", value: "dead-letters-bucket" },
  namespace: { good: "prod_eu", value: "prod_eu", bad: "Prod-1", message: /must be lowercase/ },
  tags: { good: "a, b,,", value: ["a", "b"] },
  preserveOriginalEvent: {
    good: "TRUE",
    value: true,
    bad: "maybe",
    message: /must be true or false, not "maybe"/,
  },
  preserveDuplicateCustomFields: { good: "1", value: true, bad: "2", message: /must be true or false/ },
  lookUpExisting: {
    good: "Rereads",
    value: "rereads",
    bad: "some",
    message: /must be `all`, `rereads` or `off`, not "some"/,
  },
  geoIp: {
    good: "Cluster",
    value: "cluster",
    bad: "maxmind",
    message: /must be `cluster`, `files` or `off`, not "maxmind"/,
  },
  geoIpCityDb: { good: "/opt/City.mmdb", value: "/opt/City.mmdb" },
  geoIpAsnDb: { good: "s3://b/ASN.mmdb", value: "s3://b/ASN.mmdb" },
  elasticsearchUrl: {
    good: "https://es.example.com:9243/",
    value: "https://es.example.com:9243",
    bad: "https://u:p@es.example.com",
    message: /must not carry credentials/,
  },
  elasticsearchCloudId: { good: CLOUD_ID, value: CLOUD_ID, bad: "garbage", message: /must be a Cloud ID/ },
  elasticsearchApiKey: {
    good: "es-key",
    value: "es-key",
    bad: "es\nkey",
    message: /printable ASCII/,
    extra: { ELASTICSEARCH_URL: "https://es.example.com" },
  },
  elasticsearchUsername: {
    good: "elastic",
    value: "elastic",
    extra: { ELASTICSEARCH_PASSWORD: "pw", ELASTICSEARCH_URL: "https://es.example.com" },
  },
  elasticsearchPassword: {
    good: "pw",
    value: "pw",
    extra: { ELASTICSEARCH_USERNAME: "elastic", ELASTICSEARCH_URL: "https://es.example.com" },
  },
  elasticsearchSecretArn: { good: ARN, value: ARN, bad: "arn:aws:s3:::bucket", message: /secret ARN/ },
  elasticsearchCaCert: { good: "/etc/ca.pem", value: "/etc/ca.pem" },
  elasticsearchRequestTimeout: { good: "5s", value: 5_000, bad: "0s", message: /from 100ms to 10m/ },
  elasticsearchCompression: { good: "off", value: false, bad: "gzip", message: /true or false/ },
  elasticsearchBulkMaxMb: { good: "2.5", value: 2.5, bad: "0", message: /megabytes above 0, at most 100/ },
  kibanaUrl: {
    good: "https://kibana.example.com:5601/",
    value: "https://kibana.example.com:5601",
    bad: "http://kibana.example.com",
    message: /must use https/,
  },
  kibanaApiKey: {
    good: "kb-key",
    value: "kb-key",
    bad: "kb key",
    message: /printable ASCII/,
    extra: { KIBANA_URL: "https://kibana.example.com" },
  },
  kibanaSecretArn: { good: ARN, value: ARN, bad: "arn:aws:s3:::bucket", message: /secret ARN/ },
  kibanaSpace: {
    good: "security",
    value: "security",
    bad: "Security Team",
    message: /must be a Kibana space id/,
    extra: { KIBANA_URL: "https://kibana.example.com" },
  },
  deadLetterBucket: { good: "dl", value: "dl" },
  deadLetterPrefix: { good: "x/", value: "x/" },
  deadLetterDir: { good: "/tmp/dl", value: "/tmp/dl" },
  httpsProxy: {
    good: "http://user:pw@proxy.example.com:3128",
    value: "http://user:pw@proxy.example.com:3128",
    bad: "socks5://proxy:1080",
    message: /^HTTPS_PROXY must be an http:\/\/ or https:\/\/ URL$/,
  },
  httpProxy: {
    good: "http://proxy:3128",
    value: "http://proxy:3128",
    bad: "proxy",
    message: /HTTP_PROXY must be a URL/,
  },
  geoIpUpdater: { good: "stack-geoip-updater", value: "stack-geoip-updater" },
  maxmindAccountId: {
    good: "123456",
    value: "123456",
    bad: "12 34",
    message: /printable ASCII without spaces/,
  },
  maxmindLicenseKey: { good: "abc_mmk", value: "abc_mmk", bad: "a b", message: /printable ASCII/ },
  maxmindSecretArn: { good: ARN, value: ARN, bad: "maxmind", message: /secret ARN/ },
  maxmindDownloadUrl: {
    good: "https://mirror.example.com/",
    value: "https://mirror.example.com",
    bad: "ftp://x",
    message: /./,
  },
  geoIpUpdateTarget: {
    good: "s3://bucket/geoip/",
    value: "s3://bucket/geoip/",
    bad: "s3://bucket/geoip",
    message: /must be s3:\/\/bucket\/prefix\/ \(ending in \/\)/,
  },
  noProxy: { good: "localhost,.internal", value: ["localhost", ".internal"] },
  lambdaFunctionName: { good: "collector", value: "collector" },
  awsRegion: { good: "eu-west-1", value: "eu-west-1" },
};

describe("settings schema", () => {
  it("covers every setting, each with a description, a kind and the functions that read it", () => {
    expect(Object.keys(CASES).sort()).toStrictEqual(Object.keys(SETTINGS).sort());
    for (const spec of Object.values(SETTINGS)) {
      expect(spec.description.length).toBeGreaterThan(10);
      expect(spec.env).toMatch(/^[A-Z][A-Z0-9_]+$/);
      if (spec.providedByLambda) expect(spec.env).toMatch(/^AWS_/);
    }
  });

  it("has the documented defaults", () => {
    const { settings, warnings } = loadSettings({});
    expect(warnings).toStrictEqual([]);
    expect(settings).toMatchObject({
      jumpcloudApiUrl: "https://api.jumpcloud.com/insights/directory/v1",
      jumpcloudTokenUrl: undefined,
      jumpcloudApiKey: undefined,
      jumpcloudOrgIds: [],
      jumpcloudServices: ["all"],
      jumpcloudTimeout: 30_000,
      sourceLag: 60_000,
      overlap: 300_000,
      maxWindow: 3_600_000,
      recheckAfter: 86_400_000,
      initialLookback: 86_400_000,
      pageLimit: 1_000,
      namespace: "default",
      tags: ["forwarded"],
      preserveOriginalEvent: false,
      preserveDuplicateCustomFields: false,
      geoIpCityDb: undefined,
      geoIpAsnDb: undefined,
      elasticsearchCompression: true,
      elasticsearchBulkMaxMb: 5,
      lookUpExisting: "all",
      deadLetterPrefix: "dead-letters/",
      checkpointFile: ".jumpcloud-elastic/checkpoints.json",
    });
  });

  it("treats an empty variable as unset", () => {
    expect(loadSettings({ OVERLAP: "", DATA_STREAM_NAMESPACE: "  " }).settings).toMatchObject({
      overlap: 300_000,
      namespace: "default",
    });
  });

  describe.each(Object.entries(CASES) as [SettingName, (typeof CASES)[SettingName]][])("%s", (name, c) => {
    const spec = SETTINGS[name];
    it(`reads ${spec.env}`, () => {
      expect(loadSettings({ ...c.extra, [spec.env]: c.good }).settings[name]).toStrictEqual(c.value);
    });

    it.runIf(c.bad !== undefined)(`names ${spec.env} when it is wrong`, () => {
      const problems = problemsOf({ ...c.extra, [spec.env]: c.bad as string });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(new RegExp(`^${spec.env}\\b`));
      expect(problems[0]).toMatch(c.message as RegExp);
      if (spec.secret) expect(problems[0]).not.toContain(JSON.stringify(c.bad));
    });

    it.runIf(spec.flag !== undefined && c.bad !== undefined)(
      `names ${spec.flag} when the flag is wrong`,
      () => {
        const problems = problemsOf({ [spec.env]: c.good }, { [name]: { value: c.bad } } as Overrides);
        expect(problems).toHaveLength(1);
        expect(problems[0]).toMatch(new RegExp(`^${spec.flag}\\b`));
        expect(problems[0]).not.toContain(spec.env);
      },
    );
  });

  it("lets a flag win over the variable", () => {
    const { settings } = loadSettings(
      { DATA_STREAM_NAMESPACE: "env_ns" },
      { overrides: { namespace: { value: "flag_ns" } } },
    );
    expect(settings.namespace).toBe("flag_ns");
  });

  it("takes typed overrides, and an undefined override unsets what the environment says", () => {
    const { settings } = loadSettings(
      { JUMPCLOUD_API_KEY: "real-key", JUMPCLOUD_ORG_IDS: "5f0000000000000000000001" },
      {
        overrides: {
          pageLimit: { value: 20 },
          jumpcloudApiKey: { value: undefined },
          jumpcloudOrgIds: { value: [] },
        },
      },
    );
    expect(settings).toMatchObject({ pageLimit: 20, jumpcloudApiKey: undefined, jumpcloudOrgIds: [] });
    expect(problemsOf({}, { pageLimit: { value: 0, source: "--limit" } })).toStrictEqual([
      "--limit must be a whole number from 1 to 10000, not 0",
    ]);
  });

  it("reports every problem at once, in one error, without echoing secrets", () => {
    const problems = problemsOf({
      JUMPCLOUD_API_URL: "http://api.example.com",
      JUMPCLOUD_API_KEY: "very-secret-key",
      JUMPCLOUD_CLIENT_ID: "id",
      JUMPCLOUD_SERVICES: "all,sso",
      JUMPCLOUD_TIMEOUT: "forever",
      DATA_STREAM_NAMESPACE: "Prod-1",
      PRESERVE_ORIGINAL_EVENT: "maybe",
      PRESERVE_DUPLICATE_CUSTOM_FIELDS: "2",
      ELASTICSEARCH_PASSWORD: "hunter2-password",
    });
    const text = problems.join("\n");
    expect(problems).toHaveLength(8);
    for (const name of [
      "JUMPCLOUD_API_URL",
      "JUMPCLOUD_TIMEOUT",
      "JUMPCLOUD_SERVICES",
      "DATA_STREAM_NAMESPACE",
      "PRESERVE_ORIGINAL_EVENT",
      "PRESERVE_DUPLICATE_CUSTOM_FIELDS",
      "ELASTICSEARCH_USERNAME + ELASTICSEARCH_PASSWORD",
    ]) {
      expect(text).toContain(name);
    }
    expect(text).toMatch(
      /set one of JUMPCLOUD_API_KEY, or JUMPCLOUD_CLIENT_ID \+ JUMPCLOUD_CLIENT_SECRET, not several/,
    );
    expect(text).not.toContain("very-secret-key");
    expect(text).not.toContain("hunter2-password");
  });

  it.each(["a".repeat(101), "with space", "a/b", "a#b", "UPPER"])("refuses the namespace %j", (ns) => {
    expect(problemsOf({ DATA_STREAM_NAMESPACE: ns })[0]).toMatch(/^DATA_STREAM_NAMESPACE must/);
  });
});

describe("collector settings (moved from the collector configuration test)", () => {
  it("reads durations and limits into the collector's options, naming every problem at once", () => {
    const { settings } = loadSettings({ SOURCE_LAG: "2m", OVERLAP: "10m", BACKFILL_CONCURRENCY: "8" });
    expect(collectOptions(settings, {})).toMatchObject({
      windows: { sourceLag: 120_000, overlap: 600_000 },
      backfillConcurrency: 8,
    });
    expect(problemsOf({ SOURCE_LAG: "soon", PAGE_LIMIT: "20000", INITIAL_LOOKBACK: "120d" })).toHaveLength(3);
  });

  it("reads a duration with a default and names a bad one", () => {
    expect(loadSettings({}).settings.overlap).toBe(300_000);
    expect(loadSettings({ OVERLAP: "2m" }).settings.overlap).toBe(120_000);
    expect(problemsOf({ OVERLAP: "soon" })).toStrictEqual([
      'OVERLAP must be a duration such as 30s, 5m, 2h or 15d, from 0s to 1d, not "soon"',
    ]);
  });
});

describe("rules across settings", () => {
  it.each([
    [
      { SOURCE_LAG: "2h", INITIAL_LOOKBACK: "1h" },
      /^SOURCE_LAG \(2h\) must be shorter than INITIAL_LOOKBACK \(1h\): .*nothing would ever be collected/,
    ],
    [
      { SOURCE_LAG: "1h", INITIAL_LOOKBACK: "1h" },
      /^SOURCE_LAG \(1h\) must be shorter than INITIAL_LOOKBACK/,
    ],
    [
      { OVERLAP: "12h", INITIAL_LOOKBACK: "6h" },
      /^OVERLAP \(12h\) must be shorter than INITIAL_LOOKBACK \(6h\)/,
    ],
    [{ OVERLAP: "1d" }, /^OVERLAP \(1d\) must be shorter than INITIAL_LOOKBACK \(1d\)/],
    [
      { JUMPCLOUD_API_KEY: "k", JUMPCLOUD_SECRET_ARN: ARN },
      /^set one of JUMPCLOUD_API_KEY, or JUMPCLOUD_SECRET_ARN, not several/,
    ],
    [{ JUMPCLOUD_CLIENT_SECRET: "s" }, /^JUMPCLOUD_CLIENT_ID \+ JUMPCLOUD_CLIENT_SECRET go together/],
    [
      {
        JUMPCLOUD_API_URL: "https://proxy.example.com",
        JUMPCLOUD_CLIENT_ID: "i",
        JUMPCLOUD_CLIENT_SECRET: "s",
      },
      /^JUMPCLOUD_TOKEN_URL is required with a service account and a custom JUMPCLOUD_API_URL/,
    ],
    [
      { ELASTICSEARCH_URL: "https://es.example.com", ELASTICSEARCH_CLOUD_ID: CLOUD_ID },
      /^set ELASTICSEARCH_URL or ELASTICSEARCH_CLOUD_ID, not both/,
    ],
    [
      { ELASTICSEARCH_API_KEY: "k", ELASTICSEARCH_SECRET_ARN: ARN },
      /^set one of ELASTICSEARCH_API_KEY, or ELASTICSEARCH_SECRET_ARN, not several/,
    ],
    [{ ELASTICSEARCH_USERNAME: "u" }, /^ELASTICSEARCH_USERNAME \+ ELASTICSEARCH_PASSWORD go together/],
    [{ JUMPCLOUD_SERVICES: "," }, /^JUMPCLOUD_SERVICES needs at least one service/],
  ])("%j", (env, message) => {
    const problems = problemsOf(env as Environment);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it("tells credential and cluster conflicts even when a value of theirs did not parse", () => {
    const problems = problemsOf({
      JUMPCLOUD_API_KEY: "a b",
      JUMPCLOUD_CLIENT_ID: "x",
      ELASTICSEARCH_URL: "http://es.example.com",
      ELASTICSEARCH_CLOUD_ID: "garbage",
      ELASTICSEARCH_API_KEY: "a b",
      ELASTICSEARCH_USERNAME: "u",
    }).join("\n");
    for (const expected of [
      /JUMPCLOUD_API_KEY must be printable ASCII/,
      /set one of JUMPCLOUD_API_KEY, or JUMPCLOUD_CLIENT_ID \+ JUMPCLOUD_CLIENT_SECRET, not several/,
      /ELASTICSEARCH_URL must use https/,
      /ELASTICSEARCH_CLOUD_ID must be a Cloud ID/,
      /set ELASTICSEARCH_URL or ELASTICSEARCH_CLOUD_ID, not both/,
      /set one of ELASTICSEARCH_API_KEY, or ELASTICSEARCH_USERNAME \+ ELASTICSEARCH_PASSWORD, not several/,
    ]) {
      expect(problems).toMatch(expected);
    }
  });

  it.each([
    [
      { ELASTICSEARCH_API_KEY: "k" },
      /^ELASTICSEARCH_API_KEY is set but no cluster is: set ELASTICSEARCH_URL/,
    ],
    [
      { ELASTICSEARCH_USERNAME: "u", ELASTICSEARCH_PASSWORD: "p" },
      /^ELASTICSEARCH_USERNAME \+ ELASTICSEARCH_PASSWORD is set but no cluster/,
    ],
  ])("refuses credentials for no cluster (a misspelt URL variable): %j", (env, message) => {
    expect(problemsOf(env)).toStrictEqual([expect.stringMatching(message)]);
  });

  it("accepts a secret without a cluster variable (the secret may hold the url)", () => {
    expect(problemsOf({ ELASTICSEARCH_SECRET_ARN: ARN }, {}, { require: ["cluster"] })).toStrictEqual([]);
  });

  it("does not warn about unknown names in a list that is refused anyway", () => {
    expect(problemsOf({ JUMPCLOUD_SERVICES: "all,bogus" })).toStrictEqual([
      "JUMPCLOUD_SERVICES cannot combine `all` with named services",
    ]);
    expect(parseSettings({ JUMPCLOUD_SERVICES: "all,bogus" }).warnings).toStrictEqual([]);
  });

  it("names the flag in a rule when the setting came from one", () => {
    expect(
      problemsOf({ INITIAL_LOOKBACK: "1h" }, { sourceLag: { value: "2h", source: "--lag" } })[0],
    ).toMatch(/^--lag \(2h\) must be shorter than INITIAL_LOOKBACK/);
  });

  it("skips a rule whose settings did not parse (the parse problem is enough)", () => {
    expect(problemsOf({ SOURCE_LAG: "soon", INITIAL_LOOKBACK: "1h" })).toHaveLength(1);
  });

  it("warns that a CIDR range in NO_PROXY is not read", () => {
    const { warnings } = loadSettings({ NO_PROXY: "localhost,10.0.0.0/8" });
    expect(warnings).toStrictEqual([
      "NO_PROXY: 10.0.0.0/8 is a CIDR range, which this tool does not read: name the hosts or addresses instead",
    ]);
  });

  it("refuses a service Directory Insights does not have, before any request (JumpCloud would answer 400)", () => {
    expect(problemsOf({ JUMPCLOUD_SERVICES: "sso,privileged_access" })).toStrictEqual([
      expect.stringMatching(
        /^JUMPCLOUD_SERVICES: privileged_access is not a Directory Insights service \(one of all, alerts, /,
      ),
    ]);
    expect(problemsOf({}, { jumpcloudServices: { value: "bogus", source: "--services" } })[0]).toMatch(
      /^--services: bogus is not/,
    );
  });

  it.each([
    ["jumpcloudCredentials", {}, /JumpCloud credentials are missing: set JUMPCLOUD_API_KEY/],
    ["cluster", {}, /set ELASTICSEARCH_URL or ELASTICSEARCH_CLOUD_ID/],
    ["deadLetterBucket", {}, /DEAD_LETTER_BUCKET is required/],
    ["checkpointTable", {}, /CHECKPOINT_TABLE is required/],
    ["mapperFunctionName", {}, /MAPPER_FUNCTION_NAME is required/],
    ["lambdaFunctionName", {}, /AWS_LAMBDA_FUNCTION_NAME is not set/],
  ] as const)("requires %s where the entry point needs it", (requirement, env, message) => {
    expect(problemsOf(env, {}, { require: [requirement] })).toStrictEqual([expect.stringMatching(message)]);
  });

  it("accepts each credential way on its own", () => {
    for (const env of [
      { JUMPCLOUD_API_KEY: "k" },
      { JUMPCLOUD_CLIENT_ID: "i", JUMPCLOUD_CLIENT_SECRET: "s" },
      { JUMPCLOUD_SECRET_ARN: ARN },
    ]) {
      expect(problemsOf(env, {}, { require: ["jumpcloudCredentials"] })).toStrictEqual([]);
    }
  });
});

describe("function environments (for the CDK stack)", () => {
  it("lists what each function reads, never what Lambda provides", () => {
    const collector = functionVariables("collector");
    const mapper = functionVariables("mapper");
    expect(collector).toEqual(
      expect.arrayContaining([
        "CHECKPOINT_TABLE",
        "MAPPER_FUNCTION_NAME",
        "JUMPCLOUD_SECRET_ARN",
        "LEASE_DURATION",
      ]),
    );
    expect(mapper).toEqual(
      expect.arrayContaining(["ELASTICSEARCH_SECRET_ARN", "DEAD_LETTER_BUCKET", "DATA_STREAM_NAMESPACE"]),
    );
    for (const names of [collector, mapper]) {
      expect(names).not.toContain("AWS_REGION");
      expect(names).not.toContain("AWS_LAMBDA_FUNCTION_NAME");
      expect(names).not.toContain("JUMPCLOUD_API_KEY");
      expect(names).not.toContain("ELASTICSEARCH_PASSWORD");
    }
  });
});
