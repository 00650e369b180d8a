import {
  InvalidQueryError,
  type JumpcloudApiError,
  JumpcloudAuthenticationError,
  JumpcloudBadRequestError,
  JumpcloudClientError,
  JumpcloudForbiddenError,
  JumpcloudPaymentRequiredError,
  JumpcloudResponseFormatError,
} from "../errors.ts";
import type { Authenticator } from "./auth.ts";
import {
  defaultHttpSettings,
  type HttpResult,
  type HttpSettings,
  redactSecrets,
  sendWithRetry,
  snippet,
} from "./http.ts";
import { serviceListProblem } from "./regions.ts";

/** One Directory Insights query: a time window of some services, optionally for one org. */
export interface EventQuery {
  services: readonly string[];
  /** Inclusive. */
  start: Date;
  /** Exclusive. */
  end: Date;
  /** Rows per page, 1 to 10 000 (API default 1000). */
  limit?: number;
  sort?: "ASC" | "DESC";
  /** Resume after this position: a previous page's `searchAfter` (JSON array text), sent verbatim. */
  searchAfter?: string;
  /** `x-org-id` for multi-org (MSP) credentials; overrides the client's default. */
  orgId?: string;
}

/** One page of events and what the API said about it. */
export interface EventPage {
  events: Record<string, unknown>[];
  /** `X-Result-Count`. */
  resultCount: number;
  /** `X-Limit`: the page size the API applied. */
  limit: number;
  /** Position after this page: the `X-Search_after` header text, to pass back verbatim. */
  searchAfter: string | undefined;
  /** More pages follow (`X-Result-Count` equals `X-Limit`). */
  hasMore: boolean;
  requestId: string | undefined;
}

/** Port: where events come from. */
export interface EventSource {
  /** Every page of a query, in order, from `query.searchAfter` on. */
  pages(query: EventQuery, signal?: AbortSignal): AsyncGenerator<EventPage>;
  /** Number of events in a window (for sizing backfill windows). */
  count(query: Omit<EventQuery, "limit" | "sort" | "searchAfter">, signal?: AbortSignal): Promise<number>;
}

/** How to reach the API. */
export interface DirectoryInsightsClientOptions {
  /** Base URL, e.g. `https://api.jumpcloud.com/insights/directory/v1`. */
  apiUrl: string;
  auth: Authenticator;
  /** Default `x-org-id`. */
  orgId?: string;
  http?: Partial<HttpSettings>;
  userAgent?: string;
}

/** Largest page the API serves. */
export const MAX_LIMIT = 10_000;

/** RFC 3339 UTC, without a fraction when there is none. */
export function formatQueryTime(date: Date): string {
  const iso = date.toISOString();
  return iso.endsWith(".000Z") ? `${iso.slice(0, 19)}Z` : iso;
}

/** Client for JumpCloud's Directory Insights API (`/events`, `/events/count`). */
export class DirectoryInsightsClient implements EventSource {
  private readonly http: HttpSettings;
  private readonly apiUrl: string;

  constructor(private readonly options: DirectoryInsightsClientOptions) {
    this.http = defaultHttpSettings(options.http);
    this.apiUrl = options.apiUrl.replace(/\/+$/, "");
  }

  async *pages(query: EventQuery, signal?: AbortSignal): AsyncGenerator<EventPage> {
    const body = this.queryBody(query);
    let searchAfter = query.searchAfter;
    if (searchAfter !== undefined && parseSearchAfter(searchAfter) === undefined) {
      throw new InvalidQueryError(
        "searchAfter must be the text of a non-empty JSON array (an X-Search_after header)",
      );
    }
    const seen = new Set<string>(searchAfter === undefined ? [] : [searchAfter]);
    for (;;) {
      const page = await this.fetchPage(body, searchAfter, query.orgId, signal);
      yield page;
      if (!page.hasMore) return;
      const next = page.searchAfter as string;
      // A token seen before in this walk means the API would page in a circle.
      if (seen.has(next)) {
        throw new JumpcloudResponseFormatError(
          "paging did not advance: X-Search_after repeated an earlier position",
          {
            requestId: page.requestId,
          },
        );
      }
      seen.add(next);
      searchAfter = next;
    }
  }

  async count(
    query: Omit<EventQuery, "limit" | "sort" | "searchAfter">,
    signal?: AbortSignal,
  ): Promise<number> {
    const { service, start_time, end_time } = this.queryBody(query);
    const body = JSON.stringify({ service, start_time, end_time });
    const result = await this.post("/events/count", body, query.orgId, signal);
    const parsed = this.parseJson(result);
    const count = (parsed as { count?: unknown } | null)?.count;
    if (typeof count !== "number" || !Number.isInteger(count) || count < 0) {
      throw this.formatError("the count answer has no integer `count`", result);
    }
    return count;
  }

  private queryBody(query: EventQuery): Record<string, unknown> {
    const { start, end } = query;
    if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) {
      throw new InvalidQueryError("refusing to query: the window has an invalid date");
    }
    if (start.getTime() >= end.getTime()) {
      throw new InvalidQueryError(
        `refusing to query a window whose start (${start.toISOString()}) is not before its end (${end.toISOString()})`,
      );
    }
    const limit = query.limit;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)) {
      throw new InvalidQueryError(`limit must be an integer from 1 to ${MAX_LIMIT}, not ${limit}`);
    }
    const services = serviceListProblem(query.services);
    if (services) throw new InvalidQueryError(`the service list ${services}`);
    return {
      service: [...query.services],
      start_time: formatQueryTime(start),
      end_time: formatQueryTime(end),
      ...(limit !== undefined && { limit }),
      ...(query.sort !== undefined && { sort: query.sort }),
    };
  }

  private async fetchPage(
    body: Record<string, unknown>,
    searchAfter: string | undefined,
    orgId: string | undefined,
    signal?: AbortSignal,
  ): Promise<EventPage> {
    // The token goes back as the API wrote it: parsing and re-serialising could round its numbers.
    const json = JSON.stringify(body);
    const text = searchAfter === undefined ? json : `${json.slice(0, -1)},"search_after":${searchAfter}}`;
    const result = await this.post("/events", text, orgId, signal);
    const parsed = this.parseJson(result);
    if (!Array.isArray(parsed)) throw this.formatError("the events answer is not a JSON array", result);
    for (const [i, element] of parsed.entries()) {
      if (typeof element !== "object" || element === null || Array.isArray(element)) {
        throw this.formatError(`element ${i} of the events answer is not an object`, result);
      }
    }
    const events = parsed as Record<string, unknown>[];

    const resultCount = intHeader(result, "x-result-count") ?? events.length;
    if (resultCount !== events.length) {
      throw this.formatError(
        `X-Result-Count says ${resultCount} but the page holds ${events.length} events`,
        result,
      );
    }
    const limit = intHeader(result, "x-limit") ?? (body.limit as number | undefined) ?? 1000;
    const next = searchAfterHeader(result);
    const hasMore = resultCount > 0 && resultCount >= limit;
    if (hasMore && next === undefined) {
      throw this.formatError(
        "a full page came without a usable X-Search_after header, so paging cannot go on",
        result,
      );
    }
    return { events, resultCount, limit, searchAfter: next, hasMore, requestId: result.requestId };
  }

  private async post(
    path: string,
    body: string,
    orgId: string | undefined,
    signal?: AbortSignal,
  ): Promise<HttpResult> {
    const org = orgId ?? this.options.orgId;
    const what = `POST ${path}${org ? ` (org ${org})` : ""}`;
    for (let refreshed = false; ; refreshed = true) {
      const result = await sendWithRetry(
        what,
        `${this.apiUrl}${path}`,
        async () => ({
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "application/json",
            "user-agent": this.options.userAgent ?? "jumpcloud-elastic",
            ...(org && { "x-org-id": org }),
            ...(await this.options.auth.headers(signal)),
          },
          body,
        }),
        this.http,
        signal,
        (text) => this.redact(text),
      );
      if (result.status >= 200 && result.status <= 299) return result;
      // A rotated key or an expired token gets one fresh credential before we give up.
      if (result.status === 401 && !refreshed && this.options.auth.refresh()) {
        this.http.logger.warn("credentials refused; refreshing them once", {
          call: what,
          requestId: result.requestId,
        });
        continue;
      }
      throw this.statusError(what, result);
    }
  }

  private statusError(what: string, result: HttpResult): JumpcloudApiError {
    const details = {
      status: result.status,
      requestId: result.requestId,
      apiMessage: this.apiMessage(result.body),
    };
    switch (result.status) {
      case 400:
        return new JumpcloudBadRequestError(`${what}: the API rejected the query`, details);
      case 401:
        return new JumpcloudAuthenticationError(
          `${what}: the API key or token was refused (check JUMPCLOUD_API_KEY or the service account; with an org id, the key's access to that org)`,
          details,
        );
      case 402:
        return new JumpcloudPaymentRequiredError(
          `${what}: the organization's plan does not include this API`,
          details,
        );
      case 403:
        return new JumpcloudForbiddenError(
          `${what}: these credentials may not read Directory Insights`,
          details,
        );
      default:
        return result.status >= 300 && result.status < 400
          ? new JumpcloudClientError(
              `${what}: the API answered with a redirect, which is not followed (check the API URL)`,
              details,
            )
          : new JumpcloudClientError(`${what}: unexpected answer`, details);
    }
  }

  private parseJson(result: HttpResult): unknown {
    try {
      return JSON.parse(result.body);
    } catch {
      // No cause kept: a SyntaxError quotes the body, which the snippet already shows redacted.
      throw this.formatError("the answer is not valid JSON", result);
    }
  }

  private formatError(message: string, result: HttpResult): JumpcloudResponseFormatError {
    return new JumpcloudResponseFormatError(message, {
      status: result.status,
      requestId: result.requestId,
      apiMessage: this.redact(snippet(result.body)),
    });
  }

  // The API's own `message` when it sent one, else the start of the body; credentials removed.
  private apiMessage(body: string): string {
    try {
      const parsed = JSON.parse(body) as { message?: unknown; error?: unknown };
      const message = parsed.message ?? parsed.error;
      if (typeof message === "string") return this.redact(snippet(message));
    } catch {
      // not JSON
    }
    return this.redact(snippet(body));
  }

  private redact(text: string): string {
    return redactSecrets(text, this.options.auth.secrets());
  }
}

function intHeader(result: HttpResult, name: string): number | undefined {
  const raw = result.headers.get(name);
  if (raw === null || !/^\s*\d+\s*$/.test(raw)) return undefined;
  return Number(raw);
}

function searchAfterHeader(result: HttpResult): string | undefined {
  const raw = result.headers.get("x-search_after");
  return raw === null ? undefined : parseSearchAfter(raw);
}

/** The token text when it is a non-empty JSON array, else `undefined`. */
function parseSearchAfter(raw: string): string | undefined {
  const text = raw.trim();
  try {
    const parsed = JSON.parse(text) as unknown;
    return Array.isArray(parsed) && parsed.length > 0 ? text : undefined;
  } catch {
    return undefined;
  }
}
