import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeployedWorld, HOUR, MINUTE, orgEvents, orgIds } from "./deployed-world.ts";
import type { Capacity } from "./emulators/dynamodb.ts";

const ORGS = 200;
const RESERVED = 20;
const EVENTS_PER_ORG = 6;

/** The collector's and mapper's DynamoDB use in one scheduled run, per org run. */
function perOrgRun(capacity: ReadonlyMap<string, Capacity>, collector: string, runs: number) {
  const used = capacity.get(collector) ?? { read: 0, write: 0, requests: {} };
  const round = (n: number) => Math.round((n / runs) * 100) / 100;
  const requests = Object.fromEntries(Object.entries(used.requests).map(([op, n]) => [op, round(n)]));
  return { read: round(used.read), write: round(used.write), requests };
}

// 200 orgs fanned out by one scheduled run: a few hundred Lambda invocations on this machine.
describe(`a scheduled run fanned out to ${ORGS} orgs, reserved concurrency ${RESERVED}`, {
  timeout: 300_000,
}, () => {
  const t0 = Date.now();
  const world = new DeployedWorld(
    orgIds(ORGS, "5c").map((id, i) => orgEvents(id, 100 + i, t0 - 2 * HOUR, t0 - 2 * MINUTE, EVENTS_PER_ORG)),
  );
  const collectorName = () => world.deployment.fn(world.stack.functionIds.collector).name;
  beforeAll(async () => {
    // GEOIP=off here: the stack's other mode, and less work for 200 orgs on two cores.
    await world.start({ reservedConcurrency: String(RESERVED), geoIp: "off" });
    await world.fillSecrets();
  }, 180_000);
  afterAll(() => world.stop(), 60_000);

  it("stores every org's events once, never running more collectors at once than reserved", async () => {
    const started = Date.now();
    await world.scheduledRun();
    const seconds = (Date.now() - started) / 1000;
    expect(world.storageProblems()).toStrictEqual([]);
    expect(world.stored()).toHaveLength(ORGS * EVENTS_PER_ORG);
    // GEOIP=off: no geo or as anywhere, though the cluster could (it has the databases).
    const located = world
      .stored()
      .filter((d) =>
        ["source", "client"].some((f) => (d._source as Record<string, Record<string, unknown>>)[f]?.geo),
      );
    expect(located).toStrictEqual([]);
    expect(world.variable("mapper", "GEOIP")).toBe("off");
    const { lambda } = world.deployment;
    const runs = lambda.invocations.filter(
      (i) => i.functionName === collectorName() && i.caller !== "scheduler",
    );
    expect(runs).toHaveLength(ORGS);
    expect(new Set(runs.map((r) => (r.payload as { orgId: string }).orgId)).size).toBe(ORGS);
    expect(lambda.failures).toStrictEqual([]);
    expect(world.deployment.denials).toStrictEqual([]);
    const peak = lambda.peakConcurrency.get(collectorName()) ?? 0;
    expect(peak).toBeLessThanOrEqual(RESERVED);
    // More orgs than slots: the events waited in Lambda's queue, so the limit was reached.
    expect(peak).toBe(RESERVED);
    const first = perOrgRun(world.deployment.dynamodbGate.capacity, collectorName(), ORGS);
    console.log(
      `${ORGS} orgs, first run: ${seconds.toFixed(1)} s, collector peak concurrency ${peak} of ${RESERVED}; DynamoDB per org run: ${JSON.stringify(first)}`,
    );
  });

  it("reports the table's read and write units of a steady scheduled run (nothing new), per org", async () => {
    world.deployment.dynamodbGate.resetCapacity();
    await world.scheduledRun();
    expect(world.storageProblems()).toStrictEqual([]);
    const steady = perOrgRun(world.deployment.dynamodbGate.capacity, collectorName(), ORGS);
    console.log(`${ORGS} orgs, steady run: DynamoDB per org run: ${JSON.stringify(steady)}`);
    // Conditional updates by key only: take the lease, start and finish the window, record the
    // run, give the lease back. More is a cost change: update docs/deploy.md ("DynamoDB use") too.
    expect(Object.keys(steady.requests)).toStrictEqual(["UpdateItem"]);
    expect(steady.write).toBeLessThanOrEqual(5);
    expect(steady.read).toBe(0);
  });
});
