import { errors } from "@elastic/elasticsearch";
import { ConfigurationError, ElasticsearchRequestError, ElasticsearchUnavailableError } from "../errors.ts";

/** Credentials as read from the environment or from a secret. */
export type ElasticsearchCredentials =
  | { apiKey: string }
  | { username: string; password: string }
  | undefined;

/** What the Elasticsearch secret holds: credentials, and optionally the cluster itself. */
export interface ElasticsearchSecret {
  credentials: NonNullable<ElasticsearchCredentials>;
  /** `url` in the secret: used when ELASTICSEARCH_URL is not set (fill one secret after deploying). */
  url?: string;
  /** `cloud_id` in the secret, likewise. */
  cloudId?: string;
}

function credentialsOf(parsed: Record<string, unknown>): NonNullable<ElasticsearchCredentials> {
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
 * Reads a secret's text: a bare API key, or JSON with `api_key`/`apiKey` (also `encoded`, as
 * Kibana shows it), or `username` + `password`; JSON may add `url` or `cloud_id`.
 */
export function parseElasticsearchSecret(text: string): ElasticsearchSecret {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{")) {
    if (trimmed === "") throw new ConfigurationError(["the Elasticsearch secret is empty"]);
    return { credentials: { apiKey: trimmed } };
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(trimmed) as Record<string, unknown>;
  } catch {
    throw new ConfigurationError(["the Elasticsearch secret is neither an API key nor valid JSON"]);
  }
  const url = parsed.url;
  const cloudId = parsed.cloud_id ?? parsed.cloudId;
  return {
    credentials: credentialsOf(parsed),
    ...(typeof url === "string" && url !== "" && { url }),
    ...(typeof cloudId === "string" && cloudId !== "" && { cloudId }),
  };
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
