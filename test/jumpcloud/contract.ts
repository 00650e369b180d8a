import { describe, expect, it } from "vitest";
import { InvalidQueryError, JumpcloudAuthenticationError } from "../../lib/errors.ts";
import type { DirectoryInsightsClient, EventPage, EventQuery } from "../../lib/jumpcloud/client.ts";

/** What the shared contract needs from a target API (the simulator, or JumpCloud itself). */
export interface ContractTarget {
  /** A client with working credentials. */
  client(): DirectoryInsightsClient;
  /** A client whose key is refused; `key` is that key, to check it is never echoed. */
  refused(): { client: DirectoryInsightsClient; key: string };
  /** A window with some events (at most 10 000, so one page can hold them all). */
  window(): Pick<EventQuery, "services" | "start" | "end" | "orgId">;
}

/** Every page of a query. */
export async function collect(client: DirectoryInsightsClient, query: EventQuery): Promise<EventPage[]> {
  const pages: EventPage[] = [];
  for await (const page of client.pages(query)) pages.push(page);
  return pages;
}

function ids(pages: EventPage[]): unknown[] {
  return pages.flatMap((p) => p.events.map((e) => e.id));
}

/**
 * The client's contract, checked the same way against the simulator and the real API: paging in
 * small pages gives exactly the events of one big page, in order, agreeing with `count`.
 */
export function describeClientContract(name: string, target: () => ContractTarget): void {
  describe(`client contract: ${name}`, () => {
    it("pages a window in small pages to exactly the events of one big page, agreeing with count", async () => {
      const t = target();
      const client = t.client();
      const window = t.window();
      const total = await client.count(window);
      expect(total).toBeLessThanOrEqual(10_000);
      const whole = await collect(client, { ...window, limit: 10_000 });
      expect(ids(whole)).toHaveLength(total);
      // About five pages, whatever the tenant's volume.
      const limit = Math.max(1, Math.ceil(total / 5));
      const pages = await collect(client, { ...window, limit });
      expect(ids(pages)).toStrictEqual(ids(whole));
      expect(new Set(ids(pages)).size).toBe(total);
      for (const page of pages.slice(0, -1)) expect(page.resultCount).toBe(page.limit);
      expect(pages.at(-1)?.hasMore).toBe(false);
      const times = pages.flatMap((p) => p.events.map((e) => Date.parse(String(e.timestamp))));
      for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1] as number);
    });

    it("filters by service", async () => {
      const t = target();
      const pages = await collect(t.client(), {
        ...t.window(),
        services: ["sso", "directory"],
        limit: 10_000,
      });
      for (const event of pages.flatMap((p) => p.events))
        expect(["sso", "directory"]).toContain(event.service);
    });

    it("refuses a bad window or limit before sending anything", async () => {
      const t = target();
      const window = t.window();
      await expect(collect(t.client(), { ...window, end: window.start })).rejects.toBeInstanceOf(
        InvalidQueryError,
      );
      await expect(collect(t.client(), { ...window, limit: 10_001 })).rejects.toBeInstanceOf(
        InvalidQueryError,
      );
    });

    it("surfaces a refused key as a typed error that does not echo it", async () => {
      const t = target();
      const { client, key } = t.refused();
      const error = await client.count(t.window()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(JumpcloudAuthenticationError);
      expect((error as JumpcloudAuthenticationError).status).toBe(401);
      expect(JSON.stringify({ m: (error as Error).message, e: error })).not.toContain(key);
    });
  });
}
