import { ConfigurationError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import {
  ApiKeyAuthenticator,
  type Authenticator,
  type ClientCredentials,
  OAuthAuthenticator,
  type SecretSource,
} from "./auth.ts";
import { DirectoryInsightsClient } from "./client.ts";
import type { JumpcloudConfig } from "./config.ts";
import { defaultHttpSettings, type HttpSettings } from "./http.ts";

/** Where credentials come from when not in the configuration itself (Secrets Manager in Lambda). */
export type CredentialSource =
  | { kind: "apiKey"; read: SecretSource<string> }
  | { kind: "oauth"; read: SecretSource<ClientCredentials> };

/** Builds an authenticator from configured credentials, or from a source such as Secrets Manager. */
export function createAuthenticator(
  config: JumpcloudConfig,
  http: HttpSettings,
  source?: CredentialSource,
): Authenticator {
  const credentials = config.credentials;
  if (source?.kind === "apiKey") return new ApiKeyAuthenticator(source.read);
  if (source?.kind === "oauth") return new OAuthAuthenticator(requireTokenUrl(config), source.read, http);
  if (credentials.kind === "apiKey") return new ApiKeyAuthenticator(credentials.apiKey);
  if (credentials.kind === "oauth") {
    return new OAuthAuthenticator(
      requireTokenUrl(config),
      { clientId: credentials.clientId, clientSecret: credentials.clientSecret },
      http,
    );
  }
  throw new ConfigurationError([
    "JumpCloud credentials are missing: set JUMPCLOUD_API_KEY, or JUMPCLOUD_CLIENT_ID and JUMPCLOUD_CLIENT_SECRET",
  ]);
}

function requireTokenUrl(config: JumpcloudConfig): string {
  if (config.tokenUrl === undefined) {
    throw new ConfigurationError([
      "JUMPCLOUD_TOKEN_URL is required with service account credentials and a custom JUMPCLOUD_API_URL",
    ]);
  }
  return config.tokenUrl;
}

/** A Directory Insights client for the configuration (first org, if any, as default `x-org-id`). */
export function createClient(
  config: JumpcloudConfig,
  options: { logger?: Logger; http?: Partial<HttpSettings>; source?: CredentialSource } = {},
): DirectoryInsightsClient {
  const http = defaultHttpSettings({
    timeoutMs: config.timeoutMs,
    ...options.http,
    ...(options.logger && { logger: options.logger }),
  });
  return new DirectoryInsightsClient({
    apiUrl: config.apiUrl,
    auth: createAuthenticator(config, http, options.source),
    orgId: config.orgIds[0],
    http,
  });
}
