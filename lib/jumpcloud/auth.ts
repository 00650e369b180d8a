import {
  ConfigurationError,
  JumpcloudAuthenticationError,
  JumpcloudClientError,
  JumpcloudResponseFormatError,
} from "../errors.ts";
import { type HttpSettings, raceAbort, redactSecrets, sendWithRetry, snippet } from "./http.ts";

/** Credentials for Directory Insights requests. */
export interface Authenticator {
  /** Headers that authenticate one request. */
  headers(signal?: AbortSignal): Promise<Record<string, string>>;
  /** Forgets cached credentials after a 401; true when the next `headers()` may succeed. */
  refresh(): boolean;
  /** Values never to be shown in errors or logs. */
  secrets(): string[];
}

/** Where a secret comes from: a fixed value, or a reader (Secrets Manager) that can be asked again. */
export type SecretSource<T> = T | (() => Promise<T>);

// Printable ASCII without spaces: anything else cannot travel in a header, and undici's error
// for it would quote the value.
const HEADER_SAFE = /^[\x21-\x7e]+$/;

function checkHeaderSafe(name: string, value: string): string {
  const trimmed = value.trim();
  if (!HEADER_SAFE.test(trimmed)) {
    throw new ConfigurationError([
      `the JumpCloud ${name} is empty or holds characters that cannot be sent in a header`,
    ]);
  }
  return trimmed;
}

/** `x-api-key` authentication; a reader source is re-read once after a 401 (key rotation). */
export class ApiKeyAuthenticator implements Authenticator {
  private cached: string | undefined;
  private pending: Promise<string> | undefined;

  constructor(private readonly source: SecretSource<string>) {
    if (typeof source === "string") this.cached = checkHeaderSafe("API key", source);
  }

  async headers(signal?: AbortSignal): Promise<Record<string, string>> {
    if (this.cached === undefined) {
      // Concurrent pages share one read of the secret.
      this.pending ??= (this.source as () => Promise<string>)()
        .then((key) => checkHeaderSafe("API key", key))
        .finally(() => {
          this.pending = undefined;
        });
      this.cached = await raceAbort(this.pending, signal);
    }
    return { "x-api-key": this.cached };
  }

  refresh(): boolean {
    if (typeof this.source === "string") return false;
    this.cached = undefined;
    return true;
  }

  secrets(): string[] {
    return this.cached === undefined ? [] : [this.cached];
  }
}

/** A service account's client id and secret. */
export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

/**
 * OAuth client-credentials authentication for JumpCloud service accounts: a token from the
 * token endpoint, cached until shortly before it expires, sent as `Authorization: Bearer`.
 */
export class OAuthAuthenticator implements Authenticator {
  private credentials: ClientCredentials | undefined;
  private token: { value: string; refreshAt: number } | undefined;
  private pending: Promise<string> | undefined;
  private basic: string | undefined;

  constructor(
    private readonly tokenUrl: string,
    private readonly source: SecretSource<ClientCredentials>,
    private readonly http: HttpSettings,
  ) {
    if (typeof source !== "function") this.credentials = source;
  }

  async headers(signal?: AbortSignal): Promise<Record<string, string>> {
    let value =
      this.token !== undefined && this.http.now() < this.token.refreshAt ? this.token.value : undefined;
    if (value === undefined) {
      // Concurrent pages share one token request; it runs to its end whoever stops waiting.
      this.pending ??= this.fetchToken().finally(() => {
        this.pending = undefined;
      });
      value = await raceAbort(this.pending, signal);
    }
    return { authorization: `Bearer ${value}` };
  }

  refresh(): boolean {
    this.token = undefined;
    if (typeof this.source === "function") this.credentials = undefined;
    return true;
  }

  secrets(): string[] {
    return [this.credentials?.clientSecret, this.basic, this.token?.value].filter(
      (s): s is string => s !== undefined,
    );
  }

  private async fetchToken(): Promise<string> {
    try {
      return await this.requestToken();
    } catch (error) {
      // A rotated client secret: read it once more before giving up.
      if (error instanceof JumpcloudAuthenticationError && typeof this.source === "function") {
        this.credentials = undefined;
        return await this.requestToken();
      }
      throw error;
    }
  }

  private async requestToken(): Promise<string> {
    this.credentials ??= await (this.source as () => Promise<ClientCredentials>)();
    const clientId = checkHeaderSafe("client id", this.credentials.clientId);
    const clientSecret = checkHeaderSafe("client secret", this.credentials.clientSecret);
    this.basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString(
      "base64",
    );
    const basic = this.basic;
    const redact = (text: string) => redactSecrets(text, this.secrets());
    const result = await sendWithRetry(
      "OAuth token request",
      this.tokenUrl,
      () => ({
        method: "POST",
        headers: {
          authorization: `Basic ${basic}`,
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
        },
        body: "grant_type=client_credentials&scope=api",
      }),
      this.http,
      undefined,
      redact,
    );
    const details = { status: result.status, requestId: result.requestId };
    // Only 400/401/403 are the endpoint judging the credentials; anything else means a wrong URL or an outage.
    if (result.status === 404 || result.status === 405) {
      throw new JumpcloudClientError(
        `no OAuth token endpoint at ${this.tokenUrl} (status ${result.status}): check JUMPCLOUD_TOKEN_URL (or JUMPCLOUD_API_URL's region)`,
        details,
      );
    }
    if (result.status < 200 || result.status > 299) {
      throw new JumpcloudAuthenticationError(
        "the OAuth token endpoint refused the service account credentials",
        {
          ...details,
          apiMessage: redact(oauthError(result.body)),
        },
      );
    }
    let parsed: { access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(result.body) as typeof parsed;
    } catch {
      throw new JumpcloudResponseFormatError("the OAuth token endpoint did not answer JSON", details);
    }
    if (typeof parsed.access_token !== "string" || !HEADER_SAFE.test(parsed.access_token)) {
      throw new JumpcloudResponseFormatError(
        "the OAuth token endpoint answered without a usable access_token",
        details,
      );
    }
    const lifetimeMs =
      (typeof parsed.expires_in === "number" && parsed.expires_in > 0 ? parsed.expires_in : 3600) * 1000;
    // Renew a minute early (or at 90 % of short lifetimes) so no request leaves with a dying token.
    this.token = {
      value: parsed.access_token,
      refreshAt: this.http.now() + Math.max(lifetimeMs * 0.9, lifetimeMs - 60_000),
    };
    return parsed.access_token;
  }
}

function oauthError(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: unknown; error_description?: unknown };
    const parts = [parsed.error, parsed.error_description].filter((p) => typeof p === "string");
    if (parts.length > 0) return parts.join(": ");
  } catch {
    // not JSON: fall through to the snippet
  }
  return snippet(body);
}
