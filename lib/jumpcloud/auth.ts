import { JumpcloudAuthenticationError, JumpcloudResponseFormatError } from "../errors.ts";
import { type HttpSettings, sendWithRetry, snippet } from "./http.ts";

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

/** `x-api-key` authentication; a reader source is re-read once after a 401 (key rotation). */
export class ApiKeyAuthenticator implements Authenticator {
  private cached: string | undefined;

  constructor(private readonly source: SecretSource<string>) {
    if (typeof source === "string") this.cached = source;
  }

  async headers(): Promise<Record<string, string>> {
    if (this.cached === undefined) this.cached = await (this.source as () => Promise<string>)();
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

  constructor(
    private readonly tokenUrl: string,
    private readonly source: SecretSource<ClientCredentials>,
    private readonly http: HttpSettings,
  ) {
    if (typeof source !== "function") this.credentials = source;
  }

  async headers(signal?: AbortSignal): Promise<Record<string, string>> {
    if (this.token === undefined || this.http.now() >= this.token.refreshAt) {
      // Concurrent pages share one token request.
      this.pending ??= this.fetchToken(signal).finally(() => {
        this.pending = undefined;
      });
      await this.pending;
    }
    return { authorization: `Bearer ${this.token?.value}` };
  }

  refresh(): boolean {
    this.token = undefined;
    if (typeof this.source === "function") this.credentials = undefined;
    return true;
  }

  secrets(): string[] {
    return [this.credentials?.clientSecret, this.token?.value].filter((s): s is string => s !== undefined);
  }

  private async fetchToken(signal?: AbortSignal): Promise<string> {
    this.credentials ??= await (this.source as () => Promise<ClientCredentials>)();
    const { clientId, clientSecret } = this.credentials;
    const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString(
      "base64",
    );
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
      signal,
    );
    const details = { status: result.status, requestId: result.requestId };
    if (result.status < 200 || result.status > 299) {
      throw new JumpcloudAuthenticationError(
        "the OAuth token endpoint refused the service account credentials",
        {
          ...details,
          apiMessage: oauthError(result.body),
        },
      );
    }
    let parsed: { access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(result.body) as typeof parsed;
    } catch (cause) {
      throw new JumpcloudResponseFormatError("the OAuth token endpoint did not answer JSON", details, {
        cause,
      });
    }
    if (typeof parsed.access_token !== "string" || parsed.access_token === "") {
      throw new JumpcloudResponseFormatError(
        "the OAuth token endpoint answered without an access_token",
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
