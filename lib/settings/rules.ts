import { formatDuration } from "../duration.ts";
import { KNOWN_SERVICES, serviceListProblem, tokenUrlFor, unknownServices } from "../jumpcloud/regions.ts";
import type { SettingName, Settings } from "./schema.ts";

/** What a rule sees: the parsed values, and the name the user set each one by. */
export interface RuleInput {
  values: Partial<Settings>;
  /** Which settings parsed: a rule about a setting that did not is skipped (its problem is already told). */
  parsed: ReadonlySet<SettingName>;
  sourceOf(name: SettingName): string;
  /** True when the user set it (variable or flag), not only its default. */
  isSet(name: SettingName): boolean;
}

/** What rules report. */
export interface RuleFindings {
  problems: string[];
  warnings: string[];
}

/** A check across settings; it runs only when all of `uses` parsed. */
interface Rule {
  uses: readonly SettingName[];
  check(input: RuleInput, out: RuleFindings): void;
}

/** Entry points declare what they cannot work without. */
export type Requirement =
  | "jumpcloudCredentials"
  | "cluster"
  | "kibana"
  | "deadLetterBucket"
  | "checkpointTable"
  | "mapperFunctionName"
  | "lambdaFunctionName";

const givenOf = (input: RuleInput, names: readonly SettingName[]) => names.filter((n) => input.isSet(n));
const sources = (input: RuleInput, names: readonly SettingName[]) =>
  names.map((n) => input.sourceOf(n)).join(" + ");

/** Credentials given in exactly one way; the halves of a pair go together. */
function oneWay(
  ways: readonly (readonly SettingName[])[],
  input: RuleInput,
  out: RuleFindings,
): readonly SettingName[] | undefined {
  const given = ways.filter((way) => givenOf(input, way).length > 0);
  if (given.length > 1) {
    out.problems.push(`set one of ${given.map((way) => sources(input, way)).join(", or ")}, not several`);
    return undefined;
  }
  const way = given[0];
  if (way && givenOf(input, way).length < way.length) {
    out.problems.push(`${sources(input, way)} go together: set both`);
    return undefined;
  }
  return way;
}

const JUMPCLOUD_WAYS = [
  ["jumpcloudApiKey"],
  ["jumpcloudClientId", "jumpcloudClientSecret"],
  ["jumpcloudSecretArn"],
] as const satisfies readonly (readonly SettingName[])[];

const ELASTICSEARCH_WAYS = [
  ["elasticsearchApiKey"],
  ["elasticsearchUsername", "elasticsearchPassword"],
  ["elasticsearchSecretArn"],
] as const satisfies readonly (readonly SettingName[])[];

function shorter(a: SettingName, b: SettingName, why: string): Rule {
  return {
    uses: [a, b],
    check(input, out) {
      const x = input.values[a] as number;
      const y = input.values[b] as number;
      if (x >= y) {
        out.problems.push(
          `${input.sourceOf(a)} (${formatDuration(x)}) must be shorter than ${input.sourceOf(b)} (${formatDuration(y)}): ${why}`,
        );
      }
    },
  };
}

const RULES: readonly Rule[] = [
  shorter(
    "sourceLag",
    "initialLookback",
    "the first window would end before it starts, and nothing would ever be collected",
  ),
  shorter("overlap", "initialLookback", "every run would re-read more than the first run reads"),
  // Which settings were given is known even when a value did not parse: these always run.
  {
    uses: [],
    check(input, out) {
      oneWay(JUMPCLOUD_WAYS, input, out);
    },
  },
  {
    uses: ["jumpcloudApiUrl", "jumpcloudTokenUrl", "jumpcloudClientId"],
    check(input, out) {
      const apiUrl = input.values.jumpcloudApiUrl as string;
      if (input.isSet("jumpcloudClientId") && !input.values.jumpcloudTokenUrl && !tokenUrlFor(apiUrl)) {
        out.problems.push(
          `JUMPCLOUD_TOKEN_URL is required with a service account and a custom ${input.sourceOf("jumpcloudApiUrl")}`,
        );
      }
    },
  },
  {
    uses: ["noProxy"],
    check(input, out) {
      // curl reads CIDR ranges in NO_PROXY since 7.86; this reader does not, so say which entries.
      const ranges = (input.values.noProxy as string[]).filter((entry) => entry.includes("/"));
      if (ranges.length > 0)
        out.warnings.push(
          `${input.sourceOf("noProxy")}: ${ranges.join(", ")} ${ranges.length > 1 ? "are CIDR ranges" : "is a CIDR range"}, which this tool does not read: name the hosts or addresses instead`,
        );
    },
  },
  {
    uses: ["jumpcloudServices"],
    check(input, out) {
      const services = input.values.jumpcloudServices as string[];
      const problem = serviceListProblem(services);
      if (problem) out.problems.push(`${input.sourceOf("jumpcloudServices")} ${problem}`);
      const unknown = unknownServices(services);
      // Refused before any request: JumpCloud answers 400 to a name it does not know, and the
      // run would have made a checkpoint for it first.
      if (!problem && unknown.length > 0) {
        out.problems.push(
          `${input.sourceOf("jumpcloudServices")}: ${unknown.join(", ")} is not a Directory Insights service ` +
            `(one of ${KNOWN_SERVICES.join(", ")})`,
        );
      }
    },
  },
  {
    uses: ["geoIp"],
    check(input, out) {
      const mode = input.values.geoIp;
      const files = givenOf(input, ["geoIpCityDb", "geoIpAsnDb"]);
      if (mode === "files" && files.length === 0)
        out.problems.push(
          `${input.sourceOf("geoIp")} is files but no database is named: set GEOIP_CITY_DB and/or GEOIP_ASN_DB to MaxMind .mmdb files, or GEOIP=cluster to let the cluster enrich (for \`setup\` alone, GEOIP=off installs the same pipeline as files)`,
        );
      if ((mode === "cluster" || mode === "off") && files.length > 0)
        out.warnings.push(
          `${sources(input, files)} ignored: ${input.sourceOf("geoIp")} is ${mode} (set GEOIP=files to enrich from ${files.length > 1 ? "them" : "it"})`,
        );
    },
  },
  {
    uses: [],
    check(input, out) {
      const url = input.isSet("elasticsearchUrl");
      const cloudId = input.isSet("elasticsearchCloudId");
      if (url && cloudId) {
        out.problems.push(
          `set ${input.sourceOf("elasticsearchUrl")} or ${input.sourceOf("elasticsearchCloudId")}, not both`,
        );
      }
      const way = oneWay(ELASTICSEARCH_WAYS, input, out);
      // Credentials for no cluster are a typo in the cluster's name, not a wish for NDJSON files.
      if (way && way[0] !== "elasticsearchSecretArn" && !url && !cloudId) {
        out.problems.push(
          `${sources(input, way)} is set but no cluster is: set ELASTICSEARCH_URL or ELASTICSEARCH_CLOUD_ID (or unset the credentials to write NDJSON files)`,
        );
      }
    },
  },
  {
    uses: [],
    check(input, out) {
      if (input.isSet("kibanaApiKey") && input.isSet("kibanaSecretArn"))
        out.problems.push(
          `set one of ${input.sourceOf("kibanaApiKey")}, or ${input.sourceOf("kibanaSecretArn")}, not several`,
        );
      const kibana = input.isSet("kibanaUrl") || input.isSet("elasticsearchCloudId");
      const given = givenOf(input, ["kibanaApiKey", "kibanaSpace"]);
      // A key or space for no Kibana is a typo in KIBANA_URL's name, not a wish.
      if (given.length > 0 && !kibana && !input.isSet("elasticsearchSecretArn"))
        out.warnings.push(
          `${sources(input, given)} ${given.length > 1 ? "are" : "is"} set but no Kibana is: set KIBANA_URL (or ELASTICSEARCH_CLOUD_ID)`,
        );
    },
  },
];

/** Runs every cross-field rule whose settings all parsed. */
export function checkRules(input: RuleInput): RuleFindings {
  const out: RuleFindings = { problems: [], warnings: [] };
  for (const rule of RULES) {
    if (rule.uses.every((name) => input.parsed.has(name))) rule.check(input, out);
  }
  return out;
}

const REQUIREMENTS: Record<Requirement, (input: RuleInput) => string | undefined> = {
  jumpcloudCredentials: (input) =>
    JUMPCLOUD_WAYS.some((way) => givenOf(input, way).length > 0)
      ? undefined
      : "JumpCloud credentials are missing: set JUMPCLOUD_API_KEY, or JUMPCLOUD_CLIENT_ID and JUMPCLOUD_CLIENT_SECRET, or JUMPCLOUD_SECRET_ARN",
  // The secret may hold the cluster's `url` (filled after deploying); it is checked when read.
  cluster: (input) =>
    input.isSet("elasticsearchUrl") ||
    input.isSet("elasticsearchCloudId") ||
    input.isSet("elasticsearchSecretArn")
      ? undefined
      : "set ELASTICSEARCH_URL or ELASTICSEARCH_CLOUD_ID (or ELASTICSEARCH_SECRET_ARN with a url in the secret)",
  // A Cloud ID names its deployment's Kibana too (its third part).
  kibana: (input) =>
    input.isSet("kibanaUrl") || input.isSet("elasticsearchCloudId") || input.isSet("elasticsearchSecretArn")
      ? undefined
      : "set KIBANA_URL (the Kibana of the cluster; with ELASTICSEARCH_CLOUD_ID it is found from the Cloud ID)",
  deadLetterBucket: (input) =>
    input.isSet("deadLetterBucket")
      ? undefined
      : "DEAD_LETTER_BUCKET is required (refused documents must outlive /tmp)",
  checkpointTable: (input) => (input.isSet("checkpointTable") ? undefined : "CHECKPOINT_TABLE is required"),
  mapperFunctionName: (input) =>
    input.isSet("mapperFunctionName") ? undefined : "MAPPER_FUNCTION_NAME is required",
  lambdaFunctionName: (input) =>
    input.isSet("lambdaFunctionName")
      ? undefined
      : "AWS_LAMBDA_FUNCTION_NAME is not set (is this running in Lambda?)",
};

/** The problems of missing settings an entry point cannot work without. */
export function checkRequirements(input: RuleInput, required: readonly Requirement[]): string[] {
  return required.map((r) => REQUIREMENTS[r](input)).filter((p): p is string => p !== undefined);
}
