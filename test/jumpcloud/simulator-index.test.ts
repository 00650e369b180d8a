import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docIdOf } from "../../simulators/jumpcloud/event-index.ts";
import { Random } from "../../simulators/jumpcloud/random.ts";
import { JumpcloudSimulator, type StoredEvent } from "../../simulators/jumpcloud/server.ts";
import {
  type GeneratedEvent,
  generateTenant,
  generateTenantEvents,
  SERVICES,
} from "../../simulators/jumpcloud/tenant.ts";
import { VisibilityTree } from "../../simulators/jumpcloud/visibility-tree.ts";

const ORG_A = "5f1a1a1a1a1a1a1a1a1a1a1a";
const ORG_B = "5f1b1b1b1b1b1b1b1b1b1b1b";
const KEY = "index-test-key";
const START = Date.parse("2026-04-01T00:00:00Z");
const SECOND = 1_000;

interface Query {
  service: string[];
  start_time: string;
  end_time?: string;
  limit?: number;
  sort?: string;
  search_after?: unknown;
}

interface Answer {
  status: number;
  ids: unknown[];
  count?: number;
  headers: Record<string, string | null>;
}

const iso = (ms: number) => new Date(ms).toISOString();
const compare = (a: { at: number; docId: string }, b: { at: number; docId: string }) =>
  a.at - b.at || (a.docId < b.docId ? -1 : a.docId > b.docId ? 1 : 0);

/**
 * The simulator's semantics as they were before its index, filtering the whole tenant: the
 * reference every indexed answer must equal.
 */
function naive(stored: StoredEvent[][], q: Query, now: number, path: string): Answer {
  const start = Date.parse(q.start_time);
  const end = q.end_time === undefined ? Number.POSITIVE_INFINITY : Date.parse(q.end_time);
  const all = q.service.includes("all");
  const matches = stored
    .flat()
    .filter(
      (e) => e.at >= start && e.at < end && e.visibleAt <= now && (all || q.service.includes(e.service)),
    );
  if (path === "/events/count") return { status: 200, ids: [], count: matches.length, headers: {} };
  const limit = q.limit ?? 1000;
  const desc = q.sort?.toUpperCase() === "DESC";
  matches.sort(compare);
  if (desc) matches.reverse();
  let from = 0;
  if (q.search_after !== undefined) {
    const token = q.search_after as [number, string];
    const position = { at: Number(token[0]), docId: token[1] };
    from = matches.findIndex((e) => (desc ? compare(e, position) < 0 : compare(e, position) > 0));
    if (from === -1) from = matches.length;
  }
  const page = matches.slice(from, from + limit);
  const last = page.at(-1);
  return {
    status: 200,
    ids: page.map((e) => e.event.id),
    headers: {
      "x-result-count": String(page.length),
      "x-search_after": last ? JSON.stringify([last.at, last.docId]) : JSON.stringify(q.search_after ?? []),
    },
  };
}

/** A tenant crowded onto a few instants: most events share their timestamp with many others. */
function crowded(seed: number, count: number, instants: number): GeneratedEvent[] {
  const r = new Random(seed);
  return generateTenantEvents({ seed, start: START, end: START + 3_600_000, count }).map((g) => ({
    ...g,
    at: START + r.int(0, instants - 1) * SECOND,
  }));
}

describe("simulator index: the same answers as filtering the whole tenant", () => {
  let clock = START + 3_600_000;
  const sim = new JumpcloudSimulator({
    tenants: [
      { orgId: ORG_A, events: crowded(11, 1_500, 12) },
      { orgId: ORG_B, events: crowded(12, 400, 12) },
    ],
    keys: [{ key: KEY, orgs: [ORG_A, ORG_B] }],
    // Visibility differs between neighbours, so a window's edges cut through visible and hidden events.
    ingestionDelay: (random) => random.int(0, 15 * SECOND),
    now: () => clock,
  });
  let stored: Record<string, StoredEvent[]>;

  async function ask(path: string, orgs: string[], q: Query): Promise<Answer> {
    const response = await fetch(`${sim.baseUrl}${path}`, {
      method: "POST",
      headers: { "x-api-key": KEY, "content-type": "application/json", "x-org-id": orgs.join(",") },
      body: JSON.stringify(q),
    });
    const body = (await response.json()) as unknown;
    if (path === "/events/count")
      return { status: response.status, ids: [], count: (body as { count: number }).count, headers: {} };
    return {
      status: response.status,
      ids: (body as Record<string, unknown>[]).map((e) => e.id),
      headers: {
        "x-result-count": response.headers.get("x-result-count"),
        "x-search_after": response.headers.get("x-search_after"),
      },
    };
  }

  beforeAll(async () => {
    await sim.start();
    stored = { [ORG_A]: sim.storedEvents(ORG_A), [ORG_B]: sim.storedEvents(ORG_B) };
  });
  afterAll(() => sim.stop());

  it("stores every event once, in (timestamp, id) order, most of them on a shared timestamp", () => {
    const events = stored[ORG_A] as StoredEvent[];
    expect(events).toHaveLength(1_500);
    expect(new Set(events.map((e) => e.docId)).size).toBe(1_500);
    for (let i = 1; i < events.length; i++)
      expect(compare(events[i - 1] as StoredEvent, events[i] as StoredEvent)).toBeLessThan(0);
    expect(new Set(events.map((e) => e.at)).size).toBe(12);
  });

  it("answers random queries at the edges exactly as the naive filter does", async () => {
    const r = new Random(2026);
    const a = stored[ORG_A] as StoredEvent[];
    // Edges: each instant, a millisecond either side, and beyond every event.
    const instants = [...new Set(a.map((e) => e.at))];
    const edge = () => r.pick(instants) + r.pick([-1, 0, 0, 1]);
    const token = (): unknown => {
      const e = r.pick(a);
      const docId = r.pick([e.docId, `${e.docId.slice(0, -1)}-`, `${e.docId}~`, "", "~"]);
      return r.chance(0.1) ? [String(e.at), docId] : [e.at + r.pick([0, 0, 0, -1, 1]), docId];
    };
    for (let n = 0; n < 400; n++) {
      const orgs = r.pick([[ORG_A], [ORG_B], [ORG_A, ORG_B], [ORG_B, ORG_A]]);
      let start = edge();
      let end = edge();
      if (start >= end) [start, end] = [end - 1, start + 1];
      const q: Query = {
        service: r.chance(0.4) ? ["all"] : [r.pick(SERVICES), r.pick(SERVICES)],
        start_time: iso(start),
        ...(r.chance(0.9) && { end_time: iso(end) }),
        limit: r.pick([1, 2, 7, 50, 500, 5_000]),
        ...(r.chance(0.5) && { sort: r.pick(["DESC", "desc", "ASC"]) }),
        ...(r.chance(0.6) && { search_after: token() }),
      };
      // Visibility as of a moment next to an event's, so the first and last visible shift by one.
      clock = Math.max(start, r.pick(a).visibleAt + r.pick([-1, 0, 1]));
      const path = r.chance(0.2) ? "/events/count" : "/events";
      const expected = naive(
        orgs.map((o) => stored[o] as StoredEvent[]),
        q,
        clock,
        path,
      );
      expect(await ask(path, orgs, q), JSON.stringify({ orgs, q, clock })).toStrictEqual(expected);
    }
  });

  it("pages through equal timestamps in small pages, to exactly the naive order, both ways", async () => {
    clock = START + 3_600_000;
    for (const sort of ["ASC", "DESC"]) {
      for (const limit of [1, 3, 64]) {
        const q: Query = {
          service: ["all"],
          start_time: iso(START + SECOND),
          end_time: iso(START + 4 * SECOND),
        };
        const whole = naive(
          [stored[ORG_A] as StoredEvent[]],
          { ...q, sort, limit: 10_000 },
          clock,
          "/events",
        );
        const ids: unknown[] = [];
        let after: unknown;
        for (;;) {
          const page = await ask("/events", [ORG_A], {
            ...q,
            sort,
            limit,
            ...(after !== undefined && { search_after: after }),
          });
          ids.push(...page.ids);
          if (page.ids.length < limit) break;
          after = JSON.parse(page.headers["x-search_after"] as string);
        }
        expect(ids).toStrictEqual(whole.ids);
      }
    }
  });

  it("adds late events into place: answers still match the naive filter", async () => {
    const late = crowded(13, 200, 12).map((g) => ({ ...g, at: g.at + 500 }));
    sim.addEvents(ORG_A, late, () => 0);
    const a = sim.storedEvents(ORG_A);
    expect(a).toHaveLength(1_700);
    const q: Query = { service: ["all"], start_time: iso(START), limit: 10_000 };
    clock = START + 3_600_000;
    expect(await ask("/events", [ORG_A], q)).toStrictEqual(naive([a], q, clock, "/events"));
    expect(await ask("/events/count", [ORG_A], q)).toStrictEqual(naive([a], q, clock, "/events/count"));
  });
});

describe("visibility tree", () => {
  it("counts and finds visible entries as a scan does, at every edge", () => {
    const r = new Random(5);
    // Long enough for four levels, with hidden stretches longer than a block, and a few NaN (never visible).
    const values = Float64Array.from({ length: 40_000 }, (_, i) =>
      i % 997 === 0 ? Number.NaN : i % 5_000 < 1_200 ? 1_000 + r.int(0, 50) : r.int(0, 1_000),
    );
    const tree = new VisibilityTree(values);
    for (let n = 0; n < 300; n++) {
      const from = r.int(0, values.length);
      const to = r.chance(0.2) ? from : r.int(from, values.length);
      const now = r.pick([0, 999, 1_000, 1_025, 1_050, 2_000]);
      const visible: number[] = [];
      for (let i = from; i < to; i++) if ((values[i] as number) <= now) visible.push(i);
      expect(tree.countVisible(from, to, now)).toBe(visible.length);
      expect(tree.firstVisible(from, to, now)).toBe(visible[0] ?? -1);
      expect(tree.lastVisible(from, to, now)).toBe(visible.at(-1) ?? -1);
    }
  });
});

describe("document ids", () => {
  it("sort as strings exactly as their keys sort as numbers", () => {
    const r = new Random(9);
    const keys = Array.from({ length: 2_000 }, () => (r.uint32() >>> 12) * 4_294_967_296 + r.uint32());
    keys.push(0, 1, 63, 64, 2 ** 52 - 1, 2 ** 52);
    const byNumber = [...keys].sort((x, y) => x - y).map(docIdOf);
    expect([...byNumber].sort()).toStrictEqual(byNumber);
    for (const id of byNumber) expect(id).toMatch(/^[A-Za-z0-9_-]{20}$/);
  });
});

describe("generated tenant", () => {
  const options = { seed: 3, start: START, end: START + 3_600_000, count: 3_000 };

  it("is sorted by time, and makes the same body every time it is asked", () => {
    const tenant = generateTenant(options);
    for (let i = 1; i < tenant.length; i++) expect(tenant.at(i)).toBeGreaterThanOrEqual(tenant.at(i - 1));
    expect(tenant.event(1234)).toStrictEqual(generateTenant(options).event(1234));
    expect(tenant.toArray()).toStrictEqual(generateTenantEvents(options));
  });

  it("states each event's time in its text, RADIUS to the second, with unique ids", () => {
    const events = generateTenantEvents(options);
    for (const g of events) expect(Date.parse(String(g.event.timestamp))).toBe(g.at);
    expect(events.some((g) => g.service === "radius" && g.at % SECOND === 0)).toBe(true);
    expect(new Set(events.map((g) => g.event.id)).size).toBe(events.length);
  });
});
