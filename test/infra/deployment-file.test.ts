import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import { afterAll, describe, expect, it } from "vitest";
import { buildApp } from "../../infra/app.ts";
import { type DeploymentFile, readDeploymentFile } from "../../infra/deployment-file.ts";
import { ConfigurationError } from "../../lib/errors.ts";
import { ROOT, TSX } from "../helpers/cli.ts";

const OUT = mkdtempSync(join(tmpdir(), "deployment-file-"));
afterAll(() => rmSync(OUT, { recursive: true, force: true }));
const newApp = (context: Record<string, unknown> = {}) =>
  new App({
    outdir: mkdtempSync(join(OUT, "cdk-")),
    context: { "aws:cdk:bundling-stacks": [], ...context },
  });

const ORG_A = "5f1a2b3c4d5e6f7a8b9c0d1e";
const ORG_B = "5f1a2b3c4d5e6f7a8b9c0d1f";
const KEPT: DeploymentFile = {
  path: "deployment.json",
  settings: {
    stackName: "JumpcloudProd",
    jumpcloudOrgIds: [ORG_A, ORG_B],
    namespace: "prod",
    alarmEmail: "soc@example.com",
    scheduleMinutes: 10,
  },
};

function problems(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigurationError) return [...error.problems];
    throw error;
  }
  return [];
}

const collectorVariables = (template: Template) => {
  const [collector] = Object.entries(template.findResources("AWS::Lambda::Function"))
    .filter(([id]) => id.startsWith("FunctionsCollector"))
    .map(
      ([, r]) => (r as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties,
    );
  return collector?.Environment.Variables ?? {};
};

describe("the deployment file", () => {
  it("is what every deploy reads: an update without -c keeps every setting and the stack's name", () => {
    const first = buildApp(newApp(), KEPT);
    const update = buildApp(newApp(), KEPT);
    expect(first.stack.stackName).toBe("JumpcloudProd");
    expect(update.stack.stackName).toBe("JumpcloudProd");
    const [before, after] = [first, update].map((b) => Template.fromStack(b.stack).toJSON());
    expect(after).toStrictEqual(before);
    expect(collectorVariables(Template.fromStack(update.stack))).toMatchObject({
      JUMPCLOUD_ORG_IDS: `${ORG_A},${ORG_B}`,
      LEASE_DURATION: "10m",
    });
    Template.fromStack(update.stack).hasResourceProperties("AWS::SNS::Subscription", {
      Endpoint: "soc@example.com",
    });
  });

  it("lets -c override a setting for one deploy, and says the next deploy goes back", () => {
    const { stack } = buildApp(newApp({ namespace: "staging" }), KEPT);
    Annotations.fromStack(stack).hasWarning(
      "*",
      Match.stringLikeRegexp(
        'context namespace="staging" \\(-c, or cdk.json\\) overrides deployment.json\'s "prod": given with -c, it holds for this deploy only: the next deploy without it goes back',
      ),
    );
    // A setting the file does not hold at all is as fleeting: said the same way.
    const added = buildApp(newApp({ jumpcloudServices: "sso" }), KEPT);
    Annotations.fromStack(added.stack).hasWarning(
      "*",
      Match.stringLikeRegexp(
        'context jumpcloudServices="sso" \\(-c, or cdk.json\\) is not in deployment.json: given with -c, it holds for this deploy only',
      ),
    );
    const noFile = buildApp(newApp({ alarmEmail: "soc@example.com" }));
    Annotations.fromStack(noFile.stack).hasWarning(
      "*",
      Match.stringLikeRegexp("context alarmEmail=.* is not in deployment.json: .*put it in deployment.json"),
    );
    // The same value given both ways is no override.
    const same = buildApp(newApp({ jumpcloudOrgIds: `${ORG_A},${ORG_B}` }), KEPT);
    Annotations.fromStack(same.stack).hasNoWarning("*", Match.stringLikeRegexp("overrides"));
  });

  it("refuses a stack name other than the kept one, unless renameStack=true", () => {
    expect(problems(() => buildApp(newApp({ stackName: "Other" }), KEPT))).toStrictEqual([
      expect.stringMatching(
        /^context stackName "Other" differs from deployment.json's stackName "JumpcloudProd": a different name deploys a second stack .*add -c renameStack=true/,
      ),
    ]);
    // Without a file the name to keep is the default: a name given only with -c would be lost.
    expect(problems(() => buildApp(newApp({ stackName: "Mine" })))).toStrictEqual([
      expect.stringMatching(
        /differs from the default name "JumpcloudElastic".*Put stackName in deployment.json/,
      ),
    ]);
    expect(buildApp(newApp({ stackName: "Other", renameStack: "true" }), KEPT).stack.stackName).toBe("Other");
  });

  it.each([
    // Invalid: that alone is said (not also that it differs from the kept name).
    [{ stackName: "bad_name!" }, /context stackName must start with a letter and hold only/],
    [{ stackName: "Other", renameStack: "maybe" }, /context renameStack must be true or false, not "maybe"/],
    [
      { jumpcloudOrgIds: "bad" },
      /context jumpcloudOrgIds holds "bad", which is not a JumpCloud org id \(24 hexadecimal/,
    ],
    [{ alarmEmail: "notanemail" }, /context alarmEmail must be one e-mail address, not "notanemail"/],
    [
      { jumpcloudServices: "sso,bogus" },
      /context jumpcloudServices: bogus is not a Directory Insights service \(one of all, alerts/,
    ],
  ])("refuses %j with one line naming the key", (context, message) => {
    const found = problems(() => buildApp(newApp(context)));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(message);
  });

  it("checks the file's keys and values like context, every problem at once", () => {
    const bad: DeploymentFile = {
      path: "deployment.json",
      settings: { namespce: "prod", scheduleMinutes: 0 },
    };
    const found = problems(() => buildApp(newApp(), bad)).join("\n");
    expect(found).toMatch(/context namespce is not a setting of this stack/);
    expect(found).toMatch(/context scheduleMinutes must be a whole number from 1 to 60, not 0/);
  });
});

describe("reading the deployment file", () => {
  const folder = (files: Record<string, string>) => {
    const dir = mkdtempSync(join(OUT, "cwd-"));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  };
  const node = (context: Record<string, unknown> = {}) => new App({ context }).node;

  it("reads deployment.json when there is one, none otherwise, and skips // comment keys", () => {
    const dir = folder({ "deployment.json": '{"// why": "prod tenant", "namespace": "prod"}' });
    expect(readDeploymentFile(node(), dir)).toStrictEqual({
      path: "deployment.json",
      settings: { namespace: "prod" },
    });
    expect(readDeploymentFile(node(), folder({}))).toBeUndefined();
  });

  it("reads the file -c deploymentFile names, kept beside the fork", () => {
    const dir = folder({});
    mkdirSync(join(dir, "ops"));
    writeFileSync(join(dir, "ops", "jc.json"), '{"namespace":"ops"}');
    expect(readDeploymentFile(node({ deploymentFile: "ops/jc.json" }), dir)?.settings).toStrictEqual({
      namespace: "ops",
    });
  });

  it.each([
    [{}, { "deployment.json": "{broken" }, /deployment file deployment.json is not valid JSON .*: fix it/],
    [{}, { "deployment.json": "[1]" }, /must hold one JSON object of settings/],
    [{ deploymentFile: "nope.json" }, {}, /deployment file nope.json: cannot read it \(ENOENT\)/],
  ])("says what to fix for %j %j", (context, files, message) => {
    const dir = folder(files);
    expect(problems(() => readDeploymentFile(node(context), dir))).toStrictEqual([
      expect.stringMatching(message),
    ]);
  });

  it("ships an example that synthesizes", () => {
    const example = readDeploymentFile(node({ deploymentFile: "deployment.example.json" }), ROOT);
    expect(Object.keys(example?.settings ?? {})).toContain("stackName");
    const { stack } = buildApp(newApp(), example);
    expect(stack.stackName).toBe("JumpcloudElastic");
  });
});

describe("cdk's app entry point", () => {
  // What `npx cdk synth -c stackName=bad_name!` runs: one message, no CDK stack trace.
  it("prints bad settings as lines to fix, exit 1, no trace", () => {
    const cwd = mkdtempSync(join(OUT, "app-"));
    writeFileSync(join(cwd, "deployment.json"), '{"alarmEmail": "notanemail"}');
    const result = spawnSync(process.execPath, ["--import", TSX, join(ROOT, "infra/app.ts")], {
      cwd,
      encoding: "utf8",
      env: {
        ...process.env,
        CDK_OUTDIR: join(cwd, "cdk.out"),
        CDK_CONTEXT_JSON: JSON.stringify({ stackName: "bad_name!" }),
      },
    });
    expect(result.stderr).toMatch(/^invalid deployment settings \(deployment file, cdk.json or -c\):\n/);
    expect(result.stderr).toMatch(/ {2}- context stackName must start with a letter/);
    expect(result.stderr).toMatch(/ {2}- context alarmEmail must be one e-mail address/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.status).toBe(1);
  });
});
