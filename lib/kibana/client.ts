import { randomUUID } from "node:crypto";
import { JumpcloudApiError, KibanaRequestError, KibanaUnavailableError } from "../errors.ts";
import { type HttpSettings, sendWithRetry, snippet } from "../jumpcloud/http.ts";

/** How to reach one Kibana: its URL, the space every call goes under, and the Authorization header. */
export interface KibanaConnection {
  /** Base URL without a trailing slash. */
  url: string;
  /** Space id; undefined: the default space (no `/s/` prefix). */
  space?: string | undefined;
  /** `ApiKey <encoded>` or `Basic <base64>`: never logged. */
  authorization: string;
  http: HttpSettings;
  /** Where the credentials come from, for messages ("KIBANA_API_KEY", "the Elasticsearch credentials"). */
  credentialSource: string;
}

/** An answer with its JSON body (undefined when the body is not JSON). */
export interface KibanaAnswer<T = unknown> {
  status: number;
  body: T | undefined;
  text: string;
}

/** A request to Kibana: JSON or an NDJSON file upload, and query parameters. */
export interface KibanaRequest {
  json?: unknown;
  /** Sent as multipart/form-data, one part named `file`. */
  file?: { name: string; type: string; content: string };
  query?: Record<string, string | number | boolean>;
  /** Not under the space: Kibana-wide APIs (spaces themselves). */
  global?: boolean;
  /** This request's bounds, when not the connection's (a first contact fails fast, an install waits). */
  timeoutMs?: number;
  maxAttempts?: number;
}

/** The message Kibana put in an error body (`message`, as its HTTP errors and Fleet's carry it), on one line. */
export function kibanaMessage(answer: KibanaAnswer): string {
  const body = answer.body as { message?: unknown; error?: unknown } | undefined;
  if (typeof body?.message === "string" && body.message !== "") return readable(body.message);
  if (typeof body?.error === "string") return body.error;
  return snippet(answer.text) || "no message";
}

// Security errors quote Elasticsearch's root causes over several lines before `]: <reason>`, and
// authorization errors the whole URL called: the reason and the privilege are what to read.
function readable(message: string): string {
  const reason = message.startsWith("[") ? /\]: ([^\]]+)$/.exec(message)?.[1] : undefined;
  const text = (reason ?? message).replace(/(API \[\w+ [^?\]]+)\?[^\]]*\]/, "$1]");
  return snippet(text, 300);
}

// A file upload built by hand: fetch's FormData differs between Node's fetch and undici's (the
// proxied one), and one part of text needs nothing more than this.
function multipart(file: NonNullable<KibanaRequest["file"]>): { body: string; type: string } {
  const boundary = `----jumpcloud-elastic-${randomUUID()}`;
  const body = [
    `--${boundary}`,
    `Content-Disposition: form-data; name="file"; filename="${file.name}"`,
    `Content-Type: ${file.type}`,
    "",
    file.content,
    `--${boundary}--`,
    "",
  ].join("\r\n");
  return { body, type: `multipart/form-data; boundary=${boundary}` };
}

/**
 * Kibana's HTTP API for one space: `kbn-xsrf` on every request that changes something (Kibana
 * refuses them without), retries of network failures and 429/5xx, errors that name the call.
 */
export class KibanaClient {
  constructor(readonly connection: KibanaConnection) {}

  /** The URL of `path` in the space (`/s/<space>` prefixed), for API calls and for links to print. */
  spaceUrl(path: string): string {
    const { url, space } = this.connection;
    return `${url}${space === undefined || space === "default" ? "" : `/s/${space}`}${path}`;
  }

  /** Sends one request; any status comes back (the caller decides), only an unreachable Kibana throws. */
  async request<T = unknown>(
    method: string,
    path: string,
    request: KibanaRequest = {},
  ): Promise<KibanaAnswer<T>> {
    const query = new URLSearchParams(
      Object.entries(request.query ?? {}).map(([k, v]) => [k, String(v)] as [string, string]),
    ).toString();
    const base = request.global ? `${this.connection.url}${path}` : this.spaceUrl(path);
    const target = `${base}${query ? `?${query}` : ""}`;
    const what = `Kibana ${method} ${path}`;
    const upload = request.file ? multipart(request.file) : undefined;
    const headers: Record<string, string> = {
      authorization: this.connection.authorization,
      accept: "application/json",
      // Kibana's public APIs are versioned: this is the one version 8.x and 9.x all serve.
      "elastic-api-version": "2023-10-31",
      ...(method !== "GET" && { "kbn-xsrf": "jumpcloud-elastic" }),
      ...(request.json !== undefined && { "content-type": "application/json" }),
      ...(upload && { "content-type": upload.type }),
    };
    const body = upload?.body ?? (request.json === undefined ? undefined : JSON.stringify(request.json));
    try {
      const { http } = this.connection;
      const bounded: HttpSettings = {
        ...http,
        ...(request.timeoutMs !== undefined && { timeoutMs: request.timeoutMs }),
        ...(request.maxAttempts !== undefined && {
          retry: { ...http.retry, maxAttempts: request.maxAttempts },
        }),
      };
      const result = await sendWithRetry(what, target, () => ({ method, headers, body }), bounded);
      return { status: result.status, body: parseJson<T>(result.body), text: result.body };
    } catch (error) {
      // The HTTP layer is shared with the JumpCloud client: its errors are renamed for Kibana here.
      if (error instanceof JumpcloudApiError)
        throw new KibanaUnavailableError(
          `${error.message} (Kibana at ${new URL(this.connection.url).host})`,
          { cause: error },
        );
      throw error;
    }
  }

  /** Sends a request and returns its body, or throws KibanaRequestError naming the call and Kibana's message. */
  async call<T = unknown>(method: string, path: string, request: KibanaRequest = {}): Promise<T> {
    const answer = await this.request<T>(method, path, request);
    if (answer.status >= 200 && answer.status < 300) return answer.body as T;
    throw this.refusal(`${method} ${path}`, answer);
  }

  /**
   * Checks the space exists: Kibana's APIs accept any space id in the path (objects then land in a
   * space nobody can open), so a typo in KIBANA_SPACE must be caught here.
   */
  async checkSpace(): Promise<void> {
    const { space } = this.connection;
    if (space === undefined || space === "default") return;
    const answer = await this.request("GET", `/api/spaces/space/${encodeURIComponent(space)}`, {
      global: true,
    });
    if (answer.status === 404)
      throw new KibanaRequestError(
        `Kibana has no space "${space}": check KIBANA_SPACE (the space's URL identifier, as in /s/<id>/app/...)`,
        404,
      );
    if (answer.status !== 200) throw this.refusal(`reading the space ${space}`, answer);
  }

  /** A KibanaRequestError for a refused call, with what to fix for the statuses a user can fix. */
  refusal(what: string, answer: KibanaAnswer): KibanaRequestError {
    const message = kibanaMessage(answer);
    const hint =
      answer.status === 401
        ? `: Kibana did not accept ${this.connection.credentialSource} (check the key, and that it belongs to this deployment)`
        : answer.status === 403
          ? `: ${this.connection.credentialSource} lacks a Kibana privilege this needs (docs/deploy.md, "The Kibana API key"; \`doctor\` names which)`
          : "";
    return new KibanaRequestError(
      `Kibana refused ${what} (${answer.status}: ${message})${hint}`,
      answer.status,
    );
  }
}

function parseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
