import { readFileSync } from "node:fs";
import { App } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../infra/app.ts";
import { leastPrivilegeTable, withLeastPrivilegeTable } from "../../infra/least-privilege.ts";
import { synthesizedResources } from "../../scripts/generate-iam-table.ts";
import { ROOT } from "../helpers/cli.ts";

describe("docs/deploy.md's least-privilege table", () => {
  const resources = synthesizedResources();

  it("is the one the synthesized template gives (run `npm run docs:iam` after changing a grant)", () => {
    const doc = readFileSync(`${ROOT}/docs/deploy.md`, "utf8");
    expect(withLeastPrivilegeTable(doc, resources)).toBe(doc);
  });

  it("lists every action of every statement, and fails on a resource it cannot name", () => {
    const table = leastPrivilegeTable(resources);
    expect(table).toMatch(
      /^\| collector function +\| `dynamodb:GetItem`, `dynamodb:UpdateItem` +\| the checkpoint table +\|$/m,
    );
    expect(table).not.toContain("dynamodb:Scan");
    const extra = structuredClone(resources);
    const policy = Object.values(extra).find((r) => r.Type === "AWS::IAM::Policy") as unknown as {
      Properties: { PolicyDocument: { Statement: unknown[] } };
    };
    policy.Properties.PolicyDocument.Statement.push({
      Effect: "Allow",
      Action: "kms:Decrypt",
      Resource: { "Fn::GetAtt": ["SomeNewKey1234", "Arn"] },
    });
    expect(() => leastPrivilegeTable(extra)).toThrow(/no description for resource SomeNewKey1234/);
  });

  it("names the GeoIP objects and the VPC's actions when those settings are on", () => {
    const { app, stack } = buildApp(
      new App({
        context: {
          "aws:cdk:bundling-stacks": [],
          geoIpCityS3: "s3://geo/City.mmdb",
          vpcSubnetIds: "subnet-0a1b",
          vpcSecurityGroupIds: "sg-0a1b",
        },
      }),
    );
    const table = leastPrivilegeTable(app.synth().getStackByName(stack.stackName).template.Resources);
    expect(table).toMatch(/mapper function +\| `s3:GetObject` +\| `arn:<partition>:s3:::geo\/City\.mmdb`/);
    expect(table).toMatch(/`ec2:CreateNetworkInterface`/);
  });
});
