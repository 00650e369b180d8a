import { readFile } from "node:fs/promises";
import { Client, type ClientOptions, errors, HttpConnection } from "@elastic/elasticsearch";
import type {
  ConnectionRequestOptions as RequestOptions,
  ConnectionRequestParams as RequestParams,
  ConnectionRequestResponse as RequestResponse,
  ConnectionRequestOptionsAsStream as StreamOptions,
  ConnectionRequestResponseAsStream as StreamResponse,
} from "@elastic/transport";
import { checkFilled, parseSecretArn } from "../aws/secrets.ts";
import {
  type ElasticsearchCredentials,
  type ElasticsearchSecret,
  parseElasticsearchSecret,
} from "../elasticsearch/client.ts";
import { ConfigurationError } from "../errors.ts";
import { proxyFor, proxyHint, shownProxy } from "../http/proxy.ts";
import { loadSettings } from "../settings/load.ts";
import type { Settings } from "../settings/schema.ts";
import type { AwsClients } from "./aws.ts";

/** True when the settings name a cluster (URL or Cloud ID, here or in the Elasticsearch secret). */
export function hasCluster(settings: Settings): boolean {
  return (
    settings.elasticsearchUrl !== undefined ||
    settings.elasticsearchCloudId !== undefined ||
    settings.elasticsearchSecretArn !== undefined
  );
}

/** How `put-secret-value` should fill the Elasticsearch secret (in the "secret not filled yet" message). */
export const ELASTICSEARCH_SECRET_EXAMPLE = '{"url":"https://<cluster>:443","api_key":"<encoded API key>"}';

/** The secret's content, read afresh after a refusal (rotation). */
export async function readElasticsearchSecret(
  settings: Settings,
  aws: AwsClients,
  fresh: boolean,
): Promise<ElasticsearchSecret | undefined> {
  const arn = settings.elasticsearchSecretArn;
  if (arn === undefined) return undefined;
  const reader = aws.secrets((parseSecretArn(arn) as { region: string }).region);
  return parseElasticsearchSecret(
    checkFilled(arn, await reader.read(arn, { fresh }), ELASTICSEARCH_SECRET_EXAMPLE),
  );
}

/** The cluster: the settings' URL or Cloud ID, else the secret's, checked like the settings. */
function endpoint(
  settings: Settings,
  secret: ElasticsearchSecret | undefined,
): { node: string } | { cloudId: string } {
  if (settings.elasticsearchUrl !== undefined) return { node: settings.elasticsearchUrl };
  if (settings.elasticsearchCloudId !== undefined) return { cloudId: settings.elasticsearchCloudId };
  const arn = settings.elasticsearchSecretArn;
  if (secret?.url === undefined && secret?.cloudId === undefined) {
    throw new ConfigurationError([
      secret === undefined
        ? "set ELASTICSEARCH_URL or ELASTICSEARCH_CLOUD_ID"
        : `set ELASTICSEARCH_URL or ELASTICSEARCH_CLOUD_ID, or "url" in the secret ${arn}`,
    ]);
  }
  // The secret's cluster is a setting from another source: the schema's own rules check it.
  const given = loadSettings(
    {},
    {
      overrides: {
        elasticsearchUrl: { value: secret.url, source: `"url" in the secret ${arn}` },
        elasticsearchCloudId: { value: secret.cloudId, source: `"cloud_id" in the secret ${arn}` },
      },
    },
  ).settings;
  return given.elasticsearchUrl !== undefined
    ? { node: given.elasticsearchUrl }
    : { cloudId: given.elasticsearchCloudId as string };
}

/** The cluster's credentials: the settings' own, else the secret's. */
export function elasticsearchCredentials(
  settings: Settings,
  secret: ElasticsearchSecret | undefined,
): ElasticsearchCredentials {
  if (settings.elasticsearchApiKey !== undefined) return { apiKey: settings.elasticsearchApiKey };
  if (settings.elasticsearchUsername !== undefined && settings.elasticsearchPassword !== undefined)
    return { username: settings.elasticsearchUsername, password: settings.elasticsearchPassword };
  return secret?.credentials;
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
 * The client's http connection through `proxy`, whose connection errors name the proxy: the
 * client's own say only "connect ECONNREFUSED <proxy address>" or "Bad response: 407".
 */
function proxiedConnection(proxy: string): typeof HttpConnection {
  const shown = shownProxy(proxy);
  return class ProxiedConnection extends HttpConnection {
    override request(params: RequestParams, options: RequestOptions): Promise<RequestResponse>;
    override request(params: RequestParams, options: StreamOptions): Promise<StreamResponse>;
    override async request(
      params: RequestParams,
      options: RequestOptions | StreamOptions,
    ): Promise<RequestResponse | StreamResponse> {
      try {
        return await super.request(params, options as RequestOptions);
      } catch (error) {
        if (error instanceof errors.ConnectionError) {
          const status = /Bad response: (\d+)/.exec(error.message)?.[1];
          error.message = `${error.message} (through proxy ${shown}${status ? proxyHint(status) : ""})`;
        }
        throw error;
      }
    }
  };
}

/**
 * The endpoint a cloud id stands for (`name:base64("host$es-id$kibana-id")`): the cluster, for
 * NO_PROXY, or its Kibana (undefined when the id names none).
 */
export function cloudUrl(
  cloudId: string,
  part: "elasticsearch" | "kibana" = "elasticsearch",
): string | undefined {
  const [host = "", esId = "", kibanaId] = Buffer.from(cloudId.split(":")[1] ?? "", "base64")
    .toString("utf8")
    .split("$");
  const id = part === "elasticsearch" ? esId : kibanaId;
  if (!id) return undefined;
  const [name = "cloud.es.io", port] = host.split(":");
  return `https://${id}.${name}${port && port !== "443" ? `:${port}` : ""}`;
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
  const secret = await readElasticsearchSecret(settings, aws, options.fresh === true);
  const target = endpoint(settings, secret);
  const auth = elasticsearchCredentials(settings, secret);
  const ca = await readCaCert(settings.elasticsearchCaCert);
  const proxy = proxyFor("node" in target ? target.node : (cloudUrl(target.cloudId) as string), settings);
  const clientOptions: ClientOptions = {
    ...("node" in target ? { node: target.node } : { cloud: { id: target.cloudId } }),
    // The client's default connection (undici) takes no proxy; its Node http one does.
    ...(proxy !== undefined && { Connection: proxiedConnection(proxy), proxy }),
    ...(auth && { auth }),
    ...(ca && { tls: { ca } }),
    requestTimeout: settings.elasticsearchRequestTimeout,
    compression: settings.elasticsearchCompression,
    maxRetries: 0,
    name: "jumpcloud-elastic",
  };
  return new Client(clientOptions);
}
