import { checkFilled, parseSecretArn } from "../aws/secrets.ts";
import { ConfigurationError } from "../errors.ts";
import {
  ApiKeyAuthenticator,
  type Authenticator,
  type ClientCredentials,
  OAuthAuthenticator,
} from "../jumpcloud/auth.ts";
import { DirectoryInsightsClient } from "../jumpcloud/client.ts";
import { defaultHttpSettings, type HttpSettings } from "../jumpcloud/http.ts";
import { tokenUrlFor } from "../jumpcloud/regions.ts";
import type { Logger } from "../logger.ts";
import type { Settings } from "../settings/schema.ts";
import type { AwsClients } from "./aws.ts";

/** How `put-secret-value` should fill the JumpCloud secret (in the "secret not filled yet" message). */
export const JUMPCLOUD_SECRET_EXAMPLE = '{"api_key":"<JumpCloud API key>"}';

/** The JumpCloud secret: a bare API key, or JSON with `api_key`, or `client_id` + `client_secret`. */
export function parseJumpcloudSecret(text: string): { apiKey: string } | ClientCredentials {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{")) return { apiKey: trimmed };
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(trimmed) as Record<string, unknown>;
  } catch {
    // The parser's message would quote the secret.
    throw new ConfigurationError(["the JumpCloud secret is neither a bare API key nor valid JSON"]);
  }
  const apiKey = parsed.api_key ?? parsed.apiKey;
  if (typeof apiKey === "string") return { apiKey };
  const clientId = parsed.client_id ?? parsed.clientId;
  const clientSecret = parsed.client_secret ?? parsed.clientSecret;
  if (typeof clientId === "string" && typeof clientSecret === "string") return { clientId, clientSecret };
  throw new ConfigurationError(['the JumpCloud secret needs "api_key", or "client_id" and "client_secret"']);
}

function tokenUrl(settings: Settings, source: string): string {
  const url = settings.jumpcloudTokenUrl ?? tokenUrlFor(settings.jumpcloudApiUrl);
  if (url === undefined) {
    throw new ConfigurationError([
      `JUMPCLOUD_TOKEN_URL is required with service account credentials (${source}) and a custom JUMPCLOUD_API_URL`,
    ]);
  }
  return url;
}

// The secret is read once here to learn its kind; each later read is a refresh after a 401, and
// bypasses the cache so a rotated secret is picked up.
async function secretAuthenticator(
  arn: string,
  settings: Settings,
  aws: AwsClients,
  http: HttpSettings,
): Promise<Authenticator> {
  const reader = aws.secrets((parseSecretArn(arn) as { region: string }).region);
  const parse = (text: string) => parseJumpcloudSecret(checkFilled(arn, text, JUMPCLOUD_SECRET_EXAMPLE));
  const first = parse(await reader.read(arn));
  let unused: typeof first | undefined = first;
  const next = async () => {
    const value = unused ?? parse(await reader.read(arn, { fresh: true }));
    unused = undefined;
    return value;
  };
  if ("apiKey" in first)
    return new ApiKeyAuthenticator(async () => ((await next()) as { apiKey: string }).apiKey);
  return new OAuthAuthenticator(
    tokenUrl(settings, "JUMPCLOUD_SECRET_ARN"),
    async () => (await next()) as ClientCredentials,
    http,
  );
}

async function authenticator(
  settings: Settings,
  aws: AwsClients,
  http: HttpSettings,
): Promise<Authenticator> {
  if (settings.jumpcloudApiKey !== undefined) return new ApiKeyAuthenticator(settings.jumpcloudApiKey);
  if (settings.jumpcloudClientId !== undefined && settings.jumpcloudClientSecret !== undefined) {
    return new OAuthAuthenticator(
      tokenUrl(settings, "JUMPCLOUD_CLIENT_ID"),
      { clientId: settings.jumpcloudClientId, clientSecret: settings.jumpcloudClientSecret },
      http,
    );
  }
  if (settings.jumpcloudSecretArn !== undefined)
    return secretAuthenticator(settings.jumpcloudSecretArn, settings, aws, http);
  throw new ConfigurationError([
    "JumpCloud credentials are missing: set JUMPCLOUD_API_KEY, or JUMPCLOUD_CLIENT_ID and JUMPCLOUD_CLIENT_SECRET, or JUMPCLOUD_SECRET_ARN",
  ]);
}

/** The Directory Insights client (the EventSource) for the settings, first org as default `x-org-id`. */
export async function createEventSource(
  settings: Settings,
  deps: { aws: AwsClients; logger: Logger; http?: Partial<HttpSettings> },
): Promise<DirectoryInsightsClient> {
  const http = defaultHttpSettings({
    timeoutMs: settings.jumpcloudTimeout,
    logger: deps.logger,
    ...deps.http,
  });
  return new DirectoryInsightsClient({
    apiUrl: settings.jumpcloudApiUrl,
    auth: await authenticator(settings, deps.aws, http),
    orgId: settings.jumpcloudOrgIds[0],
    http,
  });
}
