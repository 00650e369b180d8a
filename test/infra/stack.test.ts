import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, type Stack } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import { Bucket } from "aws-cdk-lib/aws-s3";
import { afterAll, describe, expect, it } from "vitest";
import { buildApp } from "../../infra/app.ts";
import { CONTEXT_KEYS } from "../../infra/config.ts";
import { RUNTIME_VARIABLES } from "../../infra/constructs/functions.ts";
import { SECRET_PLACEHOLDER } from "../../lib/aws/secrets.ts";
import { ingestPipeline } from "../../lib/elasticsearch/ingest-pipeline.ts";
import { indexTemplate } from "../../lib/elasticsearch/template.ts";
import { ConfigurationError } from "../../lib/errors.ts";
import { loadSettings } from "../../lib/settings/load.ts";
import { functionVariables, SETTINGS } from "../../lib/settings/schema.ts";
import { ROOT } from "../helpers/cli.ts";
import { fixturePath } from "../helpers/fixtures.ts";
import { IamPolicies } from "./emulators/iam.ts";
import { localNames, type SynthesizedStack } from "./emulators/stack-template.ts";

// JumpCloud org ids: 24 hexadecimal characters.
const [O1, O2, O3] = ["5f0000000000000000000001", "5f0000000000000000000002", "5f0000000000000000000003"];

// Bundling is skipped here for speed: one test below bundles for real.
const NO_BUNDLING = { "aws:cdk:bundling-stacks": [] };

// Each App writes its assembly under one folder, removed at the end.
const OUT = mkdtempSync(join(tmpdir(), "stack-test-"));
afterAll(() => rmSync(OUT, { recursive: true, force: true }));
const newApp = (context: Record<string, unknown> = {}) =>
  new App({ outdir: mkdtempSync(join(OUT, "cdk-")), context: { ...NO_BUNDLING, ...context } });

function synth(context: Record<string, unknown> = {}) {
  const { app, stack } = buildApp(newApp(context));
  return { app, stack, template: Template.fromStack(stack) };
}

type Resource = { Properties: Record<string, unknown> };
const resources = (template: Template, type: string) =>
  Object.values(template.findResources(type)) as Resource[];
const fn = (template: Template, name: "Collector" | "Mapper") => {
  const found = Object.entries(template.findResources("AWS::Lambda::Function")).find(([id]) =>
    id.startsWith(`Functions${name}`),
  );
  return (found as [string, Resource])[1].Properties;
};
const variables = (props: Record<string, unknown>) =>
  (props.Environment as { Variables: Record<string, unknown> }).Variables;

describe("the stack", () => {
  const { template, stack } = synth();

  it("keeps checkpoints in an on-demand, recoverable, encrypted table that outlives the stack", () => {
    template.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Retain",
      Properties: {
        BillingMode: "PAY_PER_REQUEST",
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
      },
    });
  });

  it("runs both functions on Node 24, arm64, with source maps, times that fit the schedule", () => {
    for (const name of ["Collector", "Mapper"] as const) {
      expect(fn(template, name)).toMatchObject({
        Runtime: "nodejs24.x",
        Architectures: ["arm64"],
        Handler: "index.handler",
      });
      expect(variables(fn(template, name)).NODE_OPTIONS).toBe("--enable-source-maps");
    }
    expect(fn(template, "Collector").Timeout).toBe(300);
    expect(variables(fn(template, "Collector"))).toMatchObject({ LEASE_DURATION: "5m", SAFETY_MARGIN: "2m" });
    // The mapper answers within half the collector's safety margin: before in-flight work is abandoned.
    expect(fn(template, "Mapper").Timeout).toBe(60);
  });

  it.each([
    ["Collector", "collector"],
    ["Mapper", "mapper"],
  ] as const)("gives the %s exactly the environment the settings schema says it reads", (name, role) => {
    const env = variables(fn(template, name));
    const allowed = new Set([...functionVariables(role), ...Object.keys(RUNTIME_VARIABLES)]);
    expect(Object.keys(env).filter((k) => !allowed.has(k))).toStrictEqual([]);
    const reserved = Object.values(SETTINGS)
      .filter((s) => s.providedByLambda)
      .map((s) => s.env);
    for (const key of Object.keys(env)) expect(reserved).not.toContain(key);
    expect(Object.keys(env).filter((k) => k.startsWith("AWS_"))).toStrictEqual([]);
    // What the function needs is there, and the values parse with the function's own schema.
    const required =
      role === "collector"
        ? ["JUMPCLOUD_SECRET_ARN", "CHECKPOINT_TABLE", "MAPPER_FUNCTION_NAME"]
        : ["ELASTICSEARCH_SECRET_ARN", "DEAD_LETTER_BUCKET"];
    for (const key of required) expect(Object.keys(env)).toContain(key);
    const literal = Object.fromEntries(
      Object.entries(env).filter(([, v]) => typeof v === "string"),
    ) as Record<string, string>;
    expect(() => loadSettings(literal)).not.toThrow();
  });

  // That each function has what it calls is proven by running the bundles with IAM enforced
  // (deployed.test.ts, and deployed-iam.test.ts without each statement): here, what none may have.
  it("grants no function more than its own resources: no wildcard, no other function's secret or prefix", () => {
    const stackJson = template.toJSON() as { Resources: SynthesizedStack["resources"] };
    const synthesized = {
      outdir: "",
      stackName: stack.stackName,
      resources: stackJson.Resources,
      outputs: {},
      assets: {},
      functionIds: { collector: "", mapper: "" },
    };
    const names = localNames(synthesized);
    const iam = new IamPolicies(synthesized, names);
    const id = (prefix: string) =>
      Object.keys(stackJson.Resources).find((k) => k.startsWith(prefix)) as string;
    const [collector, mapper] = [id("FunctionsCollector2"), id("FunctionsMapper6")].map((f) =>
      iam.roleOfFunction(f),
    ) as [string, string];
    const allowed = (role: string, action: string, resource: string) =>
      iam.evaluate(role, action, resource).allowed;
    const arn = (prefix: string) => names.get(`${id(prefix)}.Arn`) as string;
    const [jumpcloud, elasticsearch] = [
      names.get(`Ref:${id("SecretsJumpCloud")}`),
      names.get(`Ref:${id("SecretsElasticsearch")}`),
    ] as [string, string];
    const bucket = arn("DeadLettersBucket");
    expect(allowed(collector, "secretsmanager:GetSecretValue", jumpcloud)).toBe(true);
    expect(allowed(collector, "secretsmanager:GetSecretValue", elasticsearch)).toBe(false);
    expect(allowed(mapper, "secretsmanager:GetSecretValue", jumpcloud)).toBe(false);
    expect(allowed(collector, "s3:PutObject", `${bucket}/dead-letters/x.json`)).toBe(false);
    expect(allowed(mapper, "s3:GetObject", `${bucket}/dead-letters/x.json`)).toBe(false);
    expect(allowed(mapper, "s3:PutObject", `${bucket}/collector/claims/x.json`)).toBe(false);
    expect(allowed(mapper, "lambda:InvokeFunction", arn("FunctionsCollector2"))).toBe(false);
    expect(allowed(mapper, "dynamodb:GetItem", arn("StateCheckpoints"))).toBe(false);
    for (const action of ["dynamodb:Scan", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:DeleteTable"])
      expect(allowed(collector, action, arn("StateCheckpoints")), action).toBe(false);
    const statements = resources(template, "AWS::IAM::Policy").flatMap(
      (p) =>
        (p.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] })
          .Statement,
    );
    expect(JSON.stringify(statements)).not.toMatch(/"Resource":"\*"/);
    for (const { Action } of statements) for (const a of [Action].flat()) expect(a).not.toContain("*");
    // No managed policies: each function's log rights name its own log group.
    for (const [roleId, role] of Object.entries(template.findResources("AWS::IAM::Role"))) {
      if (/^Functions(Collector|Mapper)Role/.test(roleId))
        expect((role as Resource).Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it("installs the index template and pipeline at deploy through the mapper, again whenever either changes", () => {
    template.hasResourceProperties("Custom::JumpcloudElasticIndexTemplate", {
      templateHash: (indexTemplate({ withEcsMappings: false })._meta as { hash: string }).hash,
      pipelineHash: ingestPipeline("cluster")._meta.hash,
    });
    // Another mode is another pipeline: the resource changes, and the deploy installs it.
    synth({ geoIp: "off" }).template.hasResourceProperties("Custom::JumpcloudElasticIndexTemplate", {
      pipelineHash: ingestPipeline("off")._meta.hash,
    });
    expect(ingestPipeline("off")._meta.hash).not.toBe(ingestPipeline("cluster")._meta.hash);
    const frameworks = resources(template, "AWS::Lambda::Function").filter((f) =>
      JSON.stringify(f.Properties.Environment ?? {}).includes("USER_ON_EVENT_FUNCTION_ARN"),
    );
    expect(frameworks).toHaveLength(1);
    expect(JSON.stringify(frameworks[0]?.Properties.Environment)).toContain("FunctionsMapper");
  });

  it("creates both secrets holding a recognisable placeholder, never a random value", () => {
    const secrets = resources(template, "AWS::SecretsManager::Secret");
    expect(secrets).toHaveLength(2);
    for (const secret of secrets) {
      expect(secret.Properties.SecretString).toBe(JSON.stringify({ placeholder: SECRET_PLACEHOLDER }));
      expect(secret.Properties.GenerateSecretString).toBeUndefined();
    }
  });

  it("runs the collector every 5 minutes through EventBridge Scheduler, retried, dead-lettered", () => {
    template.hasResourceProperties("AWS::Scheduler::Schedule", {
      ScheduleExpression: "rate(5 minutes)",
      State: "ENABLED",
      Target: {
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 },
        DeadLetterConfig: { Arn: Match.anyValue() },
      },
    });
    template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 300,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
  });

  it("keeps dead letters in an encrypted, private, TLS-only bucket with a lifecycle and access logs", () => {
    template.hasResourceProperties("AWS::S3::Bucket", {
      BucketEncryption: Match.objectLike({}),
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: Match.objectLike({}),
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: "dead-letter-bucket/" }),
    });
    const policies = JSON.stringify(resources(template, "AWS::S3::BucketPolicy"));
    expect(policies).toContain('"aws:SecureTransport":"false"');
  });

  it("alarms on errors, throttles, lag, dead letters, configuration and both queues, into one topic", () => {
    const alarms = resources(template, "AWS::CloudWatch::Alarm");
    const metrics = alarms.map((a) => a.Properties.MetricName).sort();
    expect(metrics).toStrictEqual([
      "ApproximateNumberOfMessagesVisible",
      "ApproximateNumberOfMessagesVisible",
      "CollectionLagSeconds",
      "CollectionLagSeconds",
      "ConfigurationErrors",
      "ConfigurationErrors",
      "DeadLettered",
      "Errors",
      "Errors",
      "Throttles",
      "Throttles",
    ]);
    // The functions publish these names in this namespace (lib/aws/metrics.ts).
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "CollectionLagSeconds",
      Namespace: "JumpcloudElastic",
      Dimensions: [{ Name: "service", Value: "jumpcloud-elastic-collector" }],
      Threshold: 1800,
      TreatMissingData: "breaching",
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "CollectionLagSeconds",
      Threshold: 10 * 86_400,
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "DeadLettered",
      Dimensions: [{ Name: "service", Value: "jumpcloud-elastic-mapper" }],
      Statistic: "Sum",
    });
    const topics = new Set(alarms.map((a) => JSON.stringify(a.Properties.AlarmActions)));
    expect(topics.size).toBe(1);
    template.resourceCountIs("AWS::Logs::LogGroup", 3);
    template.allResourcesProperties("AWS::Logs::LogGroup", { RetentionInDays: 90 });
  });

  it("outputs the names an operator needs and a replay command that is never sent twice", () => {
    const outputs = template.findOutputs("*");
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining([
        "CollectorFunction",
        "MapperFunction",
        "CheckpointTable",
        "JumpcloudSecretArn",
        "ElasticsearchSecretArn",
        "ReplayCommand",
      ]),
    );
    expect(JSON.stringify(outputs.ReplayCommand)).toContain("--cli-read-timeout 0");
    expect(stack.templateOptions.description).toMatch(/jumpcloud-elastic/);
  });
});

describe("context", () => {
  it("imports existing secrets, sets the cluster, orgs, schedule and alarms", () => {
    const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jc-AbCdEf";
    const { template } = synth({
      jumpcloudSecretArn: arn,
      jumpcloudOrgIds: `${O1},${O2}`,
      elasticsearchUrl: "https://es.example.com",
      scheduleMinutes: "10",
      reservedConcurrency: "3",
      alarmEmail: "soc@example.com",
      namespace: "prod",
    });
    expect(resources(template, "AWS::SecretsManager::Secret")).toHaveLength(1);
    expect(variables(fn(template, "Collector"))).toMatchObject({
      JUMPCLOUD_SECRET_ARN: arn,
      JUMPCLOUD_ORG_IDS: `${O1},${O2}`,
      LEASE_DURATION: "10m",
    });
    expect(fn(template, "Collector")).toMatchObject({ Timeout: 600, ReservedConcurrentExecutions: 3 });
    expect(variables(fn(template, "Mapper"))).toMatchObject({
      ELASTICSEARCH_URL: "https://es.example.com",
      DATA_STREAM_NAMESPACE: "prod",
    });
    template.hasResourceProperties("AWS::Scheduler::Schedule", { ScheduleExpression: "rate(10 minutes)" });
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "soc@example.com",
    });
  });

  it("ships a local folder of GeoIP databases as a layer, and points the mapper at them", () => {
    const folder = mkdtempSync(join(OUT, "geoip-"));
    for (const file of ["GeoLite2-City-Test.mmdb", "GeoLite2-ASN-Test.mmdb", "LICENSE-MIT"])
      copyFileSync(fixturePath(`geoip/${file}`), join(folder, file));
    const { template } = synth({ geoIpFolder: folder });
    expect(variables(fn(template, "Mapper"))).toMatchObject({
      GEOIP_CITY_DB: "/opt/GeoLite2-City-Test.mmdb",
      GEOIP_ASN_DB: "/opt/GeoLite2-ASN-Test.mmdb",
    });
    template.resourceCountIs("AWS::Lambda::LayerVersion", 1);
    expect(fn(template, "Mapper").Layers).toHaveLength(1);
    expect(fn(template, "Collector").Layers).toBeUndefined();
  });

  it("runs a weekly MaxMind updater with context geoIpUpdater: placeholder secret, S3 objects the mapper reads, alarm, cdk-nag clean", () => {
    const { template, stack } = synth({ geoIpUpdater: "true" });
    const updater = Object.entries(template.findResources("AWS::Lambda::Function")).find(([id]) =>
      id.startsWith("FunctionsGeoIpUpdater"),
    )?.[1] as Resource;
    const resolved = (value: unknown) => JSON.stringify(stack.resolve(value));
    expect(resolved(variables(updater.Properties))).toMatch(
      /"GEOIP_UPDATE_TARGET":\{"Fn::Join":\["",\["s3:\/\/",\{"Ref":"DeadLetters\w+"\},"\/geoip\/"\]\]\}/,
    );
    const mapperEnv = variables(fn(template, "Mapper"));
    expect(mapperEnv.GEOIP).toBe("files");
    expect(mapperEnv.GEOIP_UPDATER).toBe("JumpcloudElastic-geoip-updater");
    expect(resolved(mapperEnv.GEOIP_CITY_DB)).toMatch(/"\/geoip\/GeoLite2-City\.mmdb"/);
    template.hasResourceProperties("AWS::Scheduler::Schedule", { ScheduleExpression: "rate(7 days)" });
    template.hasResourceProperties("AWS::SecretsManager::Secret", {
      SecretString: JSON.stringify({ placeholder: SECRET_PLACEHOLDER }),
      Description: Match.stringLikeRegexp("MaxMind account id and licence key"),
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      AlarmDescription: Match.stringLikeRegexp("MaxMind GeoIP update failed"),
    });
    const policies = JSON.stringify(resources(template, "AWS::IAM::Policy"));
    expect(policies).toContain('"/geoip/*"');
    expect(() => buildApp(newApp({ geoIpUpdater: "true" })).app.synth()).not.toThrow();
  });

  it.each([
    [{ geoIpUpdater: "true", geoIpCityS3: "s3://b/City.mmdb" }, /geoIpUpdater keeps its own databases/],
    [
      { geoIpUpdater: "true", geoIp: "cluster" },
      /geoIpUpdater feeds GEOIP=files: it is of no use with context geoIp=cluster/,
    ],
    [{ geoIp: "maxmind" }, /context geoIp must be `cluster`, `files` or `off`, not "maxmind"/],
  ])("refuses a GeoIP context that cannot work: %j", (context, message) => {
    expect(() => synth(context)).toThrow(message);
  });

  it.each([
    [{ geoIpFolder: "/nope/geoip" }, /context geoIpFolder: cannot read the folder \/nope\/geoip/],
    [{ geoIpFolder: fixturePath("geoip") }, /context geoIpFolder: several City databases .*keep one/],
    [
      { geoIpFolder: fixturePath("elastic-jumpcloud"), geoIpCityS3: "s3://b/City.mmdb" },
      /no City or ASN \.mmdb file[\s\S]*set context geoIpFolder or geoIpCityS3/,
    ],
  ])("refuses an unusable GeoIP folder: %j", (context, message) => {
    expect(() => synth(context)).toThrow(message);
  });

  it("puts only the mapper in a VPC, with the network-interface rights Lambda needs, cdk-nag clean", () => {
    const context = { vpcSubnetIds: "subnet-0a1b2c,subnet-0d4e5f", vpcSecurityGroupIds: "sg-0123abcd" };
    const { template } = synth(context);
    expect(fn(template, "Mapper").VpcConfig).toStrictEqual({
      SubnetIds: ["subnet-0a1b2c", "subnet-0d4e5f"],
      SecurityGroupIds: ["sg-0123abcd"],
    });
    expect(fn(template, "Collector").VpcConfig).toBeUndefined();
    expect(JSON.stringify(resources(template, "AWS::IAM::Policy"))).toContain("ec2:CreateNetworkInterface");
    expect(() => buildApp(newApp(context)).app.synth()).not.toThrow();
  });

  it.each([
    [{ vpcSubnetIds: "subnet-0a1b2c" }, /vpcSubnetIds and vpcSecurityGroupIds go together/],
    [
      { vpcSubnetIds: "subnet-0a1b2c,vpc-1", vpcSecurityGroupIds: "sg-1,default" },
      /"vpc-1" is not a subnet id[\s\S]*"default" is not a security group id/,
    ],
  ])("refuses an incomplete or malformed VPC: %j", (context, message) => {
    expect(() => synth(context)).toThrow(message);
  });

  it("warns, and deploys, when fewer collectors may run at once than orgs + 1 (org runs then queue)", () => {
    const { stack } = synth({ jumpcloudOrgIds: `${O1},${O2},${O3}`, reservedConcurrency: "2" });
    Annotations.fromStack(stack).hasWarning(
      "*",
      Match.stringLikeRegexp(
        "reservedConcurrency \\(2\\) is below the number of orgs \\+ 1 \\(4\\): org runs queue",
      ),
    );
    const { stack: enough } = synth({ jumpcloudOrgIds: `${O1},${O2},${O3}`, reservedConcurrency: "4" });
    Annotations.fromStack(enough).hasNoWarning("*", Match.stringLikeRegexp("reservedConcurrency \\("));
  });

  it("names a context key it does not know (a typo would otherwise be ignored)", () => {
    expect(() => synth({ elasticSearchUrl: "https://es.example.com" })).toThrow(
      /context elasticSearchUrl is not a setting of this stack/,
    );
  });

  it("documents every context key in the deployment reference", () => {
    const readme = readFileSync(`${ROOT}/docs/deploy.md`, "utf8");
    for (const key of CONTEXT_KEYS) expect(readme).toContain(`\`${key}\``);
  });

  it("reports every problem at once, each named by its context key", () => {
    const error = (() => {
      try {
        synth({
          jumpcloudServices: "all,sso",
          elasticsearchUrl: "http://es.example.com",
          jumpcloudSecretArn: "jc",
          scheduleMinutes: "0",
          jumpcloudOrgIds: `${O1},${O2},${O3}`,
          reservedConcurrency: "1",
          namespace: "Prod",
          logRetentionDays: "8",
          lagAlarm: "soon",
          preserveOriginalEvent: "maybe",
        });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    const problems = (error as ConfigurationError).problems.join("\n");
    for (const expected of [
      /context scheduleMinutes must be a whole number from 1 to 60, not "0"/,
      /context logRetentionDays must be one of/,
      /context lagAlarm must be a duration such as 30s, 5m, 2h or 15d, from 1m to 90d, not "soon"/,
      /context preserveOriginalEvent must be true or false, not "maybe"/,
      /context jumpcloudSecretArn must be a Secrets Manager secret ARN/,
      /context jumpcloudServices cannot combine `all`/,
      /context elasticsearchUrl must use https/,
      /context namespace must be lowercase/,
      /context reservedConcurrency must be at least 2 with several orgs/,
    ]) {
      expect(problems).toMatch(expected);
    }
  });
});

describe("cdk-nag (AWS Solutions)", () => {
  const fresh = () => buildApp(newApp());

  it("finds nothing unacknowledged", () => {
    expect(() => fresh().app.synth()).not.toThrow();
  });

  it("would fail the synth on a finding (so the test above can fail)", () => {
    const { app, stack } = fresh();
    new Bucket(stack as Stack, "Careless");
    expect(() => app.synth()).toThrow(/AwsSolutions-S/);
  });
});
