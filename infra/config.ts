import { readdirSync } from "node:fs";
import type { Node } from "constructs";
import { formatDuration } from "../lib/duration.ts";
import { ConfigurationError } from "../lib/errors.ts";
import { MAXMIND_DOWNLOAD_URL } from "../lib/geoip/update.ts";
import type { GeoIpMode } from "../lib/settings/geoip-mode.ts";
import { parseSettings } from "../lib/settings/load.ts";
import type { Requirement } from "../lib/settings/rules.ts";
import {
  booleanValue,
  durationValue,
  integerValue,
  listValue,
  oneOf,
  type ValueKind,
} from "../lib/settings/values.ts";

/** What the stack is built from: `cdk.json` context or `-c key=value`, every key optional. */
export interface DeployConfig {
  /** An existing JumpCloud secret to use; none: the stack creates one holding a placeholder. */
  readonly jumpcloudSecretArn?: string;
  /** `us`, `eu`, `in` or a URL (default `us`). */
  readonly jumpcloudApiUrl: string;
  readonly jumpcloudOrgIds: string[];
  readonly jumpcloudServices: string[];
  /** Minutes between scheduled runs (default 5). */
  readonly scheduleMinutes: number;
  readonly elasticsearchUrl?: string;
  readonly elasticsearchCloudId?: string;
  /** An existing Elasticsearch secret; none: the stack creates one holding a placeholder. */
  readonly elasticsearchSecretArn?: string;
  readonly namespace: string;
  readonly preserveOriginalEvent: boolean;
  readonly preserveDuplicateCustomFields: boolean;
  /** Where addresses get geo: the cluster's pipeline (default without databases), the mapper's files, or off. */
  readonly geoIp: GeoIpMode;
  /** `s3://bucket/key` of GeoIP City / ASN databases (GEOIP=files). */
  readonly geoIpCityS3?: string;
  readonly geoIpAsnS3?: string;
  /** The weekly MaxMind updater: on with `geoIpUpdater` or `maxmindSecretArn` (an existing secret). */
  readonly geoIpUpdater: boolean;
  readonly maxmindSecretArn?: string;
  /** MaxMind's download service, or a mirror of it (default MaxMind's own). */
  readonly maxmindDownloadUrl: string;
  /** A local folder of `.mmdb` files shipped as a Lambda layer, and the files found in it. */
  readonly geoIpFolder?: { path: string; city?: string; asn?: string };
  /** Subnets and security groups for the mapper, for a cluster in a VPC (the collector stays out). */
  readonly vpc?: { subnetIds: string[]; securityGroupIds: string[] };
  /** Reserved concurrency of the collector: orgs + 1 runs every org at once (none: unreserved). */
  readonly reservedConcurrency?: number;
  readonly alarmEmail?: string;
  readonly alarmTopicArn?: string;
  readonly logRetentionDays: number;
  readonly collectorMemoryMb: number;
  readonly mapperMemoryMb: number;
  /** Alarm when the collection lags more than this (default 30m). */
  readonly lagAlarm: number;
  /** Kibana: the deploy installs the dashboard and the detection rules there (with a Kibana secret). */
  readonly kibanaUrl?: string;
  readonly kibanaSpace?: string;
  /** An existing Kibana secret; none (with kibanaUrl): the stack creates one holding a placeholder. */
  readonly kibanaSecretArn?: string;
  /** Enable the detection rules at deploy (default: installed disabled). */
  readonly kibanaEnableRules: boolean;
}

/** Defaults, as the README documents them. */
export const DEFAULTS = {
  jumpcloudApiUrl: "us",
  scheduleMinutes: 5,
  namespace: "default",
  logRetentionDays: 90,
  collectorMemoryMb: 512,
  mapperMemoryMb: 1024,
  lagAlarmMs: 30 * 60_000,
} as const;

/** CloudWatch Logs retention values (days). */
const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

// Context values come as strings from `-c`, or typed from cdk.json.
const text = (value: unknown) =>
  value === undefined || value === null || value === "" ? undefined : String(value).trim();

/** A context value, parsed by the settings' own value kinds; a problem names the context key. */
function read<T>(node: Node, key: string, kind: ValueKind<T>, fallback: T, problems: string[]): T {
  const raw: unknown = node.tryGetContext(key);
  if (raw === undefined || raw === null || raw === "") return fallback;
  const result = kind.schema.safeParse(raw);
  if (result.success) return result.data;
  problems.push(`context ${key} must be ${kind.expects}, not ${JSON.stringify(raw)}`);
  return fallback;
}

// The folder is read at synth: one City and/or one ASN database, by MaxMind's file names.
function geoIpFolder(node: Node, problems: string[]): DeployConfig["geoIpFolder"] {
  const path = text(node.tryGetContext("geoIpFolder"));
  if (path === undefined) return undefined;
  let files: string[];
  try {
    files = readdirSync(path).filter((f) => f.endsWith(".mmdb"));
  } catch {
    problems.push(`context geoIpFolder: cannot read the folder ${path}`);
    return undefined;
  }
  const pick = (kind: string) => {
    const found = files.filter((f) => f.includes(kind));
    if (found.length > 1)
      problems.push(
        `context geoIpFolder: several ${kind} databases in ${path} (${found.join(", ")}): keep one`,
      );
    return found[0];
  };
  const city = pick("City");
  const asn = pick("ASN");
  if (city === undefined && asn === undefined)
    problems.push(`context geoIpFolder: no City or ASN .mmdb file in ${path}`);
  return { path, ...(city && { city }), ...(asn && { asn }) };
}

// Both lists together, each id in its AWS form; nothing is looked up (synth works offline).
function vpc(node: Node, problems: string[]): DeployConfig["vpc"] {
  const subnetIds = read(node, "vpcSubnetIds", listValue(), [], problems);
  const securityGroupIds = read(node, "vpcSecurityGroupIds", listValue(), [], problems);
  if (subnetIds.length === 0 && securityGroupIds.length === 0) return undefined;
  if (subnetIds.length === 0 || securityGroupIds.length === 0)
    problems.push("context vpcSubnetIds and vpcSecurityGroupIds go together: set both");
  for (const id of subnetIds.filter((s) => !/^subnet-[0-9a-f]+$/.test(s)))
    problems.push(`context vpcSubnetIds: "${id}" is not a subnet id (subnet-...)`);
  for (const id of securityGroupIds.filter((s) => !/^sg-[0-9a-f]+$/.test(s)))
    problems.push(`context vpcSecurityGroupIds: "${id}" is not a security group id (sg-...)`);
  return { subnetIds, securityGroupIds };
}

function s3Url(node: Node, key: string, problems: string[]): string | undefined {
  const raw = text(node.tryGetContext(key));
  if (raw !== undefined && !/^s3:\/\/[^/]+\/.+/.test(raw))
    problems.push(`context ${key} must be s3://bucket/key, not "${raw}"`);
  return raw;
}

/** Reads the context; problems are collected, not thrown. */
function readContext(node: Node, problems: string[]): DeployConfig {
  const get = (key: string) => text(node.tryGetContext(key));
  const int = (key: string, fallback: number, min: number, max: number) =>
    read(node, key, integerValue(min, max), fallback, problems);
  const bool = (key: string) => read(node, key, booleanValue(), false, problems);
  const lagMs = read(node, "lagAlarm", durationValue(60_000, 90 * 86_400_000), DEFAULTS.lagAlarmMs, problems);
  const retention = int("logRetentionDays", DEFAULTS.logRetentionDays, 1, 3653);
  if (!RETENTION_DAYS.includes(retention))
    problems.push(`context logRetentionDays must be one of ${RETENTION_DAYS.join(", ")}, not ${retention}`);
  const optional = <K extends string>(key: K) => {
    const value = get(key);
    return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
  };
  const reserved = get("reservedConcurrency");
  const network = vpc(node, problems);
  return {
    ...optional("jumpcloudSecretArn"),
    ...optional("elasticsearchUrl"),
    ...optional("elasticsearchCloudId"),
    ...optional("elasticsearchSecretArn"),
    ...optional("alarmEmail"),
    ...optional("maxmindSecretArn"),
    ...optional("kibanaUrl"),
    ...optional("kibanaSpace"),
    ...optional("kibanaSecretArn"),
    kibanaEnableRules: bool("kibanaEnableRules"),
    maxmindDownloadUrl: get("maxmindDownloadUrl") ?? MAXMIND_DOWNLOAD_URL,
    geoIpUpdater: bool("geoIpUpdater") || get("maxmindSecretArn") !== undefined,
    ...optional("alarmTopicArn"),
    jumpcloudApiUrl: get("jumpcloudApiUrl") ?? DEFAULTS.jumpcloudApiUrl,
    jumpcloudOrgIds: read(node, "jumpcloudOrgIds", listValue(), [], problems),
    jumpcloudServices: read(node, "jumpcloudServices", listValue(), ["all"], problems),
    scheduleMinutes: int("scheduleMinutes", DEFAULTS.scheduleMinutes, 1, 60),
    namespace: get("namespace") ?? DEFAULTS.namespace,
    preserveOriginalEvent: bool("preserveOriginalEvent"),
    preserveDuplicateCustomFields: bool("preserveDuplicateCustomFields"),
    // Written into the template either way, so a reviewer sees where geo comes from.
    geoIp: read<GeoIpMode>(
      node,
      "geoIp",
      oneOf(["cluster", "files", "off"]),
      ["geoIpCityS3", "geoIpAsnS3", "geoIpFolder", "maxmindSecretArn"].some(
        (key) => get(key) !== undefined,
      ) || bool("geoIpUpdater")
        ? "files"
        : "cluster",
      problems,
    ),
    ...(s3Url(node, "geoIpCityS3", problems) && { geoIpCityS3: get("geoIpCityS3") }),
    ...(get("geoIpFolder") !== undefined && { geoIpFolder: geoIpFolder(node, problems) }),
    ...(s3Url(node, "geoIpAsnS3", problems) && { geoIpAsnS3: get("geoIpAsnS3") }),
    ...(network && { vpc: network }),
    ...(reserved !== undefined && {
      reservedConcurrency: int("reservedConcurrency", 0, 1, 10_000),
    }),
    logRetentionDays: retention,
    collectorMemoryMb: int("collectorMemoryMb", DEFAULTS.collectorMemoryMb, 128, 10_240),
    mapperMemoryMb: int("mapperMemoryMb", DEFAULTS.mapperMemoryMb, 128, 10_240),
    lagAlarm: lagMs,
  };
}

/** How long things take, derived from the schedule so they fit together (checked at synth). */
export interface Timing {
  intervalMs: number;
  collectorTimeoutMs: number;
  /** The collector stops starting work when this little time is left... */
  safetyMarginMs: number;
  /** ...and abandons what is in flight at half of it: the mapper must have answered by then. */
  mapperTimeoutMs: number;
  /** At most the interval, so a crashed run delays the next by at most one interval. */
  leaseMs: number;
}

/** The timing for a schedule: every value follows from the interval. */
export function timingFor(scheduleMinutes: number): Timing {
  const intervalMs = scheduleMinutes * 60_000;
  const collectorTimeoutMs = Math.min(intervalMs, 15 * 60_000);
  const safetyMarginMs = Math.min(120_000, collectorTimeoutMs / 2);
  return {
    intervalMs,
    collectorTimeoutMs,
    safetyMarginMs,
    mapperTimeoutMs: safetyMarginMs / 2,
    leaseMs: intervalMs,
  };
}

// With the updater, the mapper reads the objects it writes (the bucket's name is known at deploy).
const updaterObject = (config: DeployConfig, edition: string) =>
  config.geoIpUpdater ? `s3://bucket/${GEOIP_PREFIX}${edition}.mmdb` : undefined;
const geoIpSource = (config: DeployConfig, key: string) =>
  config.geoIpFolder ? "geoIpFolder" : config.geoIpUpdater ? "geoIpUpdater" : key;

/** Where the stack's updater keeps the GeoLite2 databases in its bucket. */
export const GEOIP_PREFIX = "geoip/";

/** Settings given by context, named by their context key in every message. */
function contextOverrides(config: DeployConfig, timing: Timing) {
  const from = (key: string) => `context ${key}`;
  const optional = (value: string | undefined, key: string) =>
    value === undefined ? undefined : { value, source: from(key) };
  return Object.fromEntries(
    Object.entries({
      jumpcloudApiUrl: { value: config.jumpcloudApiUrl, source: from("jumpcloudApiUrl") },
      jumpcloudOrgIds: { value: config.jumpcloudOrgIds, source: from("jumpcloudOrgIds") },
      jumpcloudServices: { value: config.jumpcloudServices, source: from("jumpcloudServices") },
      jumpcloudSecretArn: optional(config.jumpcloudSecretArn, "jumpcloudSecretArn"),
      elasticsearchUrl: optional(config.elasticsearchUrl, "elasticsearchUrl"),
      elasticsearchCloudId: optional(config.elasticsearchCloudId, "elasticsearchCloudId"),
      elasticsearchSecretArn: optional(config.elasticsearchSecretArn, "elasticsearchSecretArn"),
      namespace: { value: config.namespace, source: from("namespace") },
      preserveOriginalEvent: { value: config.preserveOriginalEvent, source: from("preserveOriginalEvent") },
      preserveDuplicateCustomFields: {
        value: config.preserveDuplicateCustomFields,
        source: from("preserveDuplicateCustomFields"),
      },
      geoIp: { value: config.geoIp, source: from("geoIp") },
      maxmindDownloadUrl: { value: config.maxmindDownloadUrl, source: from("maxmindDownloadUrl") },
      kibanaUrl: optional(config.kibanaUrl, "kibanaUrl"),
      kibanaSpace: optional(config.kibanaSpace, "kibanaSpace"),
      kibanaSecretArn: optional(config.kibanaSecretArn, "kibanaSecretArn"),
      geoIpCityDb: optional(
        config.geoIpCityS3 ?? config.geoIpFolder?.city ?? updaterObject(config, "GeoLite2-City"),
        geoIpSource(config, "geoIpCityS3"),
      ),
      geoIpAsnDb: optional(
        config.geoIpAsnS3 ?? config.geoIpFolder?.asn ?? updaterObject(config, "GeoLite2-ASN"),
        geoIpSource(config, "geoIpAsnS3"),
      ),
      leaseDuration: { value: timing.leaseMs, source: from("scheduleMinutes") },
      safetyMargin: { value: timing.safetyMarginMs, source: from("scheduleMinutes") },
    }).filter(([, override]) => override !== undefined),
  );
}

// Stand-ins for what the stack creates (ARNs, names), so the settings rules can run at synth.
const STAND_INS = {
  JUMPCLOUD_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:jumpcloud-AbCdEf",
  ELASTICSEARCH_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:elasticsearch-AbCdEf",
  CHECKPOINT_TABLE: "table",
  MAPPER_FUNCTION_NAME: "mapper",
  AWS_LAMBDA_FUNCTION_NAME: "collector",
  DEAD_LETTER_BUCKET: "bucket",
};

const COLLECTOR_NEEDS: Requirement[] = [
  "jumpcloudCredentials",
  "checkpointTable",
  "mapperFunctionName",
  "lambdaFunctionName",
];
const MAPPER_NEEDS: Requirement[] = ["cluster", "deadLetterBucket"];

/** The deployment's own rules: what the settings schema cannot know. */
function deploymentProblems(config: DeployConfig, timing: Timing): string[] {
  const problems: string[] = [];
  // The fan-out run holds one slot while it invokes the orgs: with one left, they run in turn.
  if (config.jumpcloudOrgIds.length > 1 && config.reservedConcurrency === 1) {
    problems.push(
      "context reservedConcurrency must be at least 2 with several orgs: the fan-out run holds one while it starts the others",
    );
  }
  if (timing.leaseMs > timing.intervalMs) {
    problems.push(`LEASE_DURATION (${formatDuration(timing.leaseMs)}) must be at most the schedule interval`);
  }
  if (config.geoIpFolder && (config.geoIpCityS3 || config.geoIpAsnS3))
    problems.push("set context geoIpFolder or geoIpCityS3 / geoIpAsnS3, not both");
  if (config.geoIpUpdater && (config.geoIpFolder || config.geoIpCityS3 || config.geoIpAsnS3))
    problems.push(
      "context geoIpUpdater keeps its own databases in the stack's bucket: drop geoIpFolder / geoIpCityS3 / geoIpAsnS3",
    );
  if (config.geoIpUpdater && config.geoIp !== "files")
    problems.push(
      `context geoIpUpdater feeds GEOIP=files: it is of no use with context geoIp=${config.geoIp}`,
    );
  if (config.kibanaUrl === undefined) {
    const given = (["kibanaSpace", "kibanaSecretArn"] as const).filter((k) => config[k] !== undefined);
    if (config.kibanaEnableRules) given.push("kibanaEnableRules" as never);
    if (given.length > 0)
      problems.push(
        `context ${given.join(", ")} need${given.length > 1 ? "" : "s"} context kibanaUrl (the Kibana to install the rules in)`,
      );
  }
  if (config.alarmEmail !== undefined && config.alarmTopicArn !== undefined)
    problems.push("set context alarmEmail or alarmTopicArn, not both");
  if (config.alarmEmail !== undefined && !/^[^@\s,]+@[^@\s,]+\.[^@\s,]+$/.test(config.alarmEmail))
    problems.push(`context alarmEmail must be one e-mail address, not "${config.alarmEmail}"`);
  if (config.alarmTopicArn !== undefined && !/^arn:aws[a-z-]*:sns:/.test(config.alarmTopicArn))
    problems.push(`context alarmTopicArn must be an SNS topic ARN, not "${config.alarmTopicArn}"`);
  return problems;
}

/** Every context key the stack reads (the README's table lists each). */
export const CONTEXT_KEYS = [
  "jumpcloudSecretArn",
  "jumpcloudApiUrl",
  "jumpcloudOrgIds",
  "jumpcloudServices",
  "scheduleMinutes",
  "elasticsearchUrl",
  "elasticsearchCloudId",
  "elasticsearchSecretArn",
  "namespace",
  "preserveOriginalEvent",
  "preserveDuplicateCustomFields",
  "geoIp",
  "geoIpCityS3",
  "geoIpAsnS3",
  "geoIpFolder",
  "geoIpUpdater",
  "maxmindSecretArn",
  "maxmindDownloadUrl",
  "vpcSubnetIds",
  "vpcSecurityGroupIds",
  "reservedConcurrency",
  "alarmEmail",
  "alarmTopicArn",
  "kibanaUrl",
  "kibanaSpace",
  "kibanaSecretArn",
  "kibanaEnableRules",
  "logRetentionDays",
  "collectorMemoryMb",
  "mapperMemoryMb",
  "lagAlarm",
  "stackName",
  "renameStack",
  "deploymentFile",
] as const;

// A misspelt key would otherwise be ignored without a word; CDK's own keys have a colon or an @.
function unknownKeys(node: Node): string[] {
  const known = new Set<string>([...CONTEXT_KEYS, "cli-telemetry"]);
  return Object.keys(node.getAllContext())
    .filter((key) => !known.has(key) && !key.includes(":") && !key.startsWith("@"))
    .map((key) => `context ${key} is not a setting of this stack (known: ${CONTEXT_KEYS.join(", ")})`);
}

/** What the context allows but a user should know: shown by `cdk synth` and `cdk deploy`. */
export function deploymentWarnings(config: DeployConfig): string[] {
  const orgs = Math.max(1, config.jumpcloudOrgIds.length);
  if (config.reservedConcurrency === undefined || config.reservedConcurrency >= orgs + 1) return [];
  return [
    `reservedConcurrency (${config.reservedConcurrency}) is below the number of orgs + 1 (${orgs + 1}): org runs queue in Lambda's asynchronous queue for a free slot; one not started within the schedule interval goes to the failed-runs queue (its alarm) and runs at a later schedule, from its checkpoint`,
  ];
}

/** Reads and checks the context: every problem at once, named by its context key. */
export function loadDeployConfig(node: Node): { config: DeployConfig; timing: Timing } {
  const problems: string[] = unknownKeys(node);
  const config = readContext(node, problems);
  const timing = timingFor(config.scheduleMinutes);
  const overrides = contextOverrides(config, timing);
  for (const require of [COLLECTOR_NEEDS, MAPPER_NEEDS]) {
    const parsed = parseSettings(STAND_INS, { overrides, require });
    for (const problem of parsed.problems) if (!problems.includes(problem)) problems.push(problem);
  }
  problems.push(...deploymentProblems(config, timing));
  if (problems.length > 0) throw new ConfigurationError(problems);
  return { config, timing };
}
