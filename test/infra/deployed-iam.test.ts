import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeployedWorld, HOUR, JUMPCLOUD_KEY, MINUTE, orgEvents, orgIds } from "./deployed-world.ts";
import { resourcesOf, type SynthesizedStack, synthesize } from "./emulators/stack-template.ts";

const ORGS = orgIds(2, "5d");

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
    await world.start({}, stack);
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
    const { deletes } = world.deployment.s3;
    const puts = world.deployment.s3.puts.slice(before);
    if (!puts.some((p) => p.key.startsWith("dead-letters/"))) problems.push("no dead letter stored");
    const claims = puts.filter((p) => p.key.startsWith("collector/claims/"));
    if (claims.length === 0) problems.push("no claim check put");
    for (const claim of claims)
      if (!deletes.some((d) => d.key === claim.key))
        problems.push(`claim check ${claim.key} left in the bucket`);
  } catch (error) {
    problems.push(`the scenario broke: ${(error as Error).message}`);
  } finally {
    await world.stop();
  }
  const denied = [...new Set(world.deployment?.denials.map((d) => `${d.caller} ${d.action}`) ?? [])];
  return { problems, denied };
}

/** The stack with one statement of one policy removed (a copy; the bundles are shared). */
function without(stack: SynthesizedStack, policyId: string, index: number): SynthesizedStack {
  const resources = structuredClone(stack.resources);
  const document = resources[policyId]?.Properties?.PolicyDocument as { Statement: Statement[] };
  document.Statement.splice(index, 1);
  return { ...stack, resources };
}

const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

// CloudWatch Logs is written by Lambda's runtime from stdout, never by our code; the schedule's
// dead-letter queue only receives what EventBridge could not deliver, which never happens here.
const NOT_CALLED_BY_THE_CODE = (policyId: string, s: Statement) =>
  actionsOf(s).every((a) => a.startsWith("logs:")) ||
  (policyId.startsWith("SchedulerRole") && actionsOf(s).every((a) => a.startsWith("sqs:")));

describe("the template's IAM statements, each needed: the deployed scenario fails without it", {
  timeout: 120_000,
}, () => {
  const outdir = mkdtempSync(join(tmpdir(), "jumpcloud-elastic-iam-"));
  let stack: SynthesizedStack;
  beforeAll(() => {
    stack = synthesize(join(outdir, "cdk.out"), { scheduleMinutes: "5", jumpcloudOrgIds: ORGS.join(",") });
  }, 180_000);
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it("passes with the template as synthesized, nothing refused", async () => {
    expect(await scenario(stack)).toStrictEqual({ problems: [], denied: [] });
  });

  const cases = () =>
    resourcesOf(stack, "AWS::IAM::Policy")
      .filter(([id]) => /^(FunctionsCollectorRole|FunctionsMapperRole|SchedulerRole)/.test(id))
      .flatMap(([id, policy]) =>
        (
          (policy.Properties?.PolicyDocument ?? { Statement: [] }) as { Statement: Statement[] }
        ).Statement.map((statement, index) => ({ id, index, statement })),
      )
      .filter(({ id, statement }) => !NOT_CALLED_BY_THE_CODE(id, statement));

  it("fails, with a call refused, when any statement the code calls is removed", async () => {
    const all = cases();
    // Every statement of both functions' roles, less their log rights: the list must not go stale.
    expect(all.length).toBeGreaterThanOrEqual(8);
    const report: string[] = [];
    for (const { id, index, statement } of all) {
      const { problems, denied } = await scenario(without(stack, id, index));
      const what = `${id} Statement[${index}] (${actionsOf(statement).join(", ")})`;
      report.push(
        `${what}: ${problems.length > 0 ? problems[0] : "NOT DETECTED"}; refused: ${denied.join("; ")}`,
      );
      expect.soft(problems, what).not.toStrictEqual([]);
      expect
        .soft(
          denied.some((d) => actionsOf(statement).includes(d.split(" ")[1] as string)) ||
            problems.some((p) => p.includes("cannot invoke")),
          `${what}: the refusal names one of its actions`,
        )
        .toBe(true);
    }
    console.log(`without one statement at a time:\n  ${report.join("\n  ")}`);
  }, 600_000);
});
