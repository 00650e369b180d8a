import { describe, expect, it } from "vitest";
import { JumpcloudAuthenticationError } from "../../lib/errors.ts";
import { ApiKeyAuthenticator } from "../../lib/jumpcloud/auth.ts";
import { DirectoryInsightsClient } from "../../lib/jumpcloud/client.ts";
import { resolveApiUrl } from "../../lib/jumpcloud/regions.ts";

// Read-only checks against the real API, run only when credentials are in the environment:
//   JUMPCLOUD_API_KEY=... [JUMPCLOUD_API_URL=eu|in|<url>] [JUMPCLOUD_ORG_IDS=<org>] npx vitest run test/jumpcloud/client.live.test.ts
const key = process.env.JUMPCLOUD_API_KEY;
const problems: string[] = [];
const apiUrl = resolveApiUrl(process.env.JUMPCLOUD_API_URL, problems);
const orgId = process.env.JUMPCLOUD_ORG_IDS?.split(",")[0]?.trim() || undefined;

describe.skipIf(!key)("live JumpCloud API (runs when JUMPCLOUD_API_KEY is set)", () => {
  const client = new DirectoryInsightsClient({ apiUrl, orgId, auth: new ApiKeyAuthenticator(key ?? "") });
  const end = new Date(Date.now() - 5 * 60_000);
  const window = { services: ["all"], start: new Date(end.getTime() - 3_600_000), end };

  it("has a valid API URL", () => {
    expect(problems).toStrictEqual([]);
  });

  it("counts the last hour", async () => {
    expect(await client.count(window)).toBeGreaterThanOrEqual(0);
  });

  it("pages a recent window in ascending order without repeats (at most 5 pages of 2)", async () => {
    const seen: string[] = [];
    const times: string[] = [];
    let pages = 0;
    for await (const page of client.pages({ ...window, limit: 2, sort: "ASC" })) {
      for (const event of page.events) {
        seen.push(String(event.id));
        times.push(String(event.timestamp));
      }
      if (++pages === 5) break;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect([...times].sort()).toStrictEqual(times);
  });

  it("refuses a wrong key with a typed error that does not echo it", async () => {
    const wrong = new DirectoryInsightsClient({
      apiUrl,
      auth: new ApiKeyAuthenticator("jumpcloud-elastic-invalid-key"),
    });
    const error = await wrong.count(window).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JumpcloudAuthenticationError);
    expect(String((error as Error).message)).not.toContain("jumpcloud-elastic-invalid-key");
  });
});

describe.runIf(!key)("live JumpCloud API", () => {
  it.skip("skipped: set JUMPCLOUD_API_KEY (and optionally JUMPCLOUD_API_URL, JUMPCLOUD_ORG_IDS) to run it", () => {});
});
