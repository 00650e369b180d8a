import { parseSecretArn } from "../aws/secrets.ts";
import { REGIONS, regionApiUrl, serviceUrlProblem } from "../jumpcloud/regions.ts";
import {
  booleanValue,
  checked,
  durationValue,
  integerValue,
  listValue,
  mappedText,
  numberValue,
  oneOf,
  textValue,
  type ValueKind,
} from "./values.ts";

/** Which Lambda function reads a setting (the CDK stack sets exactly these). */
export type FunctionRole = "collector" | "mapper" | "updater";

/** One setting: its variable, value kind, default, and who reads it. */
export interface SettingSpec<T> {
  /** Environment variable. */
  env: string;
  /** One line for the README and `--help`. */
  description: string;
  kind: ValueKind<T>;
  /** Applied when neither the variable nor a flag is set. */
  default?: T;
  /** The default as the README shows it, when it is not the plain value. */
  defaultText?: string;
  /** The CLI flag that overrides it, where one does. */
  flag?: string;
  /** Never echoed in messages. */
  secret?: boolean;
  /** Set by the Lambda runtime: read, never set by the stack (Lambda refuses reserved keys). */
  providedByLambda?: boolean;
  /** The Lambda functions that read it; none: local runs only. */
  usedBy: readonly FunctionRole[];
}

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const COLLECTOR: readonly FunctionRole[] = ["collector"];
const MAPPER: readonly FunctionRole[] = ["mapper"];
const UPDATER: readonly FunctionRole[] = ["updater"];
const LOCAL: readonly FunctionRole[] = [];

// Elasticsearch's rules for the namespace part of a data stream name.
const NAMESPACE_FORBIDDEN = /[\\/*?"<>|,# :A-Z-]/;

/** The problem with a data stream namespace, or `undefined` when Elasticsearch accepts it. */
export function namespaceProblem(namespace: string): string | undefined {
  if (Buffer.byteLength(namespace) > 100) return "must be at most 100 bytes";
  if (NAMESPACE_FORBIDDEN.test(namespace))
    return 'must be lowercase and contain none of \\ / * ? " < > | , # : - or spaces';
  return undefined;
}

/** The problem with an Elastic Cloud ID, checked as the Elasticsearch client decodes it. */
export function cloudIdProblem(id: string): string | undefined {
  const [name, encoded, ...rest] = id.split(":");
  const parts = Buffer.from(encoded ?? "", "base64")
    .toString("utf8")
    .split("$");
  if (name === undefined || rest.length > 0 || !encoded || parts.length < 2 || !parts[0] || !parts[1]) {
    return "must be a Cloud ID as the Elastic Cloud console shows it (name:base64 of host$es-id$kibana-id)";
  }
  return undefined;
}

// Printable ASCII without spaces: anything else cannot travel in an HTTP header.
const headerSafe = (text: string) =>
  /^[\x21-\x7e]+$/.test(text) ? undefined : "must be printable ASCII without spaces (it is sent in a header)";
const credentialValue = (expects: string) => checked(textValue(expects), headerSafe);

const withoutTrailingSlash = (url: string) => url.replace(/\/+$/, "");
const urlValue = () => mappedText("a URL", serviceUrlProblem, withoutTrailingSlash);
const secretArnValue = () =>
  checked(textValue("a Secrets Manager secret ARN"), (text) =>
    parseSecretArn(text)
      ? undefined
      : "must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)",
  );

function spec<T>(s: SettingSpec<T> & { default: T }): SettingSpec<T> & { default: T };
function spec<T>(s: SettingSpec<T>): SettingSpec<T>;
function spec<T>(s: SettingSpec<T>): SettingSpec<T> {
  return s;
}

const durations = {
  sourceLag: spec({
    env: "SOURCE_LAG",
    description: "how far behind now the collector stays (JumpCloud indexes events with a delay)",
    kind: durationValue(0, DAY),
    default: MINUTE,
    defaultText: "1m",
    usedBy: COLLECTOR,
  }),
  overlap: spec({
    env: "OVERLAP",
    description: "how far back before the cursor each run re-reads, for events that arrived late",
    kind: durationValue(0, DAY),
    default: 5 * MINUTE,
    defaultText: "5m",
    usedBy: COLLECTOR,
  }),
  recheckAfter: spec({
    env: "RECHECK_AFTER",
    description:
      "read each span once more when it is this old, to store events JumpCloud made visible later than OVERLAP (counted as `LateEvents`); 0 turns it off",
    kind: durationValue(0, 30 * DAY),
    default: DAY,
    defaultText: "24h",
    usedBy: COLLECTOR,
  }),
  maxWindow: spec({
    env: "MAX_WINDOW",
    description: "widest time window read in one go",
    kind: durationValue(SECOND, 7 * DAY),
    default: HOUR,
    defaultText: "1h",
    usedBy: COLLECTOR,
  }),
  initialLookback: spec({
    env: "INITIAL_LOOKBACK",
    description: "where the first run starts, back from now (JumpCloud keeps 15 to 90 days)",
    kind: durationValue(MINUTE, 90 * DAY),
    default: DAY,
    defaultText: "1d",
    usedBy: COLLECTOR,
  }),
  safetyMargin: spec({
    env: "SAFETY_MARGIN",
    description: "stop starting work when this little Lambda time is left",
    kind: durationValue(5 * SECOND, 10 * MINUTE),
    default: MINUTE,
    defaultText: "1m",
    usedBy: COLLECTOR,
  }),
  leaseDuration: spec({
    env: "LEASE_DURATION",
    description:
      "checkpoint lease length, at most the schedule interval (a killed run delays the next by at most this); renewed every third of it while a run works",
    kind: durationValue(30 * SECOND, 2 * HOUR),
    default: 5 * MINUTE,
    defaultText: "5m",
    usedBy: COLLECTOR,
  }),
};

const jumpcloud = {
  jumpcloudApiUrl: spec({
    env: "JUMPCLOUD_API_URL",
    description: "Directory Insights region (`us`, `eu`, `in`) or base URL (https; http only on localhost)",
    kind: mappedText(
      "a region (us, eu, in) or a URL",
      (text) => (regionApiUrl(text) ? undefined : serviceUrlProblem(text)),
      (text) => regionApiUrl(text) ?? withoutTrailingSlash(text),
    ),
    default: REGIONS.us.apiUrl,
    defaultText: `\`us\`: ${REGIONS.us.apiUrl}`,
    usedBy: COLLECTOR,
  }),
  jumpcloudTokenUrl: spec({
    env: "JUMPCLOUD_TOKEN_URL",
    description: "OAuth token endpoint; needed with a service account and a custom API URL",
    kind: urlValue(),
    defaultText: "the region's",
    usedBy: COLLECTOR,
  }),
  jumpcloudApiKey: spec({
    env: "JUMPCLOUD_API_KEY",
    description: "admin API key, sent as `x-api-key` (local runs; Lambda: JUMPCLOUD_SECRET_ARN)",
    kind: credentialValue("an API key"),
    secret: true,
    usedBy: LOCAL,
  }),
  jumpcloudClientId: spec({
    env: "JUMPCLOUD_CLIENT_ID",
    description: "service account client id (OAuth client credentials), with JUMPCLOUD_CLIENT_SECRET",
    kind: credentialValue("a client id"),
    secret: true,
    usedBy: LOCAL,
  }),
  jumpcloudClientSecret: spec({
    env: "JUMPCLOUD_CLIENT_SECRET",
    description: "service account client secret, with JUMPCLOUD_CLIENT_ID",
    kind: credentialValue("a client secret"),
    secret: true,
    usedBy: LOCAL,
  }),
  jumpcloudSecretArn: spec({
    env: "JUMPCLOUD_SECRET_ARN",
    description:
      'Secrets Manager secret: a bare API key, or JSON `{"api_key"}` or `{"client_id", "client_secret"}`',
    kind: secretArnValue(),
    usedBy: COLLECTOR,
  }),
  jumpcloudOrgIds: spec({
    env: "JUMPCLOUD_ORG_IDS",
    description: "comma-separated org ids for MSP (multi-tenant) keys, sent as `x-org-id`",
    // JumpCloud org ids are MongoDB object ids: a wrong one would only fail at JumpCloud, as a 401.
    kind: checked(listValue("a comma-separated list of org ids"), (ids) => {
      const bad = ids.find((id) => !/^[0-9a-f]{24}$/i.test(id));
      return bad === undefined
        ? undefined
        : `holds "${bad}", which is not a JumpCloud org id (24 hexadecimal characters, as the MSP portal shows them)`;
    }),
    default: [],
    defaultText: "none: the key's own org",
    flag: "--org",
    usedBy: COLLECTOR,
  }),
  jumpcloudServices: spec({
    env: "JUMPCLOUD_SERVICES",
    description: "comma-separated Directory Insights services (`sso`, `directory`, ...), or `all`",
    kind: listValue("a comma-separated list of services"),
    default: ["all"],
    defaultText: "`all`",
    flag: "--services",
    usedBy: COLLECTOR,
  }),
  jumpcloudTimeout: spec({
    env: "JUMPCLOUD_TIMEOUT",
    description: "per-request timeout, headers and body",
    kind: durationValue(SECOND, 10 * MINUTE),
    default: 30 * SECOND,
    defaultText: "30s",
    usedBy: COLLECTOR,
  }),
};

const collector = {
  ...durations,
  pageLimit: spec({
    env: "PAGE_LIMIT",
    description: "events per page",
    kind: integerValue(1, 10_000),
    default: 1_000,
    flag: "--limit",
    usedBy: COLLECTOR,
  }),
  backfillConcurrency: spec({
    env: "BACKFILL_CONCURRENCY",
    description: "windows fetched at once while catching up",
    kind: integerValue(1, 32),
    default: 4,
    flag: "--concurrency",
    usedBy: COLLECTOR,
  }),
  maxEventsPerWindow: spec({
    env: "MAX_EVENTS_PER_WINDOW",
    description: "catching-up windows with more events are read in parts",
    kind: integerValue(100, 10_000_000),
    default: 50_000,
    usedBy: COLLECTOR,
  }),
  orgConcurrency: spec({
    env: "ORG_CONCURRENCY",
    description: "orgs collected at once by the CLI (the Lambda fans out one invocation per org)",
    kind: integerValue(1, 64),
    default: 4,
    usedBy: LOCAL,
  }),
  checkpointTable: spec({
    env: "CHECKPOINT_TABLE",
    description: "DynamoDB table of checkpoints and leases (partition key `pk`, a string)",
    kind: textValue("a table name"),
    defaultText: "— (required in Lambda)",
    usedBy: COLLECTOR,
  }),
  checkpointFile: spec({
    env: "CHECKPOINT_FILE",
    description: "local checkpoint file (CLI)",
    kind: textValue("a path"),
    default: ".jumpcloud-elastic/checkpoints.json",
    usedBy: LOCAL,
  }),
  claimCheckBucket: spec({
    env: "CLAIM_CHECK_BUCKET",
    description:
      "S3 bucket where a page holding an event over Lambda's 6 MB payload limit waits for the mapper (the stack sets the dead-letter bucket)",
    kind: textValue("a bucket name"),
    defaultText: "— (set by the stack)",
    usedBy: COLLECTOR,
  }),
  mapperFunctionName: spec({
    env: "MAPPER_FUNCTION_NAME",
    description: "the mapper Lambda the collector hands pages to",
    kind: textValue("a function name or ARN"),
    defaultText: "— (required in Lambda)",
    usedBy: COLLECTOR,
  }),
};

const mapping = {
  namespace: spec({
    env: "DATA_STREAM_NAMESPACE",
    description: "data stream namespace: documents go to `logs-jumpcloud.events-<namespace>`",
    kind: checked(textValue("a namespace"), (ns) => {
      const problem = namespaceProblem(ns);
      return problem && `${problem}, not ${JSON.stringify(ns)}`;
    }),
    default: "default",
    flag: "--namespace",
    usedBy: MAPPER,
  }),
  tags: spec({
    env: "TAGS",
    description: "comma-separated tags added to every document",
    kind: listValue("a comma-separated list of tags"),
    default: ["forwarded"],
    defaultText: "`forwarded`",
    flag: "--tags",
    usedBy: MAPPER,
  }),
  preserveOriginalEvent: spec({
    env: "PRESERVE_ORIGINAL_EVENT",
    description: "keep the raw event in `event.original`, as the integration's option",
    kind: booleanValue(),
    default: false,
    flag: "--preserve-original-event",
    usedBy: MAPPER,
  }),
  preserveDuplicateCustomFields: spec({
    env: "PRESERVE_DUPLICATE_CUSTOM_FIELDS",
    description: "keep `jumpcloud.event.*` fields that were copied to ECS fields",
    kind: booleanValue(),
    default: false,
    flag: "--preserve-duplicate-custom-fields",
    usedBy: MAPPER,
  }),
  geoIp: spec({
    env: "GEOIP",
    description:
      "where `source`/`client` addresses get `geo` and `as`: `cluster` (the cluster's `geoip` processor, in this project's ingest pipeline), `files` (the mapper, on GEOIP_CITY_DB / GEOIP_ASN_DB), or `off`",
    kind: oneOf(["cluster", "files", "off"]),
    defaultText:
      "`files` when GEOIP_CITY_DB or GEOIP_ASN_DB is set, else `cluster` when sending to a cluster (NDJSON files: `files`)",
    usedBy: MAPPER,
  }),
  geoIpCityDb: spec({
    env: "GEOIP_CITY_DB",
    description: "GeoIP2/GeoLite2 City `.mmdb`: a path, or `s3://bucket/key` (copied to /tmp in Lambda)",
    kind: textValue("a path or s3:// URL"),
    defaultText: "none",
    flag: "--geoip-city",
    usedBy: MAPPER,
  }),
  geoIpAsnDb: spec({
    env: "GEOIP_ASN_DB",
    description: "GeoLite2 ASN `.mmdb`: a path, or `s3://bucket/key`",
    kind: textValue("a path or s3:// URL"),
    defaultText: "none",
    flag: "--geoip-asn",
    usedBy: MAPPER,
  }),
};

const elasticsearch = {
  elasticsearchUrl: spec({
    env: "ELASTICSEARCH_URL",
    description: "the cluster (https; plain http only on localhost); or ELASTICSEARCH_CLOUD_ID",
    kind: urlValue(),
    defaultText: "— (CLI: NDJSON files instead)",
    usedBy: MAPPER,
  }),
  elasticsearchCloudId: spec({
    env: "ELASTICSEARCH_CLOUD_ID",
    description: "Elastic Cloud deployment id (`name:base64`), instead of ELASTICSEARCH_URL",
    kind: checked(textValue("a Cloud ID"), cloudIdProblem),
    usedBy: MAPPER,
  }),
  elasticsearchApiKey: spec({
    env: "ELASTICSEARCH_API_KEY",
    description: "API key (local runs; Lambda: ELASTICSEARCH_SECRET_ARN)",
    kind: credentialValue("an API key"),
    secret: true,
    usedBy: LOCAL,
  }),
  elasticsearchUsername: spec({
    env: "ELASTICSEARCH_USERNAME",
    description: "user name, with ELASTICSEARCH_PASSWORD (local runs)",
    kind: textValue("a user name"),
    usedBy: LOCAL,
  }),
  elasticsearchPassword: spec({
    env: "ELASTICSEARCH_PASSWORD",
    description: "password, with ELASTICSEARCH_USERNAME (local runs)",
    kind: textValue("a password"),
    secret: true,
    usedBy: LOCAL,
  }),
  elasticsearchSecretArn: spec({
    env: "ELASTICSEARCH_SECRET_ARN",
    description:
      'Secrets Manager secret: a bare API key, or JSON `{"api_key"}` (`apiKey`, `encoded`) or `{"username", "password"}`',
    kind: secretArnValue(),
    usedBy: MAPPER,
  }),
  elasticsearchCaCert: spec({
    env: "ELASTICSEARCH_CA_CERT",
    description: "path of a PEM CA certificate, for a cluster with a private CA",
    kind: textValue("a path"),
    defaultText: "system CAs",
    usedBy: MAPPER,
  }),
  elasticsearchRequestTimeout: spec({
    env: "ELASTICSEARCH_REQUEST_TIMEOUT",
    description: "per request",
    kind: durationValue(100, 10 * MINUTE),
    default: 30 * SECOND,
    defaultText: "30s",
    usedBy: MAPPER,
  }),
  elasticsearchCompression: spec({
    env: "ELASTICSEARCH_COMPRESSION",
    description: "gzip request bodies",
    kind: booleanValue(),
    default: true,
    usedBy: MAPPER,
  }),
  elasticsearchBulkMaxMb: spec({
    env: "ELASTICSEARCH_BULK_MAX_MB",
    description: "largest `_bulk` request body, in MB",
    kind: numberValue(0, 100, "megabytes"),
    default: 5,
    usedBy: MAPPER,
  }),
  lookUpExisting: spec({
    env: "LOOKUP_EXISTING",
    description:
      "before indexing, look `_id`s up across the data stream's backing indices (`create` alone sees only the write index, so after a rollover an event read again, or shipped before by Elastic Agent, would be stored twice): `all` documents, only events this checkpoint reads again (`rereads`: overlap, resumed window, replay, trailing re-read), or `off`; needs `read`",
    kind: oneOf(["all", "rereads", "off"]),
    default: "all" as const,
    usedBy: MAPPER,
  }),
};

// Kibana's rule for a space id (its URL identifier): lowercase letters, digits, `_` and `-`.
const SPACE_ID = /^[a-z0-9_-]+$/;

const kibana = {
  kibanaUrl: spec({
    env: "KIBANA_URL",
    description:
      "Kibana, for `setup --kibana` (dashboard, detection rules): https; plain http only on localhost; with ELASTICSEARCH_CLOUD_ID, the deployment's Kibana",
    kind: urlValue(),
    defaultText: "— (Cloud ID: its Kibana)",
    usedBy: MAPPER,
  }),
  kibanaApiKey: spec({
    env: "KIBANA_API_KEY",
    description: "API key for Kibana (local runs; default: the Elasticsearch credentials)",
    kind: credentialValue("an API key"),
    secret: true,
    usedBy: LOCAL,
  }),
  kibanaSecretArn: spec({
    env: "KIBANA_SECRET_ARN",
    description:
      'Secrets Manager secret: a bare API key or JSON `{"api_key"}`; not filled: the Elasticsearch credentials (the stack\'s setup)',
    kind: secretArnValue(),
    usedBy: MAPPER,
  }),
  kibanaSpace: spec({
    env: "KIBANA_SPACE",
    description: "Kibana space the dashboard and rules go to (every call under `/s/<space>`)",
    kind: checked(textValue("a space id"), (text) =>
      SPACE_ID.test(text)
        ? undefined
        : `must be a Kibana space id (lowercase letters, digits, _ and -, as in /s/<id>/app), not "${text}"`,
    ),
    defaultText: "default",
    usedBy: MAPPER,
  }),
};

const deadLetters = {
  deadLetterBucket: spec({
    env: "DEAD_LETTER_BUCKET",
    description: "S3 bucket for documents Elasticsearch refused (Lambda)",
    kind: textValue("a bucket name"),
    defaultText: "— (required in Lambda)",
    usedBy: MAPPER,
  }),
  deadLetterPrefix: spec({
    env: "DEAD_LETTER_PREFIX",
    description: "key prefix of dead letters in the bucket",
    kind: textValue("a key prefix"),
    default: "dead-letters/",
    usedBy: MAPPER,
  }),
  deadLetterDir: spec({
    env: "DEAD_LETTER_DIR",
    description: "folder for dead letters in local runs",
    kind: textValue("a path"),
    default: ".jumpcloud-elastic/dead-letters",
    usedBy: LOCAL,
  }),
};

// A proxy is an http(s) URL (a user and password in it are kept out of every message).
const proxyValue = () =>
  checked(textValue("an http:// or https:// proxy URL"), (text) => {
    try {
      return ["http:", "https:"].includes(new URL(text).protocol)
        ? undefined
        : "must be an http:// or https:// URL";
    } catch {
      return "must be a URL such as http://proxy.example.com:3128";
    }
  });

const network = {
  httpsProxy: spec({
    env: "HTTPS_PROXY",
    description: "proxy for https:// traffic to JumpCloud and Elasticsearch (the CLI; `https_proxy` too)",
    kind: proxyValue(),
    secret: true,
    usedBy: LOCAL,
  }),
  httpProxy: spec({
    env: "HTTP_PROXY",
    description: "proxy for http:// traffic (a loopback cluster or simulator; `http_proxy` too)",
    kind: proxyValue(),
    secret: true,
    usedBy: LOCAL,
  }),
  noProxy: spec({
    env: "NO_PROXY",
    description:
      "hosts reached directly: `*`, hosts or domains (with their subdomains), IPs, each with an optional `:port` (`no_proxy` too)",
    kind: listValue("a comma-separated list of hosts"),
    default: [],
    defaultText: "none",
    usedBy: LOCAL,
  }),
};

const lambda = {
  lambdaFunctionName: spec({
    env: "AWS_LAMBDA_FUNCTION_NAME",
    description: "this function's name: the collector invokes itself per org",
    kind: textValue("a function name"),
    defaultText: "set by Lambda",
    providedByLambda: true,
    usedBy: COLLECTOR,
  }),
  awsRegion: spec({
    env: "AWS_REGION",
    description: "region of the AWS clients (a secret ARN's own region wins for its secret)",
    kind: textValue("a region"),
    defaultText: "set by Lambda; locally the AWS SDK's",
    providedByLambda: true,
    usedBy: ["collector", "mapper", "updater"],
  }),
};

const geoIpUpdate = {
  geoIpUpdater: spec({
    env: "GEOIP_UPDATER",
    description:
      "the stack's MaxMind updater function: until its first run, a missing GEOIP_*_DB object in S3 means documents without geo (a warning), not a stopped mapper",
    kind: textValue("a function name"),
    defaultText: "— (set by the stack)",
    usedBy: MAPPER,
  }),
  maxmindAccountId: spec({
    env: "MAXMIND_ACCOUNT_ID",
    description:
      "MaxMind account id, with MAXMIND_LICENSE_KEY, for `geoip update` (Lambda: MAXMIND_SECRET_ARN)",
    kind: credentialValue("an account id"),
    usedBy: LOCAL,
  }),
  maxmindLicenseKey: spec({
    env: "MAXMIND_LICENSE_KEY",
    description: "MaxMind licence key, with MAXMIND_ACCOUNT_ID",
    kind: credentialValue("a licence key"),
    secret: true,
    usedBy: LOCAL,
  }),
  maxmindSecretArn: spec({
    env: "MAXMIND_SECRET_ARN",
    description: 'Secrets Manager secret holding JSON `{"account_id", "license_key"}` (the stack\'s updater)',
    kind: secretArnValue(),
    usedBy: UPDATER,
  }),
  maxmindDownloadUrl: spec({
    env: "MAXMIND_DOWNLOAD_URL",
    description: "MaxMind's download service (a mirror, or the emulator in tests)",
    kind: urlValue(),
    default: "https://download.maxmind.com",
    usedBy: UPDATER,
  }),
  geoIpUpdateTarget: spec({
    env: "GEOIP_UPDATE_TARGET",
    description: "where the updater keeps the databases: `s3://bucket/prefix/` (the CLI: `--dir`)",
    kind: mappedText(
      "s3://bucket/prefix/",
      (v) => (/^s3:\/\/[^/]+\/(.*\/)?$/.test(v) ? undefined : "must be s3://bucket/prefix/ (ending in /)"),
      (v) => v,
    ),
    defaultText: "— (set by the stack)",
    usedBy: UPDATER,
  }),
};

/** Every setting any entry point reads, in README order. */
export const SETTINGS = {
  ...jumpcloud,
  ...collector,
  ...mapping,
  ...elasticsearch,
  ...kibana,
  ...deadLetters,
  ...geoIpUpdate,
  ...network,
  ...lambda,
};

/** A setting's name in code. */
export type SettingName = keyof typeof SETTINGS;

type ValueOf<S> = S extends SettingSpec<infer T> ? T : never;
type HasDefault<S> = S extends { default: unknown } ? true : false;

/** The parsed settings: a value for every setting with a default, `undefined` possible otherwise. */
export type Settings = {
  readonly [K in SettingName]: HasDefault<(typeof SETTINGS)[K]> extends true
    ? ValueOf<(typeof SETTINGS)[K]>
    : ValueOf<(typeof SETTINGS)[K]> | undefined;
};

/**
 * The variables a function's environment may carry, for the CDK stack: those `role` reads, less
 * what Lambda itself provides (Lambda refuses reserved keys at deploy).
 */
export function functionVariables(role: FunctionRole): string[] {
  return Object.values(SETTINGS as Record<string, SettingSpec<unknown>>)
    .filter((spec) => spec.usedBy.includes(role) && !spec.providedByLambda)
    .map((spec) => spec.env);
}
