import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DASHBOARD_ID } from "../../lib/kibana/fleet.ts";
import { rulePack } from "../../lib/kibana/rule-pack.ts";
import { KibanaEmulator } from "../../simulators/kibana/server.ts";
import { DeployedWorld, ES_API_KEY, HOUR, MINUTE, orgEvents, orgIds } from "./deployed-world.ts";
import { synthesize } from "./emulators/stack-template.ts";

const [ORG] = orgIds(1, "6a") as [string];
const KIBANA_KEY = "a2liYW5hLWtleS1vZi1pdHMtb3du";

// The stack with context kibanaUrl, run as deployed (bundles on Node 24, the template's IAM
// enforced): the setup custom resource installs the dashboard and the rule pack in Kibana.
describe("the deployed stack with a Kibana (context kibanaUrl), each role enforced", {
  timeout: 90_000,
}, () => {
  const t0 = Date.now();
  const world = new DeployedWorld([orgEvents(ORG, 3, t0 - HOUR, t0 - 2 * MINUTE, 50)]);
  // The Elasticsearch key is valid in Kibana (as an Elastic API key is); the Kibana key has only the rules.
  const kibana = new KibanaEmulator({
    version: "8.19.5",
    spaces: ["soc"],
    credentials: { [ES_API_KEY]: { fleet: true, rules: true }, [KIBANA_KEY]: { fleet: false, rules: true } },
  });
  const setup = () => {
    const [id] = Object.entries(world.stack.resources).find(([, r]) => r.Type.startsWith("Custom::")) ?? [];
    return world.deployment.customResource(id as string, "Create");
  };

  beforeAll(async () => {
    const url = await kibana.start(0);
    const stack = synthesize(`${world.root}/cdk.out`, {
      scheduleMinutes: "5",
      jumpcloudOrgIds: ORG,
      kibanaUrl: url,
      kibanaSpace: "soc",
    });
    await world.start({}, stack);
  }, 240_000);
  afterAll(async () => {
    await world.stop();
    await kibana.stop();
  }, 30_000);

  it("with the secrets unfilled, the deploy goes on: both parts skipped, each saying why", async () => {
    const invocation = await setup();
    expect(invocation.error).toBeUndefined();
    expect(invocation.result).toMatchObject({
      Data: {
        Action: "skipped",
        KibanaAction: "skipped",
        KibanaReason: expect.stringMatching(/^secret not filled yet/),
      },
    });
    expect(kibana.rules("soc")).toHaveLength(0);
  });

  it("after the secrets are filled, the SetupCommand output runs it again: with the Kibana secret unfilled, the Elasticsearch key installs the dashboard and every rule, disabled, in the space", async () => {
    await world.fillSecrets();
    // What the operator runs from the stack's outputs (aws lambda invoke ... --payload '<this>').
    const command = JSON.stringify(world.stack.outputs.SetupCommand?.Value);
    const payload = /--payload '(\{.*?\})'/.exec(command.replaceAll('\\"', '"'))?.[1];
    expect(payload).toBeDefined();
    const invocation = await world.deployment.invoke(
      world.stack.functionIds.mapper,
      JSON.parse(payload as string),
    );
    expect(invocation.error).toBeUndefined();
    const pack = rulePack();
    expect(invocation.result).toMatchObject({
      Data: {
        KibanaAction: `rules ${pack.length} installed, 0 updated, 0 unchanged, 0 failed`,
        KibanaReason: "integration installed 1.22.0",
      },
    });
    expect(kibana.dashboards("soc")).toContain(DASHBOARD_ID);
    expect(
      kibana
        .rules("soc")
        .map((r) => r.rule_id)
        .sort(),
    ).toEqual(pack.map((r) => r.rule_id).sort());
    expect(kibana.rules("soc").every((r) => r.enabled === false)).toBe(true);
    const outside = kibana.requests.filter((r) => r.space !== "soc").map((r) => r.path);
    expect([...new Set(outside)]).toEqual(["/api/spaces/space/soc"]);
  });

  it("with the Kibana secret filled, its key is used; a redeploy changes nothing, and Fleet's refusal does not fail it", async () => {
    await world.putSecret(world.variable("mapper", "KIBANA_SECRET_ARN"), { api_key: KIBANA_KEY });
    const before = kibana.requests.length;
    const invocation = await setup();
    expect(invocation.error).toBeUndefined();
    expect(invocation.result).toMatchObject({
      Data: {
        KibanaAction: `rules 0 installed, 0 updated, ${rulePack().length} unchanged, 0 failed`,
        KibanaReason: expect.stringMatching(/^integration not installed: Fleet refused/),
      },
    });
    const since = kibana.requests.slice(before);
    expect(since.every((r) => r.headers.authorization === `ApiKey ${KIBANA_KEY}`)).toBe(true);
  });
});
