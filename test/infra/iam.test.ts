import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IamPolicies } from "./emulators/iam.ts";
import {
  LOCAL_ACCOUNT,
  localNames,
  type Resource,
  resolveEnvironment,
  resourcesOf,
  type SynthesizedStack,
  synthesize,
} from "./emulators/stack-template.ts";

const { account, region } = LOCAL_ACCOUNT;
const BUCKET = "arn:aws:s3:::claims";
const TABLE = `arn:aws:dynamodb:${region}:${account}:table/Checkpoints`;

/** A hand-written template: the role `Role` (named `worker`), a bucket, a table, and `resources`. */
function stackOf(resources: Record<string, Resource>): SynthesizedStack {
  return {
    outdir: "",
    stackName: "Test",
    assets: {},
    outputs: {},
    functionIds: { collector: "Fn", mapper: "Fn" },
    resources: {
      Role: { Type: "AWS::IAM::Role", Properties: { RoleName: "worker" } },
      Bucket: { Type: "AWS::S3::Bucket", Properties: { BucketName: "claims" } },
      Table: { Type: "AWS::DynamoDB::Table", Properties: { TableName: "Checkpoints" } },
      Fn: {
        Type: "AWS::Lambda::Function",
        Properties: { FunctionName: "fn", Role: { "Fn::GetAtt": ["Role", "Arn"] } },
      },
      ...resources,
    },
  };
}

/** The role `Role` with `statements` in one `AWS::IAM::Policy` attached to it. */
function iamOf(...statements: unknown[]): IamPolicies {
  const stack = stackOf({
    Policy: {
      Type: "AWS::IAM::Policy",
      Properties: {
        PolicyName: "Policy",
        Roles: [{ Ref: "Role" }],
        PolicyDocument: { Version: "2012-10-17", Statement: statements },
      },
    },
  });
  return new IamPolicies(stack, localNames(stack));
}

// `${name}` as Fn::Sub and IAM write it: in a plain string the linter takes it for a slip.
const v = (name: string) => `\${${name}}`;

const allowed = (iam: IamPolicies, action: string, resource: string, context?: Record<string, string>) =>
  iam.evaluate("Role", action, resource, context).allowed;

describe("IamPolicies on small templates", () => {
  it("matches actions case-insensitively, with * and ? and the service prefix", () => {
    const iam = iamOf(
      { Effect: "Allow", Action: "dynamodb:Get*", Resource: "*" },
      { Effect: "Allow", Action: ["s3:?etObject"], Resource: "*" },
    );
    expect(allowed(iam, "dynamodb:GetItem", TABLE)).toBe(true);
    expect(allowed(iam, "DynamoDB:getitem", TABLE)).toBe(true);
    expect(allowed(iam, "dynamodb:PutItem", TABLE)).toBe(false);
    // The prefix is part of the name: Get* of another service is not granted.
    expect(allowed(iam, "lambda:GetFunction", TABLE)).toBe(false);
    expect(allowed(iam, "s3:GetObject", `${BUCKET}/k`)).toBe(true);
    expect(allowed(iam, "s3:SetObject", `${BUCKET}/k`)).toBe(true);
    expect(allowed(iam, "s3:GetObjects", `${BUCKET}/k`)).toBe(false);
    expect(
      allowed(iamOf({ Effect: "Allow", Action: "s3:*", Resource: "*" }), "s3:DeleteObject", BUCKET),
    ).toBe(true);
    expect(allowed(iamOf({ Effect: "Allow", Action: "*", Resource: "*" }), "kms:Decrypt", "*")).toBe(true);
  });

  it("matches the resource part of an ARN as one case-sensitive glob", () => {
    const iam = iamOf({ Effect: "Allow", Action: "s3:GetObject", Resource: `${BUCKET}/collector/*` });
    expect(allowed(iam, "s3:GetObject", `${BUCKET}/collector/a/b:c.json`)).toBe(true);
    expect(allowed(iam, "s3:GetObject", `${BUCKET}/collector/`)).toBe(true);
    expect(allowed(iam, "s3:GetObject", `${BUCKET}/Collector/a`)).toBe(false);
    expect(allowed(iam, "s3:GetObject", `${BUCKET}/other/collector/a`)).toBe(false);
    expect(allowed(iam, "s3:GetObject", BUCKET)).toBe(false);
    // A resource that is no ARN (an action on no resource type) only matches "*".
    expect(allowed(iam, "s3:GetObject", "*")).toBe(false);
  });

  it("keeps a wildcard within its segment in the first five, not in the resource part", () => {
    const fn = `arn:aws:lambda:${region}:${account}:function:fn`;
    // Six segments: region "*", account "function", resource "*": not every function.
    const crossing = iamOf({
      Effect: "Allow",
      Action: "lambda:InvokeFunction",
      Resource: "arn:aws:lambda:*:function:*",
    });
    expect(allowed(crossing, "lambda:InvokeFunction", fn)).toBe(false);
    const regions = iamOf({
      Effect: "Allow",
      Action: "lambda:InvokeFunction",
      Resource: `arn:aws:lambda:us-*:${account}:function:fn`,
    });
    expect(allowed(regions, "lambda:InvokeFunction", fn)).toBe(true);
    expect(allowed(regions, "lambda:InvokeFunction", fn.replace(region, "eu-west-1"))).toBe(false);
    // The resource part may hold colons: a qualifier needs its own pattern.
    expect(allowed(regions, "lambda:InvokeFunction", `${fn}:live`)).toBe(false);
    const qualified = iamOf({ Effect: "Allow", Action: "lambda:InvokeFunction", Resource: `${fn}*` });
    expect(allowed(qualified, "lambda:InvokeFunction", `${fn}:live`)).toBe(true);
    expect(() => iamOf({ Effect: "Allow", Action: "s3:*", Resource: "arn:aws:s3:*" })).toThrow(
      /Policy Statement\[0\].*"arn:aws:s3:\*" is neither "\*" nor an ARN/,
    );
  });

  it("inverts NotAction and NotResource", () => {
    const iam = iamOf(
      { Effect: "Allow", NotAction: ["iam:*", "sts:*"], Resource: "*" },
      { Effect: "Deny", Action: "s3:*", NotResource: [BUCKET, `${BUCKET}/*`] },
    );
    expect(allowed(iam, "s3:GetObject", `${BUCKET}/k`)).toBe(true);
    expect(allowed(iam, "s3:GetObject", "arn:aws:s3:::elsewhere/k")).toBe(false);
    expect(allowed(iam, "iam:PassRole", `arn:aws:iam::${account}:role/x`)).toBe(false);
    expect(allowed(iam, "dynamodb:GetItem", TABLE)).toBe(true);
    expect(() => iamOf({ Effect: "Allow", Action: "s3:*", NotAction: "s3:Get*", Resource: "*" })).toThrow(
      /exactly one of Action and NotAction/,
    );
  });

  it("refuses in AWS's words: an explicit deny beats any allow", () => {
    const iam = iamOf(
      { Effect: "Allow", Action: "s3:*", Resource: "*" },
      { Effect: "Deny", Action: "s3:DeleteObject", Resource: `${BUCKET}/*` },
    );
    const principal = `arn:aws:sts::${account}:assumed-role/worker/fn`;
    expect(iam.evaluate("Role", "s3:DeleteObject", `${BUCKET}/k`, {}, "fn")).toEqual({
      allowed: false,
      message: `User: ${principal} is not authorized to perform: s3:DeleteObject on resource: ${BUCKET}/k with an explicit deny in an identity-based policy`,
    });
    expect(iam.evaluate("Role", "dynamodb:Scan", TABLE, {}, "fn")).toEqual({
      allowed: false,
      message: `User: ${principal} is not authorized to perform: dynamodb:Scan on resource: ${TABLE} because no identity-based policy allows the dynamodb:Scan action`,
    });
    expect(iam.evaluate("Role", "s3:GetObject", `${BUCKET}/k`).allowed).toBe(true);
  });

  it("tests conditions: keys in any case, missing keys, IfExists, negations, Null, Bool, ARNs", () => {
    const when = (Condition: unknown) => iamOf({ Effect: "Allow", Action: "s3:*", Resource: "*", Condition });
    const equals = when({ StringEquals: { "s3:prefix": ["a/", "b/"], "aws:PrincipalAccount": account } });
    expect(
      allowed(equals, "s3:ListBucket", BUCKET, { "S3:Prefix": "b/", "aws:principalaccount": account }),
    ).toBe(true);
    expect(
      allowed(equals, "s3:ListBucket", BUCKET, { "s3:prefix": "c/", "aws:PrincipalAccount": account }),
    ).toBe(false);
    expect(allowed(equals, "s3:ListBucket", BUCKET, { "s3:prefix": "a/" })).toBe(false);

    const ifExists = when({ StringEqualsIfExists: { "s3:prefix": "a/" } });
    expect(allowed(ifExists, "s3:ListBucket", BUCKET)).toBe(true);
    expect(allowed(ifExists, "s3:ListBucket", BUCKET, { "s3:prefix": "b/" })).toBe(false);

    // AWS: a negated operator is true of a missing key.
    const notLike = when({ StringNotLike: { "s3:prefix": "secret/*" } });
    expect(allowed(notLike, "s3:ListBucket", BUCKET)).toBe(true);
    expect(allowed(notLike, "s3:ListBucket", BUCKET, { "s3:prefix": "secret/x" })).toBe(false);
    expect(allowed(notLike, "s3:ListBucket", BUCKET, { "s3:prefix": "public/x" })).toBe(true);

    const tls = when({ Bool: { "aws:SecureTransport": "true" } });
    expect(allowed(tls, "s3:GetObject", BUCKET, { "aws:SecureTransport": "TRUE" })).toBe(true);
    expect(allowed(tls, "s3:GetObject", BUCKET, { "aws:SecureTransport": "false" })).toBe(false);
    expect(allowed(tls, "s3:GetObject", BUCKET)).toBe(false);

    const absent = when({ Null: { "s3:x-amz-server-side-encryption": "true" } });
    expect(allowed(absent, "s3:PutObject", BUCKET)).toBe(true);
    expect(allowed(absent, "s3:PutObject", BUCKET, { "s3:x-amz-server-side-encryption": "AES256" })).toBe(
      false,
    );

    const source = when({ ArnLike: { "aws:SourceArn": `arn:aws:lambda:*:${account}:function:*` } });
    const fnArn = `arn:aws:lambda:${region}:${account}:function:fn`;
    expect(allowed(source, "s3:GetObject", BUCKET, { "aws:SourceArn": fnArn })).toBe(true);
    expect(allowed(source, "s3:GetObject", BUCKET, { "aws:SourceArn": fnArn.replace(account, "1") })).toBe(
      false,
    );
    expect(allowed(source, "s3:GetObject", BUCKET)).toBe(false);
  });

  it("throws on condition operators it does not support, naming them", () => {
    const when = (Condition: unknown) => () =>
      iamOf({ Effect: "Allow", Action: "s3:*", Resource: "*", Condition });
    expect(when({ NumericLessThan: { "s3:max-keys": "10" } })).toThrow(
      /operator NumericLessThan is not supported/,
    );
    expect(when({ "ForAnyValue:StringEquals": { "aws:TagKeys": "a" } })).toThrow(
      /operator ForAnyValue:StringEquals is not supported/,
    );
    expect(when({ NullIfExists: { "aws:TagKeys": "true" } })).toThrow(
      /operator NullIfExists is not supported/,
    );
    expect(when({ StringLike: { "aws:userid": v("aws:username") } })).toThrow(/policy variables/);
  });

  it("resolves Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split and drops AWS::NoValue", () => {
    const iam = iamOf(
      {
        Effect: "Allow",
        Action: "s3:PutObject",
        Resource: [
          { "Fn::Join": ["", [{ "Fn::GetAtt": ["Bucket", "Arn"] }, "/joined/*"]] },
          { "Fn::Sub": `arn:${v("AWS::Partition")}:s3:::${v("Bucket")}/sub/${v("Table")}/*` },
          {
            "Fn::Sub": [
              `${v("Arn")}/${v("Folder")}/*`,
              { Arn: { "Fn::GetAtt": ["Bucket", "Arn"] }, Folder: "vars" },
            ],
          },
          { "Fn::Select": [1, { "Fn::Split": [",", "a,arn:aws:s3:::claims/selected/*"] }] },
          { Ref: "AWS::NoValue" },
        ],
      },
      {
        Effect: "Allow",
        Action: "dynamodb:GetItem",
        Resource: { "Fn::Sub": v("Table.Arn") },
        Condition: { StringEquals: { "aws:RequestedRegion": { Ref: "AWS::Region" } } },
      },
    );
    for (const key of ["joined/a", "sub/Checkpoints/a", "vars/a", "selected/a"])
      expect(allowed(iam, "s3:PutObject", `${BUCKET}/${key}`), key).toBe(true);
    expect(allowed(iam, "s3:PutObject", `${BUCKET}/other/a`)).toBe(false);
    expect(allowed(iam, "dynamodb:GetItem", TABLE, { "aws:RequestedRegion": region })).toBe(true);
  });

  it("throws naming the logical id and the expression it cannot resolve", () => {
    const resource = (Resource: unknown) => () => iamOf({ Effect: "Allow", Action: "s3:*", Resource });
    expect(resource({ Ref: "Nowhere" })).toThrow('Policy: {"Ref":"Nowhere"} refers to nothing named locally');
    expect(resource({ "Fn::GetAtt": ["Bucket", "DomainName"] })).toThrow(/Policy: .*"Bucket","DomainName"/);
    // `${!name}` is how a template writes an IAM policy variable: those are not supported.
    expect(resource({ "Fn::Sub": `${BUCKET}/${v("!aws:username")}/*` })).toThrow(/policy variables/);
    expect(resource({ "Fn::Sub": `${v("Nowhere.Arn")}/*` })).toThrow(
      /Policy: \$\{Nowhere\.Arn\} in .*Fn::Sub/,
    );
    expect(resource({ "Fn::ImportValue": "Shared" })).toThrow(/Policy: cannot resolve .*Fn::ImportValue/);
    expect(resource({ Ref: "AWS::StackId" })).toThrow(/Policy: .*AWS::StackId/);
  });

  it("gathers inline, customer managed and AWS managed policies; throws on unknown managed ones", () => {
    const document = (Action: string) => ({ Statement: { Effect: "Allow", Action, Resource: "*" } });
    const stack = stackOf({
      Role: {
        Type: "AWS::IAM::Role",
        Properties: {
          Policies: [{ PolicyName: "inline", PolicyDocument: document("sqs:SendMessage") }],
          ManagedPolicyArns: [
            {
              "Fn::Join": [
                "",
                [
                  "arn:",
                  { Ref: "AWS::Partition" },
                  ":iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                ],
              ],
            },
            { Ref: "Referenced" },
          ],
        },
      },
      Other: { Type: "AWS::IAM::Role", Properties: {} },
      Referenced: {
        Type: "AWS::IAM::ManagedPolicy",
        Properties: { PolicyDocument: document("sns:Publish") },
      },
      Attaching: {
        Type: "AWS::IAM::ManagedPolicy",
        Properties: { Roles: [{ Ref: "Role" }], PolicyDocument: document("kms:Decrypt") },
      },
      Elsewhere: {
        Type: "AWS::IAM::Policy",
        Properties: { PolicyName: "p", Roles: [{ Ref: "Other" }], PolicyDocument: document("s3:*") },
      },
    });
    const names = localNames(stack);
    const iam = new IamPolicies(stack, names);
    for (const action of [
      "sqs:SendMessage",
      "logs:PutLogEvents",
      "logs:CreateLogGroup",
      "sns:Publish",
      "kms:Decrypt",
    ])
      expect(iam.evaluate("Role", action, "*").allowed, action).toBe(true);
    expect(iam.evaluate("Role", "s3:GetObject", "*").allowed).toBe(false);
    expect(iam.evaluate("Other", "s3:GetObject", "*").allowed).toBe(true);
    // Without RoleName the role's name is the generated one.
    expect(iam.principal("Other", "s")).toBe(
      `arn:aws:sts::${account}:assumed-role/${names.get("Ref:Other")}/s`,
    );

    const unknown = stackOf({
      Role: {
        Type: "AWS::IAM::Role",
        Properties: { ManagedPolicyArns: ["arn:aws:iam::aws:policy/AdministratorAccess"] },
      },
    });
    expect(() => new IamPolicies(unknown, localNames(unknown))).toThrow(
      "Role: managed policy arn:aws:iam::aws:policy/AdministratorAccess is not known here",
    );
  });

  it("finds a function's role and the principal of its sessions", () => {
    const stack = stackOf({
      Odd: { Type: "AWS::Lambda::Function", Properties: { Role: "arn:aws:iam::123456789012:role/x" } },
    });
    const iam = new IamPolicies(stack, localNames(stack));
    expect(iam.roleOfFunction("Fn")).toBe("Role");
    expect(iam.principal("Role", "fn")).toBe(`arn:aws:sts::${account}:assumed-role/worker/fn`);
    expect(() => iam.roleOfFunction("Odd")).toThrow(/^Odd: Role "arn:aws:iam::123456789012:role\/x"/);
    expect(() => iam.evaluate("Nobody", "s3:GetObject", "*")).toThrow("Nobody is not a role of the stack");
  });
});

describe("IamPolicies on the synthesized stack", { timeout: 120_000 }, () => {
  let root = "";
  let stack: SynthesizedStack;
  let names: Map<string, string>;
  let iam: IamPolicies;
  const arn = (id: string) => names.get(`${id}.Arn`) ?? "";
  const onlyOf = (type: string) => {
    const [first, ...others] = resourcesOf(stack, type);
    if (!first || others.length > 0) throw new Error(`expected one ${type}`);
    return first[0];
  };

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "iam-test-"));
    stack = synthesize(join(root, "cdk.out"), {});
    names = localNames(stack);
    iam = new IamPolicies(stack, names);
  }, 120_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("lets the collector use its checkpoint table, not scan it", () => {
    const role = iam.roleOfFunction(stack.functionIds.collector);
    const table = arn(onlyOf("AWS::DynamoDB::Table"));
    expect(iam.evaluate(role, "dynamodb:GetItem", table).allowed).toBe(true);
    expect(iam.evaluate(role, "dynamodb:UpdateItem", table).allowed).toBe(true);
    const scan = iam.evaluate(role, "dynamodb:Scan", table, {}, "JumpcloudElastic-collector");
    expect(scan.allowed).toBe(false);
    expect(scan.message).toMatch(
      /^User: arn:aws:sts::123456789012:assumed-role\/[^/]+\/JumpcloudElastic-collector is not authorized to perform: dynamodb:Scan on resource: arn:aws:dynamodb:.* because no identity-based policy allows the dynamodb:Scan action$/,
    );
  });

  it("lets the collector invoke the mapper and put claim checks under collector/claims/ only", () => {
    const role = iam.roleOfFunction(stack.functionIds.collector);
    expect(iam.evaluate(role, "lambda:InvokeFunction", arn(stack.functionIds.mapper)).allowed).toBe(true);
    const bucket = resolveEnvironment(stack, stack.functionIds.collector, names).CLAIM_CHECK_BUCKET;
    expect(iam.evaluate(role, "s3:PutObject", `arn:aws:s3:::${bucket}/collector/claims/a.json`).allowed).toBe(
      true,
    );
    expect(iam.evaluate(role, "s3:PutObject", `arn:aws:s3:::${bucket}/dead-letters/a.json`).allowed).toBe(
      false,
    );
    expect(iam.evaluate(role, "s3:GetObject", `arn:aws:s3:::${bucket}/collector/claims/a.json`).allowed).toBe(
      false,
    );
  });

  it("lets the mapper read its own secret, not the JumpCloud one", () => {
    const mapper = iam.roleOfFunction(stack.functionIds.mapper);
    const own = resolveEnvironment(stack, stack.functionIds.mapper, names).ELASTICSEARCH_SECRET_ARN ?? "";
    const jumpcloud =
      resolveEnvironment(stack, stack.functionIds.collector, names).JUMPCLOUD_SECRET_ARN ?? "";
    expect(iam.evaluate(mapper, "secretsmanager:GetSecretValue", own).allowed).toBe(true);
    expect(iam.evaluate(mapper, "secretsmanager:GetSecretValue", jumpcloud).allowed).toBe(false);
    const collector = iam.roleOfFunction(stack.functionIds.collector);
    expect(iam.evaluate(collector, "secretsmanager:GetSecretValue", jumpcloud).allowed).toBe(true);
    expect(iam.evaluate(collector, "secretsmanager:GetSecretValue", own).allowed).toBe(false);
  });

  it("lets each function write to its own log group's streams only", () => {
    const role = iam.roleOfFunction(stack.functionIds.mapper);
    const stream = (groupArn: string) => `${groupArn.replace(/:\*$/, "")}:log-stream:2026/01/01/[$LATEST]abc`;
    const [own, other] = ["FunctionsMapperLogs", "FunctionsCollectorLogs"].map((prefix) =>
      arn(resourcesOf(stack, "AWS::Logs::LogGroup").find(([id]) => id.startsWith(prefix))?.[0] ?? ""),
    );
    expect(iam.evaluate(role, "logs:PutLogEvents", stream(own ?? "")).allowed).toBe(true);
    expect(iam.evaluate(role, "logs:PutLogEvents", stream(other ?? "")).allowed).toBe(false);
  });

  it("lets the scheduler's role invoke the collector", () => {
    const target = resourcesOf(stack, "AWS::Scheduler::Schedule")[0]?.[1].Properties?.Target as {
      RoleArn: { "Fn::GetAtt": [string, string] };
    };
    const role = target.RoleArn["Fn::GetAtt"][0];
    expect(iam.evaluate(role, "lambda:InvokeFunction", arn(stack.functionIds.collector)).allowed).toBe(true);
    expect(iam.evaluate(role, "lambda:InvokeFunction", arn(stack.functionIds.mapper)).allowed).toBe(false);
  });

  it("gives the provider framework's role CloudWatch Logs through AWSLambdaBasicExecutionRole", () => {
    const [provider] = resourcesOf(stack, "AWS::Lambda::Function")
      .map(([id]) => id)
      .filter((id) => id !== stack.functionIds.collector && id !== stack.functionIds.mapper);
    const role = iam.roleOfFunction(provider ?? "");
    const group = `arn:aws:logs:${region}:${account}:log-group:/aws/lambda/anything`;
    expect(iam.evaluate(role, "logs:CreateLogGroup", group).allowed).toBe(true);
    expect(iam.evaluate(role, "logs:PutLogEvents", `${group}:log-stream:s`).allowed).toBe(true);
    expect(iam.evaluate(role, "logs:DeleteLogGroup", group).allowed).toBe(false);
  });
});
