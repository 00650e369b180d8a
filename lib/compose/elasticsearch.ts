import { readFile } from "node:fs/promises";
import { Client, type ClientOptions } from "@elastic/elasticsearch";
import { parseSecretArn } from "../aws/secrets.ts";
import { type ElasticsearchCredentials, parseElasticsearchSecret } from "../elasticsearch/client.ts";
import { ConfigurationError } from "../errors.ts";
import type { Settings } from "../settings/schema.ts";
import type { AwsClients } from "./aws.ts";

/** True when the settings name a cluster (URL or Cloud ID). */
export function hasCluster(settings: Settings): boolean {
  return settings.elasticsearchUrl !== undefined || settings.elasticsearchCloudId !== undefined;
}

/** The credentials the settings give, reading the secret (afresh after a refusal, for rotation). */
export async function elasticsearchCredentials(
  settings: Settings,
  aws: AwsClients,
  options: { fresh?: boolean } = {},
): Promise<ElasticsearchCredentials> {
  if (settings.elasticsearchApiKey !== undefined) return { apiKey: settings.elasticsearchApiKey };
  if (settings.elasticsearchUsername !== undefined && settings.elasticsearchPassword !== undefined)
    return { username: settings.elasticsearchUsername, password: settings.elasticsearchPassword };
  const arn = settings.elasticsearchSecretArn;
  if (arn === undefined) return undefined;
  const reader = aws.secrets((parseSecretArn(arn) as { region: string }).region);
  return parseElasticsearchSecret(await reader.read(arn, options));
}

async function readCaCert(path: string | undefined): Promise<string | undefined> {
  if (path === undefined) return undefined;
  try {
    return await readFile(path, "utf8");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? String(cause);
    throw new ConfigurationError([`ELASTICSEARCH_CA_CERT: cannot read ${path} (${code})`], { cause });
  }
}

/**
 * The official client (8.x: it sends `compatible-with=8`, which Elasticsearch 8 and 9 both
 * serve), with its own retries off: the sink retries with backoff, per item.
 */
export async function createElasticsearchClient(
  settings: Settings,
  aws: AwsClients,
  options: { fresh?: boolean } = {},
): Promise<Client> {
  const { elasticsearchUrl: node, elasticsearchCloudId: cloudId } = settings;
  if (node === undefined && cloudId === undefined)
    throw new ConfigurationError(["set ELASTICSEARCH_URL or ELASTICSEARCH_CLOUD_ID"]);
  const credentials = await elasticsearchCredentials(settings, aws, options);
  const ca = await readCaCert(settings.elasticsearchCaCert);
  const clientOptions: ClientOptions = {
    ...(node !== undefined ? { node } : { cloud: { id: cloudId as string } }),
    ...(credentials && { auth: credentials }),
    ...(ca && { tls: { ca } }),
    requestTimeout: settings.elasticsearchRequestTimeout,
    compression: settings.elasticsearchCompression,
    maxRetries: 0,
    name: "jumpcloud-elastic",
  };
  return new Client(clientOptions);
}
