import { readFile } from "node:fs/promises";
import { Client, type ClientOptions, errors } from "@elastic/elasticsearch";
import { ConfigurationError, ElasticsearchRequestError, ElasticsearchUnavailableError } from "../errors.ts";
import type { ElasticsearchAuth, ElasticsearchConfig } from "./config.ts";

/** Credentials as read from the environment or from a secret. */
export type ElasticsearchCredentials =
  | { apiKey: string }
  | { username: string; password: string }
  | undefined;

/**
 * Reads a secret's text: a bare API key, or JSON with `api_key`/`apiKey` (also `encoded`, as
 * Kibana shows it), or `username` + `password`.
 */
export function parseElasticsearchSecret(text: string): NonNullable<ElasticsearchCredentials> {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{")) {
    if (trimmed === "") throw new ConfigurationError(["the Elasticsearch secret is empty"]);
    return { apiKey: trimmed };
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(trimmed) as Record<string, unknown>;
  } catch {
    throw new ConfigurationError(["the Elasticsearch secret is neither an API key nor valid JSON"]);
  }
  const apiKey = parsed.api_key ?? parsed.apiKey ?? parsed.encoded;
  if (typeof apiKey === "string" && apiKey !== "") return { apiKey };
  if (typeof parsed.username === "string" && typeof parsed.password === "string") {
    return { username: parsed.username, password: parsed.password };
  }
  throw new ConfigurationError([
    'the Elasticsearch secret needs "api_key" (or "apiKey"/"encoded"), or "username" and "password"',
  ]);
}

/**
 * The official client (8.x: it sends `compatible-with=8`, which Elasticsearch 8 and 9 both
 * serve), with its own retries off: the sink retries with backoff, per item.
 */
export async function createElasticsearchClient(
  config: ElasticsearchConfig,
  credentials: ElasticsearchCredentials,
): Promise<Client> {
  if (!config.node && !config.cloudId) {
    throw new ConfigurationError([
      "ELASTICSEARCH_URL or ELASTICSEARCH_CLOUD_ID is needed to reach a cluster",
    ]);
  }
  let ca: string | undefined;
  if (config.caCertPath) {
    try {
      ca = await readFile(config.caCertPath, "utf8");
    } catch (cause) {
      throw new ConfigurationError([`ELASTICSEARCH_CA_CERT: cannot read ${config.caCertPath}`], { cause });
    }
  }
  const options: ClientOptions = {
    ...(config.node ? { node: config.node } : { cloud: { id: config.cloudId as string } }),
    ...(credentials && { auth: credentials }),
    ...(ca && { tls: { ca } }),
    requestTimeout: config.requestTimeoutMs,
    compression: config.compression,
    maxRetries: 0,
    name: "jumpcloud-elastic",
  };
  return new Client(options);
}

/** Credentials for the configured auth; `readSecret` fetches a secret's text (Secrets Manager). */
export async function resolveCredentials(
  auth: ElasticsearchAuth,
  readSecret: (arn: string) => Promise<string>,
): Promise<ElasticsearchCredentials> {
  switch (auth.kind) {
    case "apiKey":
      return { apiKey: auth.apiKey };
    case "basic":
      return { username: auth.username, password: auth.password };
    case "secret":
      return parseElasticsearchSecret(await readSecret(auth.secretArn));
    default:
      return undefined;
  }
}

/** One line about an Elasticsearch client error: status, type and reason, never credentials. */
export function describeElasticsearchError(error: unknown): string {
  if (error instanceof errors.ResponseError) {
    const reason = (error.body as { error?: { type?: string; reason?: string } } | undefined)?.error;
    return `status ${error.statusCode}${reason?.type ? ` ${reason.type}` : ""}${reason?.reason ? `: ${reason.reason}` : ""}`;
  }
  if (error instanceof errors.TimeoutError) return "request timed out";
  if (error instanceof errors.ConnectionError) return `connection error: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/** A typed error for a failed call: a refusal (4xx) or an unreachable cluster. */
export function toElasticsearchError(what: string, error: unknown): Error {
  if (error instanceof errors.ResponseError && error.statusCode !== undefined && error.statusCode < 500) {
    return new ElasticsearchRequestError(`${what}: ${describeElasticsearchError(error)}`, error.statusCode, {
      cause: error,
    });
  }
  if (error instanceof errors.ElasticsearchClientError) {
    return new ElasticsearchUnavailableError(`${what}: ${describeElasticsearchError(error)}`, {
      cause: error,
    });
  }
  return error instanceof Error ? error : new Error(String(error));
}
