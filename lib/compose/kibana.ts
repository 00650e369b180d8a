import { parseSecretArn, SECRET_PLACEHOLDER } from "../aws/secrets.ts";
import type { ElasticsearchCredentials } from "../elasticsearch/client.ts";
import { ConfigurationError } from "../errors.ts";
import { defaultHttpSettings, type HttpSettings } from "../jumpcloud/http.ts";
import { KibanaClient } from "../kibana/client.ts";
import type { Logger } from "../logger.ts";
import type { Settings } from "../settings/schema.ts";
import type { AwsClients } from "./aws.ts";
import { cloudUrl, elasticsearchCredentials, readElasticsearchSecret } from "./elasticsearch.ts";

/** How `put-secret-value` should fill the Kibana secret. */
export const KIBANA_SECRET_EXAMPLE = '{"api_key":"<encoded API key>"}';

// Per request; a Fleet install asks for more (see fleet.ts).
const KIBANA_TIMEOUT_MS = 30_000;

/** Kibana's URL: KIBANA_URL, else the Kibana of the Cloud ID (in the settings or the Elasticsearch secret). */
function kibanaUrl(settings: Settings, secretCloudId: string | undefined): string {
  if (settings.kibanaUrl !== undefined) return settings.kibanaUrl;
  const cloudId = settings.elasticsearchCloudId ?? secretCloudId;
  const fromCloud = cloudId === undefined ? undefined : cloudUrl(cloudId, "kibana");
  if (fromCloud !== undefined) return fromCloud;
  throw new ConfigurationError([
    cloudId === undefined
      ? "set KIBANA_URL (the Kibana of the cluster)"
      : "set KIBANA_URL: the Cloud ID names no Kibana",
  ]);
}

function header(credentials: ElasticsearchCredentials): string | undefined {
  if (credentials === undefined) return undefined;
  if ("apiKey" in credentials) return `ApiKey ${credentials.apiKey}`;
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
}

// The Kibana secret: a bare API key or JSON {"api_key"} ("apiKey", "encoded" too); the stack's
// placeholder means "use the Elasticsearch credentials".
function parseKibanaSecret(arn: string, text: string): string | undefined {
  if (text.includes(SECRET_PLACEHOLDER)) return undefined;
  const trimmed = text.trim();
  if (!trimmed.startsWith("{")) return trimmed === "" ? undefined : trimmed;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(trimmed) as Record<string, unknown>;
  } catch {
    throw new ConfigurationError([`the Kibana secret ${arn} is neither an API key nor valid JSON`]);
  }
  const key = parsed.api_key ?? parsed.apiKey ?? parsed.encoded;
  if (typeof key === "string" && key !== "") return key;
  throw new ConfigurationError([`the Kibana secret ${arn} needs "api_key": ${KIBANA_SECRET_EXAMPLE}`]);
}

async function kibanaSecretKey(
  settings: Settings,
  aws: AwsClients,
  fresh: boolean,
): Promise<string | undefined> {
  const arn = settings.kibanaSecretArn;
  if (arn === undefined) return undefined;
  const reader = aws.secrets((parseSecretArn(arn) as { region: string }).region);
  return parseKibanaSecret(arn, await reader.read(arn, { fresh }));
}

/**
 * The Kibana client of the settings: KIBANA_API_KEY, else the Kibana secret's key, else the
 * Elasticsearch credentials (an Elastic API key works for both), under KIBANA_SPACE.
 */
export async function createKibanaClient(
  settings: Settings,
  aws: AwsClients,
  options: { fetch?: typeof fetch; logger?: Logger; fresh?: boolean; http?: Partial<HttpSettings> } = {},
): Promise<KibanaClient> {
  let secretError: unknown;
  const secret = await readElasticsearchSecret(settings, aws, options.fresh === true).catch(
    (error: unknown) => {
      secretError = error;
      return undefined;
    },
  );
  const own = settings.kibanaApiKey ?? (await kibanaSecretKey(settings, aws, options.fresh === true));
  // Without a key of its own, Kibana needs the cluster's: then the secret's trouble is Kibana's too.
  if (own === undefined && secretError !== undefined) throw secretError;
  const url = kibanaUrl(settings, secret?.cloudId);
  const credentialSource =
    settings.kibanaApiKey !== undefined
      ? "KIBANA_API_KEY"
      : own !== undefined
        ? `the key in ${settings.kibanaSecretArn}`
        : "the Elasticsearch credentials (set KIBANA_API_KEY for a key of its own)";
  const authorization =
    own !== undefined ? `ApiKey ${own}` : header(elasticsearchCredentials(settings, secret));
  if (authorization === undefined)
    throw new ConfigurationError([
      "no credentials for Kibana: set KIBANA_API_KEY, or the Elasticsearch credentials (ELASTICSEARCH_API_KEY)",
    ]);
  return new KibanaClient({
    url,
    space: settings.kibanaSpace,
    authorization,
    credentialSource,
    http: defaultHttpSettings({
      timeoutMs: KIBANA_TIMEOUT_MS,
      ...(options.fetch && { fetch: options.fetch }),
      ...(options.logger && { logger: options.logger }),
      ...options.http,
    }),
  });
}
