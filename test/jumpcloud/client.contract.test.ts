import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  InvalidQueryError,
  JumpcloudAuthenticationError,
  JumpcloudBadRequestError,
  JumpcloudClientError,
  JumpcloudForbiddenError,
  JumpcloudPaymentRequiredError,
  JumpcloudResponseFormatError,
  JumpcloudUnavailableError,
} from "../../lib/errors.ts";
import { ApiKeyAuthenticator, OAuthAuthenticator } from "../../lib/jumpcloud/auth.ts";
import { DirectoryInsightsClient, type EventPage } from "../../lib/jumpcloud/client.ts";
import { defaultHttpSettings, type HttpSettings } from "../../lib/jumpcloud/http.ts";
import type { Logger } from "../../lib/logger.ts";
import { JumpcloudSimulator } from "../../simulators/jumpcloud/server.ts";
import { generateTenantEvents } from "../../simulators/jumpcloud/tenant.ts";
import { collect, describeClientContract } from "./contract.ts";

const ORG_A = "5f0a0a0a0a0a0a0a0a0a0a0a";
const ORG_B = "5f0b0b0b0b0b0b0b0b0b0b0b";
const KEY = "jca_simulated_key_0123456789";
const MSP_KEY = "jca_simulated_msp_key_9876543210";
const CLIENT = { clientId: "svc-client-id", clientSecret: "svc-client-secret-abcdef" };
const SECRETS = [
  KEY,
  MSP_KEY,
  CLIENT.clientSecret,
  Buffer.from(`${CLIENT.clientId}:${CLIENT.clientSecret}`).toString("base64"),
];

const HOUR = 3_600_000;
const END = Date.parse("2026-03-01T12:00:00Z");
const START = END - 2 * HOUR;

/** Log lines and errors of the current test, checked for secrets after each test. */
let logLines: string[] = [];
let seenErrors: unknown[] = [];
/** Backoff waits the client asked for. */
let sleeps: number[] = [];

const logger: Logger = {
  debug: (m, f) => logLines.push(JSON.stringify({ m, f })),
  info: (m, f) => logLines.push(JSON.stringify({ m, f })),
  warn: (m, f) => logLines.push(JSON.stringify({ m, f })),
  error: (m, f) => logLines.push(JSON.stringify({ m, f })),
};

function http(overrides: Partial<HttpSettings> = {}): Partial<HttpSettings> {
  return {
    timeoutMs: 5_000,
    retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 5, maxElapsedMs: 10_000 },
    logger,
    sleep: async (ms) => {
      sleeps.push(ms);
      await new Promise((r) => setTimeout(r, Math.min(ms, 5)));
    },
    ...overrides,
  };
}

/** The error a call fails with (recorded for the secret check). */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    seenErrors.push(error);
    return error as Error;
  }
  throw new Error("expected a failure");
}

/** Everything an error could print: message, fields, stack, and its causes. */
function printable(error: unknown): string {
  const parts: string[] = [];
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    parts.push(String((e as Error).message), String((e as Error).stack), JSON.stringify(e));
  }
  return parts.join("\n");
}

function ids(pages: EventPage[]): unknown[] {
  return pages.flatMap((p) => p.events.map((e) => e.id));
}

describe("Directory Insights client against the simulator", () => {
  const tenantA = generateTenantEvents({
    seed: 7,
    start: START,
    end: END,
    count: 2_345,
    organization: ORG_A,
  });
  const tenantB = generateTenantEvents({ seed: 8, start: START, end: END, count: 321, organization: ORG_B });
  let now = END + HOUR;
  const simulatorOptions = {
    tenants: [
      { orgId: ORG_A, events: tenantA },
      { orgId: ORG_B, events: tenantB },
    ],
    keys: [
      { key: KEY, orgs: [ORG_A] },
      { key: MSP_KEY, orgs: [ORG_A, ORG_B], requiresOrgHeader: true },
    ],
    clients: [{ ...CLIENT, orgs: [ORG_A], tokenLifetime: 600 }],
    now: () => now,
  };
  const sim = new JumpcloudSimulator(simulatorOptions);
  let apiUrl: string;
  const window = { services: ["all"], start: new Date(START), end: new Date(END) };
  const apiOrderA = () => sim.allEvents(ORG_A).map((e) => e.id);
  const keyClient = (overrides: Partial<HttpSettings> = {}) =>
    new DirectoryInsightsClient({ apiUrl, auth: new ApiKeyAuthenticator(KEY), http: http(overrides) });
  const oauth = (source: ConstructorParameters<typeof OAuthAuthenticator>[1] = CLIENT) =>
    new OAuthAuthenticator(sim.tokenUrl, source, defaultHttpSettings({ ...http(), now: () => now }));

  beforeAll(async () => {
    apiUrl = await sim.start();
  });
  afterEach(() => {
    // No key, secret or token in any error or log line of the test just run.
    const text = [...logLines, ...seenErrors.map(printable)].join("\n");
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/sim-[0-9a-f]{8}-/);
    sim.clearFaults();
    sim.requests.length = 0;
    logLines = [];
    seenErrors = [];
    sleeps = [];
    now = END + HOUR;
  });
  afterAll(() => sim.stop());

  describeClientContract("simulator", () => ({
    client: () => keyClient(),
    refused: () => ({
      client: new DirectoryInsightsClient({
        apiUrl,
        auth: new ApiKeyAuthenticator("not-the-key-4242"),
        http: http(),
      }),
      key: "not-the-key-4242",
    }),
    window: () => window,
  }));

  describe("paging", () => {
    it("follows X-Search_after verbatim to the last page: the exact event set, no gap, no repeat", async () => {
      const pages = await collect(keyClient(), { ...window, limit: 500 });

      expect(ids(pages)).toStrictEqual(apiOrderA());
      expect(new Set(ids(pages))).toStrictEqual(new Set(tenantA.map((g) => g.event.id)));
      expect(pages.map((p) => p.resultCount)).toStrictEqual([500, 500, 500, 500, 345]);
      expect(sim.requests[0]?.body).toStrictEqual({
        service: ["all"],
        start_time: "2026-03-01T10:00:00Z",
        end_time: "2026-03-01T12:00:00Z",
        limit: 500,
      });
      for (let i = 1; i < pages.length; i++) {
        const sent = sim.requests[i]?.body as Record<string, unknown>;
        expect(JSON.stringify(sent.search_after)).toBe(pages[i - 1]?.searchAfter);
        expect({ ...sent, search_after: undefined }).toStrictEqual({
          ...(sim.requests[0]?.body as Record<string, unknown>),
          search_after: undefined,
        });
      }
    });

    it("sends the search_after token exactly as received, digits included", async () => {
      const huge = '[1772359200123456789,"doc-id"]';
      await collect(keyClient(), { ...window, limit: 10, searchAfter: huge }).catch(() => undefined);
      expect(sim.requests[0]?.rawBody).toContain(`"search_after":${huge}`);
    });

    it("asks once more after a full last page and stops on the empty one", async () => {
      const pages = await collect(keyClient(), { ...window, limit: 2_345 });
      expect(pages.map((p) => p.resultCount)).toStrictEqual([2_345, 0]);
    });

    it("trusts X-Limit over the limit it sent", async () => {
      const capped = new JumpcloudSimulator({ ...simulatorOptions, maxLimit: 300 });
      const url = await capped.start();
      try {
        const client = new DirectoryInsightsClient({
          apiUrl: url,
          auth: new ApiKeyAuthenticator(KEY),
          http: http(),
        });
        const pages = await collect(client, { ...window, limit: 1_000 });
        expect(pages.map((p) => p.limit)).toStrictEqual(Array(8).fill(300));
        expect(ids(pages)).toHaveLength(2_345);
      } finally {
        await capped.stop();
      }
    });

    it("resumes from a saved position", async () => {
      const [first] = await collect(keyClient(), { ...window, limit: 2_000 });
      const rest = await collect(keyClient(), { ...window, limit: 2_000, searchAfter: first?.searchAfter });
      expect([...ids(first ? [first] : []), ...ids(rest)]).toStrictEqual(apiOrderA());
    });

    it("accepts the maximum limit of 10 000 and refuses anything else before sending", async () => {
      await collect(keyClient(), { ...window, limit: 10_000 });
      expect(sim.requests[0]?.body).toHaveProperty("limit", 10_000);
      sim.requests.length = 0;
      for (const limit of [0, 10_001, 1.5, -3]) {
        expect(await failure(collect(keyClient(), { ...window, limit }))).toBeInstanceOf(InvalidQueryError);
      }
      expect(await failure(collect(keyClient(), { ...window, searchAfter: "not json" }))).toBeInstanceOf(
        InvalidQueryError,
      );
      expect(sim.requests).toHaveLength(0);
    });

    it("filters by service, exactly", async () => {
      const pages = await collect(keyClient(), { ...window, services: ["sso", "radius"], limit: 10_000 });
      const expected = tenantA
        .filter((g) => g.service === "sso" || g.service === "radius")
        .map((g) => g.event.id);
      expect(new Set(ids(pages))).toStrictEqual(new Set(expected));
      expect(ids(pages)).toHaveLength(expected.length);
    });

    it("sorts DESC when asked", async () => {
      const pages = await collect(keyClient(), { ...window, sort: "DESC", limit: 1_000 });
      expect(ids(pages)).toStrictEqual(apiOrderA().reverse());
    });

    it("counts the events of a window", async () => {
      const client = keyClient();
      await expect(client.count(window)).resolves.toBe(2_345);
      await expect(client.count({ ...window, services: ["ldap"] })).resolves.toBe(
        tenantA.filter((g) => g.service === "ldap").length,
      );
      expect(sim.requests.at(-1)?.path).toBe("/events/count");
    });

    it("refuses a window whose start is not before its end, without sending it", async () => {
      const client = keyClient();
      for (const end of [START, START - 1]) {
        const error = await failure(collect(client, { ...window, end: new Date(end) }));
        expect(error).toBeInstanceOf(InvalidQueryError);
        expect(error.message).toMatch(/is not before its end/);
        expect(await failure(client.count({ ...window, end: new Date(end) }))).toBeInstanceOf(
          InvalidQueryError,
        );
      }
      expect(sim.requests).toHaveLength(0);
    });

    it("refuses `all` mixed with named services, and no service at all", async () => {
      for (const services of [["all", "sso"], []]) {
        expect(await failure(collect(keyClient(), { ...window, services }))).toBeInstanceOf(
          InvalidQueryError,
        );
      }
      expect(sim.requests).toHaveLength(0);
    });

    it("sends a service it does not know (JumpCloud adds services): the API's answer decides", async () => {
      const error = await failure(collect(keyClient(), { ...window, services: ["sso", "nope"] }));
      expect(error).toBeInstanceOf(JumpcloudBadRequestError);
      expect(error.message).toMatch(/invalid service: nope; valid values: .*sso/);
      expect(sim.requests).toHaveLength(1);
    });

    it("sees an event only after its ingestion delay", async () => {
      const late = generateTenantEvents({
        seed: 99,
        start: END - 1000,
        end: END - 999,
        count: 1,
        organization: ORG_A,
      });
      const lateSim = new JumpcloudSimulator({
        tenants: [{ orgId: ORG_A, events: late }],
        keys: [{ key: KEY, orgs: [ORG_A] }],
        ingestionDelay: () => 60_000,
        now: () => now,
      });
      const url = await lateSim.start();
      try {
        const client = new DirectoryInsightsClient({
          apiUrl: url,
          auth: new ApiKeyAuthenticator(KEY),
          http: http(),
        });
        now = END;
        await expect(client.count(window)).resolves.toBe(0);
        now = END + 59_000;
        await expect(client.count(window)).resolves.toBe(1);
      } finally {
        await lateSim.stop();
      }
    });
  });

  describe("authentication", () => {
    it("sends the API key as x-api-key", async () => {
      await keyClient().count(window);
      expect(sim.requests[0]?.headers["x-api-key"]).toBe(KEY);
      expect(sim.requests[0]?.headers.authorization).toBeUndefined();
    });

    it("uses one OAuth token for many pages, as Bearer, and renews it before it expires", async () => {
      const client = new DirectoryInsightsClient({ apiUrl, auth: oauth(), http: http() });
      await collect(client, { ...window, limit: 1_000 });
      const tokenRequests = () => sim.requests.filter((r) => r.path === "/oauth2/token");
      expect(tokenRequests()).toHaveLength(1);
      expect(tokenRequests()[0]?.body).toBe("grant_type=client_credentials&scope=api");
      const bearers = sim.requests.filter((r) => r.path === "/events").map((r) => r.headers.authorization);
      expect(new Set(bearers).size).toBe(1);
      expect(bearers[0]).toMatch(/^Bearer sim-/);

      now += 541_000; // 600 s lifetime: renewed a minute early
      await client.count(window);
      expect(tokenRequests()).toHaveLength(2);
    });

    it("shares one token request between concurrent calls", async () => {
      const client = new DirectoryInsightsClient({ apiUrl, auth: oauth(), http: http() });
      await Promise.all([client.count(window), client.count(window), client.count(window)]);
      expect(sim.requests.filter((r) => r.path === "/oauth2/token")).toHaveLength(1);
    });

    it("refuses wrong service account credentials with a typed error that holds no secret", async () => {
      const wrong = { clientId: CLIENT.clientId, clientSecret: "wrong-secret-value-123" };
      const error = await failure(
        new DirectoryInsightsClient({ apiUrl, auth: oauth(wrong), http: http() }).count(window),
      );
      expect(error).toBeInstanceOf(JumpcloudAuthenticationError);
      expect(error.message).toMatch(/invalid_client/);
      expect(printable(error)).not.toContain("wrong-secret-value-123");
    });

    it("says a token URL that is not a token endpoint (404) is wrong, not the credentials", async () => {
      const auth = new OAuthAuthenticator(
        `${sim.tokenUrl}/nope`,
        CLIENT,
        defaultHttpSettings({ ...http(), now: () => now }),
      );
      const error = await failure(new DirectoryInsightsClient({ apiUrl, auth, http: http() }).count(window));
      expect(error).not.toBeInstanceOf(JumpcloudAuthenticationError);
      expect(error.message).toMatch(
        /no OAuth token endpoint at .*\/nope \(status 404\): check JUMPCLOUD_TOKEN_URL/,
      );
    });

    it("re-reads a rotated service account secret once when the token endpoint refuses it", async () => {
      const reads = [{ ...CLIENT, clientSecret: "old-rotated-secret" }, CLIENT];
      let calls = 0;
      const auth = oauth(async () => reads[calls++] as typeof CLIENT);
      await expect(new DirectoryInsightsClient({ apiUrl, auth, http: http() }).count(window)).resolves.toBe(
        2_345,
      );
      expect(calls).toBe(2);
    });

    it("fails a refused static key at once: 401, typed, with the API's message and request id", async () => {
      const client = new DirectoryInsightsClient({
        apiUrl,
        auth: new ApiKeyAuthenticator("not-the-key"),
        http: http(),
      });
      const error = (await failure(client.count(window))) as JumpcloudAuthenticationError;
      expect(error).toBeInstanceOf(JumpcloudAuthenticationError);
      expect(error.apiMessage).toBe("Unauthorized");
      expect(error.requestId).toBe(sim.requests[0]?.requestId);
      expect(sim.requests).toHaveLength(1);
    });

    it("re-reads a rotated key once after a 401 (Secrets Manager rotation)", async () => {
      const reads = ["old-rotated-key", KEY];
      let calls = 0;
      const auth = new ApiKeyAuthenticator(async () => reads[calls++] as string);
      await expect(new DirectoryInsightsClient({ apiUrl, auth, http: http() }).count(window)).resolves.toBe(
        2_345,
      );
      expect(calls).toBe(2);
      expect(sim.requests.map((r) => r.status)).toStrictEqual([401, 200]);
    });

    it("gives up after one refresh when the new key is refused too", async () => {
      let calls = 0;
      const auth = new ApiKeyAuthenticator(async () => `bad-key-${++calls}`);
      expect(
        await failure(new DirectoryInsightsClient({ apiUrl, auth, http: http() }).count(window)),
      ).toBeInstanceOf(JumpcloudAuthenticationError);
      expect(calls).toBe(2);
      expect(sim.requests).toHaveLength(2);
    });

    it("refuses a key that cannot travel in a header, without echoing it or sending anything", async () => {
      const auth = new ApiKeyAuthenticator(async () => `${KEY}\nX-Injected: 1`);
      const error = await failure(new DirectoryInsightsClient({ apiUrl, auth, http: http() }).count(window));
      expect(error.message).toMatch(/cannot be sent in a header/);
      expect(sim.requests).toHaveLength(0);
    });

    it("gets a fresh OAuth token after a 401 (token revoked or expired early)", async () => {
      const client = new DirectoryInsightsClient({ apiUrl, auth: oauth(), http: http() });
      await client.count(window);
      sim.inject({ kind: "status", status: 401 }, 1, "/events/count");
      await expect(client.count(window)).resolves.toBe(2_345);
      expect(sim.requests.filter((r) => r.path === "/oauth2/token")).toHaveLength(2);
    });

    it.each([
      [402, JumpcloudPaymentRequiredError],
      [403, JumpcloudForbiddenError],
      [400, JumpcloudBadRequestError],
      [307, JumpcloudClientError],
    ])("maps %i to a typed, non-retried error carrying the API's message", async (status, type) => {
      sim.inject({
        kind: "status",
        status,
        body: JSON.stringify({ message: `simulated message ${status}` }),
      });
      const error = await failure(keyClient().count(window));
      expect(error).toBeInstanceOf(type);
      expect(error.message).toContain(`simulated message ${status}`);
      expect(error.message).toContain(`request id ${sim.requests[0]?.requestId}`);
      expect(sim.requests).toHaveLength(1);
    });

    it("redacts credentials a misbehaving server echoes back", async () => {
      sim.inject({ kind: "echo", status: 502 }, 10);
      const unavailable = await failure(keyClient().count(window));
      expect(unavailable).toBeInstanceOf(JumpcloudUnavailableError);
      expect(unavailable.message).toContain("[redacted]");
      sim.clearFaults();
      sim.inject({ kind: "echo", status: 200 }, 1, "/events");
      const format = await failure(collect(keyClient(), { ...window, limit: 10 }));
      expect(format).toBeInstanceOf(JumpcloudResponseFormatError);
      expect(format.message).toContain("[redacted]");
    });
  });

  describe("abort", () => {
    it("sends nothing when the signal is already aborted", async () => {
      const controller = new AbortController();
      controller.abort(new Error("deadline"));
      expect((await failure(keyClient().count(window, controller.signal))).message).toBe("deadline");
      expect(sim.requests).toHaveLength(0);
    });

    it("stops while the key is being read", async () => {
      const controller = new AbortController();
      const auth = new ApiKeyAuthenticator(
        () => new Promise((resolve) => setTimeout(() => resolve(KEY), 2_000)),
      );
      const started = Date.now();
      const pending = new DirectoryInsightsClient({ apiUrl, auth, http: http() }).count(
        window,
        controller.signal,
      );
      setTimeout(() => controller.abort(new Error("deadline")), 20);
      expect((await failure(pending)).message).toBe("deadline");
      expect(Date.now() - started).toBeLessThan(1_000);
    });

    it("stops mid-request", async () => {
      sim.inject({ kind: "delay", ms: 2_000 });
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error("deadline")), 50);
      expect((await failure(keyClient().count(window, controller.signal))).message).toBe("deadline");
    });
  });

  describe("organizations", () => {
    it("sends x-org-id and reads that org only", async () => {
      const client = new DirectoryInsightsClient({
        apiUrl,
        auth: new ApiKeyAuthenticator(MSP_KEY),
        http: http(),
      });
      const pages = await collect(client, { ...window, orgId: ORG_B, limit: 10_000 });
      expect(new Set(ids(pages))).toStrictEqual(new Set(tenantB.map((g) => g.event.id)));
      expect(sim.requests[0]?.headers["x-org-id"]).toStrictEqual([ORG_B]);
    });

    it("uses the client's default org, overridden per query", async () => {
      const client = new DirectoryInsightsClient({
        apiUrl,
        auth: new ApiKeyAuthenticator(MSP_KEY),
        orgId: ORG_A,
        http: http(),
      });
      await expect(client.count(window)).resolves.toBe(2_345);
      await expect(client.count({ ...window, orgId: ORG_B })).resolves.toBe(321);
    });

    it("surfaces the API's refusal when an MSP key names no org, or a foreign one", async () => {
      const client = new DirectoryInsightsClient({
        apiUrl,
        auth: new ApiKeyAuthenticator(MSP_KEY),
        http: http(),
      });
      expect(await failure(client.count(window))).toBeInstanceOf(JumpcloudBadRequestError);
      const single = new DirectoryInsightsClient({
        apiUrl,
        auth: new ApiKeyAuthenticator(KEY),
        http: http(),
      });
      expect(await failure(single.count({ ...window, orgId: ORG_B }))).toBeInstanceOf(
        JumpcloudAuthenticationError,
      );
    });
  });

  describe("faults", () => {
    it.each([429, 500, 502, 503, 504])("retries %i and then succeeds", async (status) => {
      sim.inject({ kind: "status", status }, 2);
      await expect(keyClient().count(window)).resolves.toBe(2_345);
      expect(sim.requests.map((r) => r.status)).toStrictEqual([status, status, 200]);
      expect(sleeps).toHaveLength(2);
    });

    it.each([501, 505])("does not retry %i, which no retry can fix", async (status) => {
      sim.inject({ kind: "status", status }, 2);
      expect(await failure(keyClient().count(window))).toBeInstanceOf(JumpcloudClientError);
      expect(sim.requests).toHaveLength(1);
    });

    it("fails at once, naming the host, for a port fetch refuses to connect to", async () => {
      const client = new DirectoryInsightsClient({
        apiUrl: "http://127.0.0.1:25",
        auth: new ApiKeyAuthenticator(KEY),
        http: http(),
      });
      const error = await failure(client.count(window));
      expect(error).toBeInstanceOf(JumpcloudClientError);
      expect(String(error)).toMatch(/127\.0\.0\.1:25 uses a port fetch refuses to connect to \(bad port\)/);
      expect(sleeps).toHaveLength(0);
    });

    it("waits as long as Retry-After says (seconds or HTTP date)", async () => {
      sim.inject({ kind: "status", status: 429, retryAfter: "2" });
      sim.inject({ kind: "status", status: 503, retryAfter: new Date(Date.now() + 3_000).toUTCString() });
      await expect(keyClient().count(window)).resolves.toBe(2_345);
      expect(sleeps[0]).toBe(2_000);
      expect(sleeps[1]).toBeGreaterThan(1_000);
      expect(sleeps[1]).toBeLessThanOrEqual(3_000);
    });

    it("backs off exponentially with full jitter when no Retry-After is sent", async () => {
      sim.inject({ kind: "status", status: 429 }, 3);
      await keyClient({
        random: () => 0.999,
        retry: { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 250, maxElapsedMs: 10_000 },
      }).count(window);
      expect(sleeps).toStrictEqual([99, 199, 249]);
    });

    it("gives up after the attempt budget with a typed error naming the last status", async () => {
      sim.inject({ kind: "status", status: 503 }, 10);
      const error = (await failure(keyClient().count(window))) as JumpcloudUnavailableError;
      expect(error).toBeInstanceOf(JumpcloudUnavailableError);
      expect(error.status).toBe(503);
      expect(error.message).toMatch(/after 4 attempt\(s\)/);
      expect(sim.requests).toHaveLength(4);
    });

    it("gives up when backing off would pass the time budget", async () => {
      let clock = 0;
      sim.inject({ kind: "status", status: 503 }, 10);
      const client = keyClient({
        now: () => clock,
        random: () => 0.999,
        sleep: async (ms) => {
          clock += ms;
        },
        retry: { maxAttempts: 10, baseDelayMs: 40, maxDelayMs: 1_000, maxElapsedMs: 100 },
      });
      expect(await failure(client.count(window))).toBeInstanceOf(JumpcloudUnavailableError);
      expect(sim.requests).toHaveLength(2); // waits 39, then 79 would end past 100 ms
    });

    it("gives up at once when Retry-After goes past the time budget", async () => {
      sim.inject({ kind: "status", status: 429, retryAfter: "3600" }, 3);
      expect(await failure(keyClient().count(window))).toBeInstanceOf(JumpcloudUnavailableError);
      expect(sim.requests).toHaveLength(1);
    });

    it("retries when the headers are slower than the timeout", async () => {
      sim.inject({ kind: "delay", ms: 1_000 });
      await expect(keyClient({ timeoutMs: 200 }).count(window)).resolves.toBe(2_345);
      expect(sim.requests).toHaveLength(2);
      expect(logLines.some((l) => l.includes("no complete answer within 200 ms"))).toBe(true);
    });

    it("retries when the body is slower than the timeout (the timeout covers the body)", async () => {
      sim.inject({ kind: "slow-body", ms: 1_000 }, 1, "/events");
      const pages = await collect(keyClient({ timeoutMs: 300 }), { ...window, limit: 10_000 });
      expect(ids(pages)).toHaveLength(2_345);
      expect(sim.requests).toHaveLength(2);
    });

    it("retries a connection reset", async () => {
      sim.inject({ kind: "reset" }, 2);
      await expect(keyClient().count(window)).resolves.toBe(2_345);
      expect(sim.requests).toHaveLength(3);
    });

    it("retries a truncated body (connection dropped mid-answer)", async () => {
      sim.inject({ kind: "truncated" }, 1, "/events");
      const pages = await collect(keyClient(), { ...window, limit: 10_000 });
      expect(ids(pages)).toHaveLength(2_345);
      expect(sim.requests).toHaveLength(2);
    });

    it.each([
      ["malformed", /not valid JSON/],
      ["object", /not a JSON array/],
      ["non-object-element", /element 2345 of the events answer is not an object/],
    ] as const)("refuses a %s body with a typed error, never an empty page", async (kind, message) => {
      sim.inject({ kind }, 1, "/events");
      const error = (await failure(
        collect(keyClient(), { ...window, limit: 10_000 }),
      )) as JumpcloudResponseFormatError;
      expect(error).toBeInstanceOf(JumpcloudResponseFormatError);
      expect(error.message).toMatch(message);
      expect(error.status).toBe(200);
      expect(error.requestId).toBe(sim.requests[0]?.requestId);
      expect(error.apiMessage?.length).toBeLessThanOrEqual(201);
    });

    it("refuses a page whose X-Result-Count disagrees with its length", async () => {
      sim.inject({ kind: "headers", set: { "X-Result-Count": "7" } }, 1, "/events");
      expect(await failure(collect(keyClient(), { ...window, limit: 100 }))).toBeInstanceOf(
        JumpcloudResponseFormatError,
      );
    });

    it("refuses a full page without X-Search_after rather than stopping early", async () => {
      sim.inject({ kind: "headers", set: { "X-Search_after": null } }, 1, "/events");
      const error = await failure(collect(keyClient(), { ...window, limit: 100 }));
      expect(error).toBeInstanceOf(JumpcloudResponseFormatError);
      expect(error.message).toMatch(/X-Search_after/);
    });

    it("refuses a token that goes back to an earlier position (paging in a circle)", async () => {
      const [first] = await collect(keyClient(), { ...window, limit: 100 }).then((p) => p.slice(0, 1));
      sim.requests.length = 0;
      sim.inject({ kind: "pass" }, 1, "/events");
      sim.inject({ kind: "pass" }, 1, "/events");
      sim.inject({ kind: "headers", set: { "X-Search_after": first?.searchAfter ?? "" } }, 1, "/events");
      const error = await failure(collect(keyClient(), { ...window, limit: 100 }));
      expect(error.message).toMatch(/did not advance/);
      expect(sim.requests).toHaveLength(3);
    });
  });

  describe("the simulator itself, as documented", () => {
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${apiUrl}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": KEY, ...headers },
        body: JSON.stringify(body),
      });
    const base = { service: ["all"], start_time: "2026-03-01T10:00:00Z", end_time: "2026-03-01T12:00:00Z" };

    it("answers 400 `Start Time not after End Time`, and refuses a start in the future", async () => {
      const res = await post("/events", { ...base, start_time: base.end_time });
      expect(res.status).toBe(400);
      expect(await res.json()).toStrictEqual({ message: "Start Time not after End Time" });
      expect(
        (await post("/events", { ...base, start_time: "2030-01-01T00:00:00Z", end_time: undefined })).status,
      ).toBe(400);
    });

    it("rejects `all` mixed with named services, and unknown services with the valid list", async () => {
      expect((await post("/events", { ...base, service: ["all", "sso"] })).status).toBe(400);
      const unknown = await post("/events", { ...base, service: ["bogus"] });
      expect(unknown.status).toBe(400);
      expect(((await unknown.json()) as { message: string }).message).toMatch(/valid values: all, alerts/);
    });

    it("applies limit defaults and bounds, sort case-insensitively, and always sends the paging headers", async () => {
      const cases: [unknown, string][] = [
        [undefined, "1000"],
        ["lots", "1000"],
        [-5, "1000"],
        [50_000, "10000"],
        [7, "7"],
      ];
      for (const [limit, expected] of cases) {
        const res = await post("/events", { ...base, limit, sort: "desc" });
        expect(res.headers.get("x-limit")).toBe(expected);
        expect(res.headers.get("x-sort")).toBe("DESC");
        expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
        expect(JSON.parse(res.headers.get("x-search_after") ?? "null")).toHaveLength(2);
      }
      const empty = await post("/events", { ...base, service: ["alerts"] });
      expect(empty.headers.get("x-search_after")).toBe("[]");
    });

    it("reads a start time without offset as UTC, and counts each repeated org once", async () => {
      const utc = await (
        await post("/events/count", {
          ...base,
          start_time: "2026-03-01T10:00:00",
          end_time: "2026-03-01T11:00:00",
        })
      ).json();
      const zulu = await (
        await post("/events/count", {
          ...base,
          start_time: "2026-03-01T10:00:00Z",
          end_time: "2026-03-01T11:00:00Z",
        })
      ).json();
      expect(utc).toStrictEqual(zulu);
      const twice = await post("/events/count", base, {
        "x-api-key": MSP_KEY,
        "x-org-id": `${ORG_B}, ${ORG_B}`,
      });
      expect(await twice.json()).toStrictEqual({ count: 321 });
    });

    it("rejects requests without credentials", async () => {
      const res = await fetch(`${apiUrl}/events`, { method: "POST", body: "{}" });
      expect(res.status).toBe(401);
    });
  });
});
