import { beforeAll, describe, expect, it } from "vitest";
import { EcsMapper } from "../../lib/ecs/mapper.ts";
import type { JsonObject } from "../../lib/ecs/paths.ts";
import { RULE_FILES } from "../../rules/index.ts";
import { attackScenario, ordinaryDayScenario } from "../../simulators/jumpcloud/scenarios.ts";
import { type GeneratedEvent, SERVICES } from "../../simulators/jumpcloud/tenant.ts";
import { type Rule, runRule, templateFieldTypes } from "../helpers/detection/index.ts";
import { COLLECTED_AT, openTestGeoIp } from "../helpers/fixtures.ts";

const END = Date.parse("2026-03-10T12:00:00.000Z");
const ORGANIZATION = "64c9a6f0d3b1e2a4c5f60718";
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TYPES = templateFieldTypes();
const RULES = Object.entries(RULE_FILES).map(([file, rule]) => ({ file, rule: rule as Rule }));

let mapper: EcsMapper;
beforeAll(async () => {
  mapper = new EcsMapper({ geoIp: await openTestGeoIp() });
});

function documents(events: GeneratedEvent[]): JsonObject[] {
  return events.map(({ event }) => {
    const mapped = mapper.mapValue(event, COLLECTED_AT);
    expect(mapped.failed).toBe(false);
    return mapped.document;
  });
}

/** The files of the rules that alert when run from `start` to `end` over the documents. */
function alertingRules(docs: JsonObject[], start: number): string[] {
  return RULES.filter(({ rule }) => runRule(rule, docs, { types: TYPES, start, end: END }).length > 0).map(
    ({ file }) => file,
  );
}

function checkShape(events: GeneratedEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    expect((events[i] as GeneratedEvent).at).toBeGreaterThanOrEqual((events[i - 1] as GeneratedEvent).at);
  }
  const precision = { sso: /\.\d{9}Z$/, radius: /:\d{2}Z$/ } as Record<string, RegExp>;
  for (const { at, service, event } of events) {
    expect(event.service).toBe(service);
    expect(event.organization).toBe(ORGANIZATION);
    expect(event.timestamp).toMatch(precision[service] ?? /\.\d{3}Z$/);
    // The text's instant (to the millisecond) is `at`.
    expect(Date.parse(event.timestamp as string)).toBe(at);
  }
}

describe("attackScenario", () => {
  const events = attackScenario({ organization: ORGANIZATION, end: END, seed: 7 });

  it("is time-ordered, in each service's timestamp precision", () => {
    checkShape(events);
  });

  it("attacks within the 2 hours before end, the last 2 minutes empty, after at most 14 days of history", () => {
    const last = events.at(-1) as GeneratedEvent;
    expect(last.at).toBeLessThan(END - 2 * 60_000);
    expect((events[0] as GeneratedEvent).at).toBeGreaterThanOrEqual(END - 14 * DAY);
    // Everything in the last 2 hours but the history the new_terms rules learn from.
    const recent = events.filter((e) => e.at >= END - 2 * HOUR);
    expect(recent.length).toBeGreaterThan(60);
  });

  it("makes every rule of the pack alert", () => {
    const docs = documents(events);
    expect(alertingRules(docs, END - 2 * HOUR).sort()).toEqual(RULES.map(({ file }) => file).sort());
  });

  it("is the same for the same seed", () => {
    expect(attackScenario({ organization: ORGANIZATION, end: END, seed: 7 })).toEqual(events);
    expect(attackScenario({ organization: ORGANIZATION, end: END, seed: 8 })).not.toEqual(events);
  });
});

describe("ordinaryDayScenario", () => {
  const events = ordinaryDayScenario({ organization: ORGANIZATION, end: END, seed: 7 });

  it("is time-ordered, in each service's timestamp precision", () => {
    checkShape(events);
  });

  it("is a day of about 3 000 events of about 40 users, after 13 days of history", () => {
    const day = events.filter((e) => e.at >= END - DAY);
    expect(day.length).toBeGreaterThan(2_500);
    expect(day.length).toBeLessThan(3_500);
    expect((events.at(-1) as GeneratedEvent).at).toBeLessThan(END - 2 * 60_000);
    expect((events[0] as GeneratedEvent).at).toBeGreaterThanOrEqual(END - 14 * DAY);
    const users = new Set(
      day.flatMap(({ event }) =>
        event.event_type === "user_login_attempt" ? [(event.initiated_by as JsonObject).username] : [],
      ),
    );
    expect(users.size).toBe(40);
    const services = new Set(day.map((e) => e.service));
    for (const service of SERVICES) {
      expect(services).toContain(service);
    }
    const failures = day.filter(
      ({ event }) => event.event_type === "user_login_attempt" && event.success === false,
    );
    expect(failures.length).toBeGreaterThan(0);
  });

  it("makes at most one rule alert over the day (none expected)", () => {
    const docs = documents(events);
    const alerting = alertingRules(docs, END - DAY);
    expect(alerting.length, `alerting: ${alerting.join(", ")}`).toBeLessThanOrEqual(1);
    expect(alerting).toEqual([]);
  });

  it("is the same for the same seed", () => {
    expect(ordinaryDayScenario({ organization: ORGANIZATION, end: END, seed: 7 })).toEqual(events);
  });
});
