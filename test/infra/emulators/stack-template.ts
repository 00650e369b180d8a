import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { App, type CfnElement } from "aws-cdk-lib";
import { buildApp } from "../../../infra/app.ts";

type Json = Record<string, unknown>;

/** A resource of the synthesized template. */
export interface Resource {
  Type: string;
  Properties?: Json;
  Metadata?: Json;
}

/** The synthesized stack: its template, its assets, and the functions' logical ids. */
export interface SynthesizedStack {
  outdir: string;
  stackName: string;
  resources: Record<string, Resource>;
  /** The template's Outputs, by name. */
  outputs: Record<string, { Value: unknown }>;
  /** Asset hash → directory under `outdir`, from the asset manifest (what `cdk deploy` uploads). */
  assets: Record<string, string>;
  functionIds: { collector: string; mapper: string };
}

/** The account and region the local names and ARNs are made in. */
export const LOCAL_ACCOUNT = { account: "123456789012", region: "us-east-1" } as const;

/** Synthesizes the CDK app for real (bundling included) into `outdir`. */
export function synthesize(outdir: string, context: Record<string, string>): SynthesizedStack {
  const { app, stack } = buildApp(new App({ outdir, context }));
  const artifact = app.synth().getStackByName(stack.stackName);
  const manifest = JSON.parse(readFileSync(join(outdir, `${stack.artifactId}.assets.json`), "utf8")) as {
    files: Record<string, { source: { path: string } }>;
  };
  const idOf = (fn: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(fn.node.defaultChild as CfnElement);
  return {
    outdir,
    stackName: stack.stackName,
    resources: (artifact.template as { Resources: Record<string, Resource> }).Resources,
    outputs: (artifact.template as { Outputs?: Record<string, { Value: unknown }> }).Outputs ?? {},
    assets: Object.fromEntries(
      Object.entries(manifest.files).map(([hash, file]) => [hash, file.source.path]),
    ),
    functionIds: { collector: idOf(stack.functions.collector), mapper: idOf(stack.functions.mapper) },
  };
}

/** The resources of one type, by logical id. */
export function resourcesOf(stack: SynthesizedStack, type: string): [string, Resource][] {
  return Object.entries(stack.resources).filter(([, r]) => r.Type === type);
}

/**
 * A function's bundle directory: `aws:asset:path` when the CLI asked for asset metadata,
 * otherwise the asset its `Code.S3Key` names in the manifest.
 */
export function assetDir(stack: SynthesizedStack, logicalId: string): string {
  const resource = stack.resources[logicalId];
  const fromMetadata = resource?.Metadata?.["aws:asset:path"];
  if (typeof fromMetadata === "string") return join(stack.outdir, fromMetadata);
  const code = resource?.Properties?.Code as { S3Key?: unknown } | undefined;
  const hash = typeof code?.S3Key === "string" ? code.S3Key.replace(/\.zip$/, "") : "";
  const path = stack.assets[hash];
  if (path === undefined) throw new Error(`${logicalId}: no asset for its Code ${JSON.stringify(code)}`);
  return join(stack.outdir, path);
}

// CloudFormation appends a random suffix to names it generates: here a stable one.
const suffix = (id: string, length: number) =>
  createHash("sha256").update(id).digest("base64url").replace(/[-_]/g, "x").slice(0, length);

function literal(value: unknown, fallback: string): string {
  return typeof value === "string" ? value : fallback;
}

/** What `Ref` and `Fn::GetAtt .Arn` give locally (for functions and policies), keyed `Ref:Id` and `Id.Arn`. */
export function localNames(stack: SynthesizedStack): Map<string, string> {
  const { account, region } = LOCAL_ACCOUNT;
  const names = new Map<string, string>();
  const add = (id: string, ref: string, arn: string) => names.set(`Ref:${id}`, ref).set(`${id}.Arn`, arn);
  for (const [id, r] of Object.entries(stack.resources)) {
    const generated = `${stack.stackName}-${id}-${suffix(id, 12)}`;
    const p = r.Properties ?? {};
    if (r.Type === "AWS::DynamoDB::Table") {
      const name = literal(p.TableName, generated);
      add(id, name, `arn:aws:dynamodb:${region}:${account}:table/${name}`);
    } else if (r.Type === "AWS::SecretsManager::Secret") {
      const arn = `arn:aws:secretsmanager:${region}:${account}:secret:${literal(p.Name, id)}-${suffix(id, 6)}`;
      add(id, arn, arn);
    } else if (r.Type === "AWS::S3::Bucket") {
      const name = literal(p.BucketName, generated).toLowerCase();
      add(id, name, `arn:aws:s3:::${name}`);
    } else if (r.Type === "AWS::Lambda::Function") {
      const name = literal(p.FunctionName, generated);
      add(id, name, `arn:aws:lambda:${region}:${account}:function:${name}`);
    } else if (r.Type === "AWS::SQS::Queue") {
      const name = literal(p.QueueName, p.FifoQueue === true ? `${generated}.fifo` : generated);
      add(
        id,
        `https://sqs.${region}.amazonaws.com/${account}/${name}`,
        `arn:aws:sqs:${region}:${account}:${name}`,
      );
    } else if (r.Type === "AWS::Logs::LogGroup") {
      const name = literal(p.LogGroupName, generated);
      add(id, name, `arn:aws:logs:${region}:${account}:log-group:${name}:*`);
    } else if (r.Type === "AWS::IAM::Role") {
      const name = literal(p.RoleName, generated);
      add(id, name, `arn:aws:iam::${account}:role${literal(p.Path, "/")}${name}`);
    } else if (r.Type === "AWS::IAM::ManagedPolicy") {
      const name = literal(p.ManagedPolicyName, generated);
      names.set(`Ref:${id}`, `arn:aws:iam::${account}:policy${literal(p.Path, "/")}${name}`);
    } else if (r.Type === "AWS::SNS::Topic") {
      const name = literal(p.TopicName, p.FifoTopic === true ? `${generated}.fifo` : generated);
      names.set(`Ref:${id}`, `arn:aws:sns:${region}:${account}:${name}`);
    } else if (r.Type === "AWS::Scheduler::Schedule") {
      const name = literal(p.Name, generated);
      add(
        id,
        name,
        `arn:aws:scheduler:${region}:${account}:schedule/${literal(p.GroupName, "default")}/${name}`,
      );
    }
  }
  return names;
}

function resolveValue(value: unknown, names: ReadonlyMap<string, string>): string | undefined {
  if (typeof value === "string") return value;
  const {
    Ref: ref,
    "Fn::GetAtt": att,
    "Fn::Join": join,
  } = (value ?? {}) as { Ref?: unknown; "Fn::GetAtt"?: unknown; "Fn::Join"?: unknown };
  if (typeof ref === "string") return names.get(`Ref:${ref}`);
  if (Array.isArray(att) && att.length === 2) return names.get(`${att[0]}.${att[1]}`);
  // `s3://${bucket}/geoip/...`: a join of literals and references, each resolved (or nothing).
  if (Array.isArray(join) && typeof join[0] === "string" && Array.isArray(join[1])) {
    const parts = (join[1] as unknown[]).map((part) => resolveValue(part, names));
    return parts.every((p) => p !== undefined) ? parts.join(join[0]) : undefined;
  }
  return undefined;
}

/** A function's `Environment.Variables` with every reference resolved locally; throws naming any that is not. */
export function resolveEnvironment(
  stack: SynthesizedStack,
  logicalId: string,
  names: ReadonlyMap<string, string>,
): Record<string, string> {
  const variables = (stack.resources[logicalId]?.Properties?.Environment as { Variables?: Json } | undefined)
    ?.Variables;
  return Object.fromEntries(
    Object.entries(variables ?? {}).map(([key, value]) => {
      const resolved = resolveValue(value, names);
      if (resolved === undefined)
        throw new Error(`${logicalId}: ${key} = ${JSON.stringify(value)} refers to nothing emulated here`);
      return [key, resolved];
    }),
  );
}
