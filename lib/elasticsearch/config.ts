import { type Environment, readBoolean } from "../config.ts";
import { readDuration } from "../duration.ts";
import { ConfigurationError } from "../errors.ts";
import { checkServiceUrl } from "../jumpcloud/regions.ts";

/** How Elasticsearch credentials are given. */
export type ElasticsearchAuth =
  | { kind: "apiKey"; apiKey: string }
  | { kind: "basic"; username: string; password: string }
  | { kind: "secret"; secretArn: string }
  | { kind: "none" };

/** Elasticsearch and dead-letter settings shared by the mapper Lambda and the CLI. */
export interface ElasticsearchConfig {
  /** Cluster URL, or undefined when a Cloud ID is given (or nothing: CLI writes files). */
  node: string | undefined;
  cloudId: string | undefined;
  auth: ElasticsearchAuth;
  /** Path of a PEM CA certificate for clusters with a private CA. */
  caCertPath: string | undefined;
  requestTimeoutMs: number;
  compression: boolean;
  maxBatchBytes: number;
  deadLetterBucket: string | undefined;
  deadLetterPrefix: string;
  deadLetterDir: string;
}

/** True when a cluster is configured. */
export function hasCluster(config: ElasticsearchConfig): boolean {
  return config.node !== undefined || config.cloudId !== undefined;
}

/** Reads the ELASTICSEARCH_* and DEAD_LETTER_* variables; problems are collected, not thrown. */
export function readElasticsearchConfig(env: Environment, problems: string[]): ElasticsearchConfig {
  const url = env.ELASTICSEARCH_URL?.trim() || undefined;
  const cloudId = env.ELASTICSEARCH_CLOUD_ID?.trim() || undefined;
  if (url && cloudId) problems.push("set ELASTICSEARCH_URL or ELASTICSEARCH_CLOUD_ID, not both");
  const node = url ? checkServiceUrl("ELASTICSEARCH_URL", url, problems) : undefined;

  const apiKey = env.ELASTICSEARCH_API_KEY?.trim();
  const username = env.ELASTICSEARCH_USERNAME?.trim();
  const password = env.ELASTICSEARCH_PASSWORD;
  const secretArn = env.ELASTICSEARCH_SECRET_ARN?.trim();
  const given = [apiKey, username || password, secretArn].filter(Boolean).length;
  let auth: ElasticsearchAuth = { kind: "none" };
  if (given > 1) {
    problems.push(
      "use one of ELASTICSEARCH_API_KEY, ELASTICSEARCH_USERNAME + ELASTICSEARCH_PASSWORD, ELASTICSEARCH_SECRET_ARN",
    );
  } else if (apiKey) {
    auth = { kind: "apiKey", apiKey };
  } else if (secretArn) {
    auth = { kind: "secret", secretArn };
  } else if (username && password) {
    auth = { kind: "basic", username, password };
  } else if (username || password) {
    problems.push("ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD go together");
  }

  const maxBatchMb = Number(env.ELASTICSEARCH_BULK_MAX_MB ?? "5");
  if (!(maxBatchMb > 0 && maxBatchMb <= 100))
    problems.push("ELASTICSEARCH_BULK_MAX_MB must be a number of megabytes from 0 to 100");

  return {
    node,
    cloudId,
    auth,
    caCertPath: env.ELASTICSEARCH_CA_CERT?.trim() || undefined,
    requestTimeoutMs: readDuration(env, "ELASTICSEARCH_REQUEST_TIMEOUT", 30_000, problems),
    compression: readBoolean(env, "ELASTICSEARCH_COMPRESSION", problems, true),
    maxBatchBytes: Math.floor(maxBatchMb * 1_000_000),
    deadLetterBucket: env.DEAD_LETTER_BUCKET?.trim() || undefined,
    deadLetterPrefix: env.DEAD_LETTER_PREFIX?.trim() || "dead-letters/",
    deadLetterDir: env.DEAD_LETTER_DIR?.trim() || ".jumpcloud-elastic/dead-letters",
  };
}

/** Reads the settings or throws one ConfigurationError naming every problem. */
export function loadElasticsearchConfig(env: Environment): ElasticsearchConfig {
  const problems: string[] = [];
  const config = readElasticsearchConfig(env, problems);
  if (problems.length > 0) throw new ConfigurationError(problems);
  return config;
}
