import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EditionResult } from "../../lib/geoip/update.ts";
import { MaxmindEmulator } from "../../simulators/maxmind/server.ts";
import { fixturePath } from "../helpers/fixtures.ts";
import { DeployedWorld, HOUR, MINUTE, orgEvents, orgIds } from "./deployed-world.ts";
import type { Invocation } from "./emulators/runtime.ts";
import { resourcesOf, synthesize } from "./emulators/stack-template.ts";

const [ORG] = orgIds(1, "5f") as [string];
const EVENTS = 200;
const MAXMIND = { accountId: "424242", licenseKey: "deployed-test-licence-key" };

/** The updater's answer; fails showing the error and logs when the invocation failed. */
function results(invocation: Invocation | undefined): [string, string][] {
  if (!invocation) throw new Error("the updater was not invoked");
  if (invocation.error)
    throw new Error(`updater failed: ${JSON.stringify(invocation.error)}\n${invocation.logs}`);
  return (invocation.result as { results: EditionResult[] }).results.map((r) => [r.edition, r.action]);
}

// The stack with context geoIpUpdater, run as deployed (bundles on Node 24, the template's IAM
// enforced): the weekly updater downloads from an emulated MaxMind, the mapper enriches from S3.
describe("the deployed stack with the MaxMind updater (context geoIpUpdater), each role enforced", {
  timeout: 90_000,
}, () => {
  const t0 = Date.now();
  // Seed 10: the tenant logs in from addresses both test databases know.
  const world = new DeployedWorld([orgEvents(ORG, 10, t0 - 3 * HOUR, t0 - 2 * MINUTE, EVENTS)]);
  const maxmind = new MaxmindEmulator({
    ...MAXMIND,
    databases: {
      "GeoLite2-City": fixturePath("geoip/GeoLite2-City-Test.mmdb"),
      "GeoLite2-ASN": fixturePath("geoip/GeoLite2-ASN-Test.mmdb"),
    },
  });
  let updater = "";
  const mapper = () => world.stack.functionIds.mapper;
  const geoipPuts = () => world.deployment.s3.puts.filter((p) => p.key.startsWith("geoip/"));

  beforeAll(async () => {
    const url = await maxmind.start();
    const stack = synthesize(`${world.root}/cdk.out`, {
      scheduleMinutes: "5",
      jumpcloudOrgIds: ORG,
      geoIpUpdater: "true",
    });
    updater = resourcesOf(stack, "AWS::Lambda::Function").find(([id]) =>
      id.startsWith("FunctionsGeoIpUpdater"),
    )?.[0] as string;
    // As JUMPCLOUD_API_URL for the collector: the one variable changed, MaxMind's service.
    await world.start({}, stack, { [updater]: { MAXMIND_DOWNLOAD_URL: url } });
    await world.fillSecrets();
  }, 240_000);
  afterAll(async () => {
    await world.stop();
    await maxmind.stop();
  }, 30_000);

  it("before the first update, the mapper stores a batch without geo and says why, rather than stopping", async () => {
    const event = { id: "before-update", timestamp: new Date(t0).toISOString(), src_ip: "89.160.20.112" };
    const stored = await world.deployment.invoke(mapper(), { events: [event] });
    expect(stored.error).toBeUndefined();
    expect(stored.result).toMatchObject({ received: 1, indexed: 1 });
    expect(stored.logs).toContain(
      "is not there yet: the GeoIP updater JumpcloudElastic-geoip-updater has not run",
    );
    const doc = world
      .stored()
      .find((d) => (d._source as { event?: { id?: string } }).event?.id === "before-update");
    expect((doc?._source as { source?: Record<string, unknown> } | undefined)?.source).toStrictEqual({
      ip: "89.160.20.112",
    });
    // Not an event of the tenant: gone before the tenant is collected.
    world.es.streams.clear();
    // The updater itself, with its secret still the placeholder, fails in one line.
    const unfilled = await world.deployment.invoke(updater, {});
    expect(unfilled.error?.errorMessage).toMatch(
      /^secret not filled yet: aws secretsmanager put-secret-value/,
    );
  });

  it("downloads, checks and writes both databases to the bucket; a second run writes nothing", async () => {
    const secret = world.deployment.fn(updater).environment.MAXMIND_SECRET_ARN as string;
    await world.putSecret(secret, { account_id: MAXMIND.accountId, license_key: MAXMIND.licenseKey });
    expect(results(await world.deployment.invoke(updater, {}))).toStrictEqual([
      ["GeoLite2-City", "updated"],
      ["GeoLite2-ASN", "updated"],
    ]);
    expect(geoipPuts().map((p) => p.key)).toStrictEqual([
      "geoip/GeoLite2-City.mmdb",
      "geoip/GeoLite2-ASN.mmdb",
    ]);
    expect(results(await world.deployment.invoke(updater, {}))).toStrictEqual([
      ["GeoLite2-City", "unchanged"],
      ["GeoLite2-ASN", "unchanged"],
    ]);
    expect(geoipPuts()).toHaveLength(2);
    expect(world.deployment.denials).toStrictEqual([]);
  });

  it("a scheduled run stores every event once, with the geo and as the integration gives, from the updated files", async () => {
    // A deploy (or 15 minutes) later: the mapper's next environments read the databases.
    world.deployment.update(mapper(), { GEOIP: "files" });
    await world.scheduledRun();
    expect(world.storageProblems()).toStrictEqual([]);
    const located = await world.geoProblems();
    expect(located.problems).toStrictEqual([]);
    expect(located.withBoth).toBeGreaterThan(0);
    // The same firing ran the weekly update through the scheduler's role: nothing new to write.
    const scheduled = world.deployment.lambda.invocations.filter(
      (i) => i.caller === "scheduler" && i.functionName === world.deployment.fn(updater).name,
    );
    expect(scheduled.map((i) => results(i.outcome))).toStrictEqual([
      [
        ["GeoLite2-City", "unchanged"],
        ["GeoLite2-ASN", "unchanged"],
      ],
    ]);
    expect(world.deployment.denials).toStrictEqual([]);
  });
});
