import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KibanaEmulator } from "../../simulators/kibana/server.ts";
import { MaxmindEmulator } from "../../simulators/maxmind/server.ts";
import { fixturePath } from "../helpers/fixtures.ts";
import {
  DeployedWorld,
  ES_API_KEY,
  HOUR,
  JUMPCLOUD_KEY,
  MINUTE,
  orgEvents,
  orgIds,
} from "./deployed-world.ts";
import { resourcesOf, type SynthesizedStack, synthesize } from "./emulators/stack-template.ts";

const ORGS = orgIds(2, "5d");
const MAXMIND = { accountId: "424242", licenseKey: "iam-test-licence-key" };
const maxmind = new MaxmindEmulator({
  ...MAXMIND,
  databases: {
    "GeoLite2-City": fixturePath("geoip/GeoLite2-City-Test.mmdb"),
    "GeoLite2-ASN": fixturePath("geoip/GeoLite2-ASN-Test.mmdb"),
  },
});

// With context kibanaUrl: the deploy's setup reads the Kibana secret (a key of its own here).
const KIBANA_KEY = "aWFtLXRlc3Qta2liYW5hLWtleQ==";
const kibana = new KibanaEmulator({
  version: "8.19.5",
  credentials: { [ES_API_KEY]: { fleet: true, rules: true }, [KIBANA_KEY]: { fleet: true, rules: true } },
});

/** The deploy's setup custom resource with the Kibana secret filled: the rules go in with its key. */
async function kibanaSetup(world: DeployedWorld): Promise<string[]> {
  await world.putSecret(world.variable("mapper", "KIBANA_SECRET_ARN"), { api_key: KIBANA_KEY });
  const before = kibana.requests.length;
  const [id] = Object.entries(world.stack.resources).find(([, r]) => r.Type.startsWith("Custom::")) ?? [];
  const run = await world.deployment.customResource(id as string, "Create");
  if (run.error) return [`the setup custom resource failed: ${run.error.errorMessage}`];
  const data = (run.result as { Data?: Record<string, string> } | undefined)?.Data ?? {};
  if (!/^rules \d+ installed, \d+ updated, \d+ unchanged, 0 failed$/.test(data.KibanaAction ?? ""))
    return [`the Kibana setup at deploy: ${data.KibanaAction}: ${data.KibanaReason}`];
  const used = kibana.requests.slice(before).map((r) => r.headers.authorization);
  if (used.length === 0 || used.some((a) => a !== `ApiKey ${KIBANA_KEY}`))
    return ["the Kibana setup at deploy did not use the Kibana secret's key"];
  return [];
}

/** The logical id of the stack's MaxMind updater. */
const updaterOf = (stack: SynthesizedStack) =>
  resourcesOf(stack, "AWS::Lambda::Function").find(([id]) =>
    id.startsWith("FunctionsGeoIpUpdater"),
  )?.[0] as string;

/** The updater's edition actions, or why it failed. */
async function update(world: DeployedWorld, updater: string): Promise<string> {
  const run = await world.deployment.invoke(updater, {});
  if (run.error) return `the GeoIP update failed: ${run.error.errorMessage}`;
  return (run.result as { results: { action: string }[] }).results.map((r) => r.action).join(",");
}

interface Statement {
  Action: string | string[];
  Resource: unknown;
}

/** What a deployment must do: a failed run recorded, then every event once, a dead letter, a claim check. */
async function scenario(stack: SynthesizedStack): Promise<{ problems: string[]; denied: string[] }> {
  const t0 = Date.now();
  const a = orgEvents(ORGS[0] as string, 21, t0 - 2 * HOUR, t0 - 2 * MINUTE, 60);
  const b = orgEvents(ORGS[1] as string, 22, t0 - 2 * HOUR, t0 - 2 * MINUTE, 40);
  const big = b.events[5];
  if (big) big.event.message = "x".repeat(7_000_000);
  const world = new DeployedWorld([a, b]);
  world.refused.add(String(a.events[7]?.event.id));
  const problems: string[] = [];
  try {
    const updater = updaterOf(stack);
    await world.start({}, stack, { [updater]: { MAXMIND_DOWNLOAD_URL: maxmind.url } });
    // The weekly updater fills the bucket's geoip/ (then finds nothing new); the mapper reads it.
    const secret = world.deployment.fn(updater).environment.MAXMIND_SECRET_ARN as string;
    await world.putSecret(secret, { account_id: MAXMIND.accountId, license_key: MAXMIND.licenseKey });
    const first = await update(world, updater);
    if (first !== "updated,updated") problems.push(`the first GeoIP update: ${first}`);
    const second = await update(world, updater);
    if (second !== "unchanged,unchanged") problems.push(`the second GeoIP update rewrote: ${second}`);
    // A run that fails (the cluster's secret not filled) goes to the failed-runs queue.
    await world.putSecret(world.variable("collector", "JUMPCLOUD_SECRET_ARN"), { api_key: JUMPCLOUD_KEY });
    await world.scheduledRun();
    const queue = resourcesOf(stack, "AWS::SQS::Queue").find(([id]) => id.startsWith("ScheduleFailedRuns"));
    if (world.deployment.sqs.messages(world.deployment.arn(queue?.[0] as string)).length === 0)
      problems.push("no failed run reached the failed-runs queue");
    await world.fillSecrets();
    // A claim check whose batch failed above stays for the bucket's lifecycle rule: only this run's count.
    const before = world.deployment.s3.puts.length;
    await world.scheduledRun();
    problems.push(...world.storageProblems());
    const located = await world.geoProblems();
    problems.push(...located.problems);
    if (located.withGeo === 0) problems.push("no document has geo from the updated databases");
    const { deletes } = world.deployment.s3;
    const puts = world.deployment.s3.puts.slice(before);
    if (!puts.some((p) => p.key.startsWith("dead-letters/"))) problems.push("no dead letter stored");
    const claims = puts.filter((p) => p.key.startsWith("collector/claims/"));
    if (claims.length === 0) problems.push("no claim check put");
    for (const claim of claims)
      if (!deletes.some((d) => d.key === claim.key))
        problems.push(`claim check ${claim.key} left in the bucket`);
    problems.push(...(await changeServices(world)));
    problems.push(...(await kibanaSetup(world)));
  } catch (error) {
    problems.push(`the scenario broke: ${(error as Error).message}`);
  } finally {
    await world.stop();
  }
  const denied = [...new Set(world.deployment?.denials.map((d) => `${d.caller} ${d.action}`) ?? [])];
  return { problems, denied };
}

/**
 * A redeploy with another service list: each org's new checkpoint must start at its previous
 * cursor (found through the org index, read by key), so the next run reads only the overlap.
 */
async function changeServices(world: DeployedWorld): Promise<string[]> {
  const cursors = new Map((await world.items()).map((i) => [i.pk, i.cursor]));
  world.deployment.update(world.stack.functionIds.collector, { JUMPCLOUD_SERVICES: "directory,sso" });
  const before = world.deployment.lambda.invocations.length;
  await world.scheduledRun();
  const runs = world.deployment.lambda.invocations.slice(before);
  return world.orgs.flatMap((org) => {
    const run = runs.find((r) => (r.payload as { orgId?: string }).orgId === org.id);
    const summary = (run?.outcome?.result as { summaries?: { cursorBefore?: string }[] } | undefined)
      ?.summaries?.[0];
    const previous = cursors.get(`${org.id}#all#scheduled`);
    const want = previous === undefined ? undefined : new Date(previous).toISOString();
    if (summary?.cursorBefore === want) return [];
    const why = run?.outcome?.error?.errorMessage ?? `it started at ${summary?.cursorBefore}`;
    return [`org ${org.id}: the changed service list did not start at the previous cursor ${want}: ${why}`];
  });
}

const list = (value: unknown) => (Array.isArray(value) ? value : [value]);
const actionsOf = (s: Statement) => list(s.Action) as string[];

// CDK's scheduler target also grants the collector's versions (`<arn>:*`); the schedule invokes
// the unqualified function, so taking that resource away changes nothing a run does.
const VERSIONS_ONLY = (policyId: string, resource: unknown) =>
  policyId.startsWith("SchedulerRole") && JSON.stringify(resource).endsWith(':*"]]}');

/** One grant taken away: an action of a statement, or one of its resources. */
interface Mutation {
  label: string;
  stack: SynthesizedStack;
  /** The actions whose refusal shows the removal was noticed. */
  actions: string[];
}

/** The stack with `change` applied to a copy of statement `index` of `policyId` (the bundles are shared). */
function mutated(
  stack: SynthesizedStack,
  policyId: string,
  index: number,
  change: (s: Statement) => Statement | undefined,
): SynthesizedStack {
  const resources = structuredClone(stack.resources);
  const document = resources[policyId]?.Properties?.PolicyDocument as { Statement: Statement[] };
  const changed = change(document.Statement[index] as Statement);
  if (changed) document.Statement[index] = changed;
  else document.Statement.splice(index, 1);
  return { ...stack, resources };
}

/** Every action, and every resource of a statement with several, taken away one at a time. */
function mutations(
  stack: SynthesizedStack,
  policyId: string,
  index: number,
  statement: Statement,
): Mutation[] {
  const actions = actionsOf(statement);
  const resources = list(statement.Resource);
  const where = `${policyId} Statement[${index}]`;
  const byAction = actions.map((action) => ({
    label: `${where} without ${action}`,
    actions: [action],
    stack: mutated(stack, policyId, index, (s) =>
      actions.length === 1 ? undefined : { ...s, Action: actions.filter((a) => a !== action) },
    ),
  }));
  const byResource =
    resources.length < 2
      ? []
      : resources
          .map((resource, r) => ({
            label: `${where} (${actions.join(", ")}) without resource ${JSON.stringify(resource)}`,
            actions,
            resource,
            stack: mutated(stack, policyId, index, (s) => ({
              ...s,
              Resource: resources.filter((_, i) => i !== r),
            })),
          }))
          .filter(({ resource }) => !VERSIONS_ONLY(policyId, resource));
  return [...byAction, ...byResource];
}

// CloudWatch Logs is written by Lambda's runtime from stdout, never by our code; the schedule's
// dead-letter queue only receives what EventBridge could not deliver, which never happens here.
const NOT_CALLED_BY_THE_CODE = (policyId: string, s: Statement) =>
  actionsOf(s).every((a) => a.startsWith("logs:")) ||
  (policyId.startsWith("SchedulerRole") && actionsOf(s).every((a) => a.startsWith("sqs:")));

describe("the template's IAM grants, each needed: the deployed scenario fails without it", {
  timeout: 120_000,
}, () => {
  const outdir = mkdtempSync(join(tmpdir(), "jumpcloud-elastic-iam-"));
  let stack: SynthesizedStack;
  beforeAll(async () => {
    await maxmind.start();
    // With the MaxMind updater (its role, its schedule, the mapper's reads of its objects) and a
    // Kibana (the mapper's read of the Kibana secret at deploy) too.
    stack = synthesize(join(outdir, "cdk.out"), {
      scheduleMinutes: "5",
      jumpcloudOrgIds: ORGS.join(","),
      geoIpUpdater: "true",
      kibanaUrl: await kibana.start(0),
    });
  }, 180_000);
  afterAll(async () => {
    rmSync(outdir, { recursive: true, force: true });
    await Promise.all([maxmind.stop(), kibana.stop()]);
  });

  it("passes with the template as synthesized, nothing refused", async () => {
    expect(await scenario(stack)).toStrictEqual({ problems: [], denied: [] });
  });

  const cases = () =>
    resourcesOf(stack, "AWS::IAM::Policy")
      .filter(([id]) =>
        /^(FunctionsCollectorRole|FunctionsMapperRole|FunctionsGeoIpUpdaterRole|SchedulerRole)/.test(id),
      )
      .flatMap(([id, policy]) =>
        (
          (policy.Properties?.PolicyDocument ?? { Statement: [] }) as { Statement: Statement[] }
        ).Statement.flatMap((statement, index) =>
          NOT_CALLED_BY_THE_CODE(id, statement) ? [] : mutations(stack, id, index, statement),
        ),
      );

  it("fails, with a call refused, when any action or resource the code calls is taken away", async () => {
    const all = cases();
    // Every action and resource of both functions' roles and the scheduler's, less log rights.
    expect(all.length).toBeGreaterThanOrEqual(10);
    const report: string[] = [];
    for (const { label, stack: changed, actions } of all) {
      const { problems, denied } = await scenario(changed);
      report.push(
        `${label}: ${problems.length > 0 ? problems[0] : "NOT DETECTED"}; refused: ${denied.join("; ")}`,
      );
      expect.soft(problems, label).not.toStrictEqual([]);
      expect
        .soft(
          denied.some((d) => actions.includes(d.split(" ")[1] as string)) ||
            problems.some((p) => p.includes("cannot invoke")),
          `${label}: a refusal names the action`,
        )
        .toBe(true);
    }
    console.log(`one grant taken away at a time:\n  ${report.join("\n  ")}`);
  }, 900_000);
});
