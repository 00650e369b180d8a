import { randomUUID } from "node:crypto";
import { cpSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startDynalite } from "../../helpers/dynalite.ts";
import { lambdaNode } from "../../helpers/lambda-node.ts";
import { type Authorize, type Caller, Callers, type Request } from "./access.ts";
import { DynamoDbGate } from "./dynamodb.ts";
import { IamPolicies } from "./iam.ts";
import { type AsyncConfig, type InvokeRecord, LambdaEmulator } from "./lambda.ts";
import { type Invocation, LambdaRuntime, type LocalFunction } from "./runtime.ts";
import { S3Emulator } from "./s3.ts";
import { SecretsManagerEmulator } from "./secrets-manager.ts";
import { SqsQueues } from "./sqs.ts";
import {
  assetDir,
  LOCAL_ACCOUNT,
  localNames,
  resolveEnvironment,
  resourcesOf,
  type SynthesizedStack,
} from "./stack-template.ts";

/** Variables a test changes, by function logical id: only variables the template sets. */
export type Overrides = Record<string, Record<string, string>>;

/** A call IAM refused: who, what, on what. */
export interface Denial {
  caller: string;
  action: string;
  resource: string;
}

// Where the runtime's AWS SDK comes from: the repository's, standing in for the one Lambda ships.
const NODE_MODULES = fileURLToPath(new URL("../../../node_modules", import.meta.url));

// How the dynalite helper keys its table: `pk`, a string.
const PK_STRING = JSON.stringify([
  [{ AttributeName: "pk", KeyType: "HASH" }],
  [{ AttributeName: "pk", AttributeType: "S" }],
]);

/** What Lambda gives every function besides its own variables and credentials: the region, no profile. */
function sandbox(root: string, endpoints: Record<string, string>): Record<string, string> {
  return {
    AWS_REGION: LOCAL_ACCOUNT.region,
    AWS_DEFAULT_REGION: LOCAL_ACCOUNT.region,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    // No profile, config file or instance metadata can add settings or credentials.
    AWS_CONFIG_FILE: join(root, "no-aws-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(root, "no-aws-credentials"),
    AWS_EC2_METADATA_DISABLED: "true",
    ...endpoints,
  };
}

const literalOr = (value: unknown, fallback: number) => (typeof value === "number" ? value : fallback);

/**
 * The synthesized stack deployed onto local emulations, each AWS call a function makes checked
 * against the identity policies of that function's role in the template and refused as AWS refuses
 * it: its table (dynalite behind an IAM gate), its secrets (holding the template's values), its
 * bucket, its queues, its functions behind a Lambda Invoke API with their reserved concurrency and
 * asynchronous-invocation settings, and its schedule and custom resource as the services run them.
 */
export class LocalDeployment {
  readonly callers = new Callers();
  readonly iam: IamPolicies;
  readonly denials: Denial[] = [];
  readonly secrets: SecretsManagerEmulator;
  readonly s3: S3Emulator;
  readonly sqs: SqsQueues;
  readonly lambda: LambdaEmulator;
  dynamodbGate!: DynamoDbGate;
  private readonly names: Map<string, string>;
  private readonly functions = new Map<string, LocalFunction>();
  private table: Awaited<ReturnType<typeof startDynalite>> | undefined;
  private runtime: LambdaRuntime | undefined;
  /** The endpoint variables the functions get: `AWS_ENDPOINT_URL_<SERVICE>` → URL. */
  readonly endpoints: Record<string, string> = {};
  /** The Node that runs the bundles, and why it is not the runtime's major when it is not. */
  readonly node = lambdaNode();

  private constructor(
    readonly stack: SynthesizedStack,
    private readonly root: string,
  ) {
    this.names = localNames(stack);
    this.iam = new IamPolicies(stack, this.names);
    const authorize: Authorize = (caller, request) => this.authorize(caller, request);
    this.secrets = new SecretsManagerEmulator(this.callers, authorize);
    const buckets = resourcesOf(stack, "AWS::S3::Bucket").map(([id]) => this.ref(id));
    this.s3 = new S3Emulator(new Set(buckets), this.callers, authorize);
    const queues = resourcesOf(stack, "AWS::SQS::Queue").map(([id]) => this.arn(id));
    this.sqs = new SqsQueues(queues, authorize);
    this.lambda = new LambdaEmulator(
      this.functions,
      this.callers,
      authorize,
      (fn) => this.arn(fn.logicalId),
      (fn) => this.asyncConfig(fn),
      (caller, destination, record) => this.sqs.send(caller, destination, record),
    );
  }

  /** Deploys `stack`, its function code unpacked under `root`; stops what started if that fails. */
  static async deploy(stack: SynthesizedStack, root: string, overrides: Overrides): Promise<LocalDeployment> {
    const deployment = new LocalDeployment(stack, root);
    try {
      await deployment.start(overrides);
    } catch (error) {
      await deployment.stop();
      throw error;
    }
    return deployment;
  }

  /** What `Ref` gives for a resource here. */
  ref(logicalId: string): string {
    const value = this.names.get(`Ref:${logicalId}`);
    if (value === undefined) throw new Error(`${logicalId} is not emulated here`);
    return value;
  }

  /**
   * Changes variables the template sets on a function, as a deploy that changed its context
   * would: the function's warm environments end, so the next invocation starts with them.
   */
  update(logicalId: string, variables: Record<string, string>): void {
    const fn = this.fn(logicalId);
    const unknown = Object.keys(variables).filter((key) => !(key in fn.environment));
    if (unknown.length > 0) throw new Error(`${logicalId}: the template sets no ${unknown.join(", ")}`);
    Object.assign(fn.environment, variables);
    this.runtime?.reset(fn.name);
  }

  /** What `Fn::GetAtt [id, Arn]` gives for a resource here. */
  arn(logicalId: string): string {
    const value = this.names.get(`${logicalId}.Arn`);
    if (value === undefined) throw new Error(`${logicalId} has no ARN here`);
    return value;
  }

  /** A deployed function, by logical id. */
  fn(logicalId: string): LocalFunction {
    const fn = this.functions.get(this.ref(logicalId));
    if (!fn) throw new Error(`${logicalId} is not a function`);
    return fn;
  }

  /** Invokes a function as an operator would (`aws lambda invoke`, RequestResponse), waiting for it. */
  invoke(logicalId: string, event: unknown): Promise<Invocation> {
    return this.lambda.invokeAs(this.fn(logicalId), event, "operator");
  }

  /**
   * One firing of each of the stack's schedules, as EventBridge Scheduler does it: with the
   * target's role (checked), the target's Input or else the default notification, asynchronously.
   */
  fireSchedule(): InvokeRecord[] {
    return resourcesOf(this.stack, "AWS::Scheduler::Schedule").map(([id, schedule]) => {
      const target = schedule.Properties?.Target as { Arn?: unknown; RoleArn?: unknown; Input?: unknown };
      const fnId = this.getAttArn(target.Arn, `${id} Target.Arn`);
      const roleId = this.getAttArn(target.RoleArn, `${id} Target.RoleArn`);
      const fn = this.fn(fnId);
      const caller: Caller = { kind: "role", roleId, session: "scheduler" };
      const denied = this.authorize(caller, { action: "lambda:InvokeFunction", resources: [this.arn(fnId)] });
      if (denied) throw new Error(`EventBridge Scheduler cannot invoke ${fn.name}: ${denied}`);
      const payload =
        typeof target.Input === "string"
          ? JSON.parse(target.Input)
          : {
              version: "0",
              id: randomUUID(),
              "detail-type": "Scheduled Event",
              source: "aws.scheduler",
              account: LOCAL_ACCOUNT.account,
              time: new Date().toISOString(),
              region: LOCAL_ACCOUNT.region,
              resources: [this.arn(id)],
              detail: "{}",
            };
      return this.lambda.enqueue(fn, payload, "scheduler");
    });
  }

  /**
   * What CloudFormation does for a custom resource: its ServiceToken (the Provider framework's
   * function) invokes the user's handler, with the framework role's rights (checked).
   */
  async customResource(logicalId: string, requestType: "Create" | "Update" | "Delete"): Promise<Invocation> {
    const resource = this.stack.resources[logicalId];
    const { ServiceToken, ...properties } = resource?.Properties ?? {};
    const providerId = this.getAttArn(ServiceToken, `${logicalId} ServiceToken`);
    const provider = this.stack.resources[providerId]?.Properties ?? {};
    const handlerArn = resolveEnvironment(this.stack, providerId, this.names).USER_ON_EVENT_FUNCTION_ARN;
    const handler = [...this.functions.values()].find((f) => this.arn(f.logicalId) === handlerArn);
    if (!handler) throw new Error(`${providerId}: USER_ON_EVENT_FUNCTION_ARN names no function here`);
    const roleId = this.getAttArn(provider.Role, `${providerId} Role`);
    const caller: Caller = { kind: "role", roleId, session: this.ref(providerId) };
    const denied = this.authorize(caller, {
      action: "lambda:InvokeFunction",
      resources: [this.arn(handler.logicalId)],
    });
    if (denied) throw new Error(`the Provider framework cannot invoke ${handler.name}: ${denied}`);
    return this.invoke(handler.logicalId, {
      RequestType: requestType,
      ServiceToken: this.arn(providerId),
      ResponseURL: "https://cloudformation-custom-resource-response.example/",
      StackId: `arn:aws:cloudformation:${LOCAL_ACCOUNT.region}:${LOCAL_ACCOUNT.account}:stack/${this.stack.stackName}/${randomUUID()}`,
      RequestId: randomUUID(),
      LogicalResourceId: logicalId,
      ResourceType: resource?.Type,
      ResourceProperties: { ServiceToken: this.arn(providerId), ...properties },
    });
  }

  /** The checkpoint table's DynamoDB client (the operator's, past the IAM gate). */
  get dynamodb() {
    if (!this.table) throw new Error("not deployed");
    return this.table.client;
  }

  async stop(): Promise<void> {
    this.runtime?.stop();
    await Promise.allSettled([
      this.lambda.stop(),
      this.secrets.stop(),
      this.s3.stop(),
      this.dynamodbGate?.stop(),
      this.table?.stop(),
    ]);
  }

  // Each resource of a call must be allowed; the first refusal is AWS's answer.
  private authorize(caller: Caller | undefined, request: Request): string | undefined {
    if (caller?.kind === "operator") return undefined;
    if (!caller) return "The security token included in the request is invalid.";
    for (const resource of request.resources) {
      const decision = this.iam.evaluate(
        caller.roleId,
        request.action,
        resource,
        request.context,
        caller.session,
      );
      if (!decision.allowed) {
        if (!request.probe) this.denials.push({ caller: caller.session, action: request.action, resource });
        return decision.message;
      }
    }
    return undefined;
  }

  private getAttArn(value: unknown, where: string): string {
    const att = (value as { "Fn::GetAtt"?: unknown } | undefined)?.["Fn::GetAtt"];
    if (Array.isArray(att) && att[1] === "Arn" && typeof att[0] === "string") return att[0];
    throw new Error(`${where}: ${JSON.stringify(value)} is not a resource's Arn`);
  }

  private asyncConfig(fn: LocalFunction): AsyncConfig {
    const config = resourcesOf(this.stack, "AWS::Lambda::EventInvokeConfig").find(
      ([, r]) => (r.Properties?.FunctionName as { Ref?: string } | undefined)?.Ref === fn.logicalId,
    )?.[1]?.Properties;
    const destination = (config?.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)
      ?.OnFailure?.Destination;
    return {
      // Lambda's defaults without a config: 2 retries, 6 hours.
      maximumRetryAttempts: literalOr(config?.MaximumRetryAttempts, 2),
      maximumEventAgeSeconds: literalOr(config?.MaximumEventAgeInSeconds, 21_600),
      ...(destination !== undefined && {
        onFailure: this.arn(this.getAttArn(destination, `${fn.logicalId} OnFailure`)),
      }),
    };
  }

  private async start(overrides: Overrides): Promise<void> {
    this.createSecrets();
    const tableArn = (table: string) =>
      `arn:aws:dynamodb:${LOCAL_ACCOUNT.region}:${LOCAL_ACCOUNT.account}:table/${table}`;
    const dynalite = await this.startTable();
    this.dynamodbGate = new DynamoDbGate(dynalite, this.callers, (c, r) => this.authorize(c, r), tableArn);
    Object.assign(this.endpoints, {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: await this.secrets.start(),
      // An IP address, not localhost: the SDK's rules then address buckets by path, not by host
      // name (it reads no variable for forcePathStyle).
      AWS_ENDPOINT_URL_S3: await this.s3.start(),
      AWS_ENDPOINT_URL_LAMBDA: await this.lambda.start(),
      AWS_ENDPOINT_URL_DYNAMODB: await this.dynamodbGate.start(),
    });
    this.runtime = new LambdaRuntime(
      this.root,
      this.node.path,
      NODE_MODULES,
      sandbox(this.root, this.endpoints),
    );
    this.lambda.attach(this.runtime);
    for (const [id] of resourcesOf(this.stack, "AWS::Lambda::Function")) {
      // The Provider framework's own function is CDK's (it needs client-sfn, which Lambda ships):
      // customResource() plays its part.
      if (this.stack.resources[id]?.Properties?.Handler === "framework.onEvent") continue;
      this.install(id, overrides[id] ?? {});
    }
    const unknown = Object.keys(overrides).filter(
      (id) => !this.functions.has(this.names.get(`Ref:${id}`) ?? ""),
    );
    if (unknown.length > 0) throw new Error(`overrides for functions the stack does not have: ${unknown}`);
  }

  private createSecrets(): void {
    for (const [id, resource] of resourcesOf(this.stack, "AWS::SecretsManager::Secret")) {
      const value = resource.Properties?.SecretString;
      if (typeof value !== "string") throw new Error(`${id}: SecretString is not a literal`);
      this.secrets.create(this.ref(id), value);
    }
  }

  /** Starts dynalite with the stack's one table (the helper creates it keyed by `pk`, a string). */
  private async startTable(): Promise<string> {
    const tables = resourcesOf(this.stack, "AWS::DynamoDB::Table");
    const [id, table] = tables[0] ?? [];
    if (tables.length !== 1 || !id) throw new Error(`expected one table, the template has ${tables.length}`);
    const keys = JSON.stringify([table?.Properties?.KeySchema, table?.Properties?.AttributeDefinitions]);
    if (keys !== PK_STRING)
      throw new Error(`${id}: the local table is keyed by ${PK_STRING}, the template's by ${keys}`);
    this.table = await startDynalite(this.ref(id));
    const endpoint = await this.table.client.config.endpoint?.();
    if (!endpoint) throw new Error("dynalite's client has no endpoint");
    return `${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`;
  }

  /** Unpacks a function's asset (copied out of the synth output) with its resolved environment. */
  private install(id: string, override: Record<string, string>): void {
    const props = this.stack.resources[id]?.Properties ?? {};
    const name = this.ref(id);
    const environment = resolveEnvironment(this.stack, id, this.names);
    const missing = Object.keys(override).filter((key) => !(key in environment));
    if (missing.length > 0) throw new Error(`${id}: the template sets no ${missing.join(", ")} to override`);
    const dir = join(this.root, "functions", name);
    cpSync(assetDir(this.stack, id), dir, { recursive: true });
    const roleId = this.iam.roleOfFunction(id);
    this.functions.set(name, {
      name,
      logicalId: id,
      roleId,
      runtime: String(props.Runtime),
      dir,
      handler: String(props.Handler),
      environment: { ...environment, ...override },
      // The role's session credentials, as Lambda gives them: the emulators know whose they are.
      credentials: {
        AWS_ACCESS_KEY_ID: this.callers.role(roleId, name),
        AWS_SECRET_ACCESS_KEY: "local-test-secret",
        AWS_SESSION_TOKEN: "local-test-session",
      },
      timeoutSeconds: Number(props.Timeout ?? 3),
      memoryMb: Number(props.MemorySize ?? 128),
      ...(typeof props.ReservedConcurrentExecutions === "number" && {
        reservedConcurrency: props.ReservedConcurrentExecutions,
      }),
    });
  }
}
