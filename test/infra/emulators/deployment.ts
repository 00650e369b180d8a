import { cpSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startDynalite } from "../../helpers/dynalite.ts";
import { LambdaEmulator } from "./lambda.ts";
import { type Invocation, LambdaRuntime, type LocalFunction } from "./runtime.ts";
import { S3Emulator } from "./s3.ts";
import { SecretsManagerEmulator } from "./secrets-manager.ts";
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

// Where the runtime's AWS SDK comes from: the repository's, standing in for the one Lambda ships.
const NODE_MODULES = fileURLToPath(new URL("../../../node_modules", import.meta.url));

// How the dynalite helper keys its table: `pk`, a string.
const PK_STRING = JSON.stringify([
  [{ AttributeName: "pk", KeyType: "HASH" }],
  [{ AttributeName: "pk", AttributeType: "S" }],
]);

/** What Lambda gives every function besides its own variables: region, role credentials (fake here). */
function sandbox(root: string, endpoints: Record<string, string>): Record<string, string> {
  return {
    AWS_REGION: LOCAL_ACCOUNT.region,
    AWS_DEFAULT_REGION: LOCAL_ACCOUNT.region,
    AWS_ACCESS_KEY_ID: "ASIALOCALTESTKEY0000",
    AWS_SECRET_ACCESS_KEY: "local-test-secret",
    AWS_SESSION_TOKEN: "local-test-session",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    // No profile, config file or instance metadata can add settings or credentials.
    AWS_CONFIG_FILE: join(root, "no-aws-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(root, "no-aws-credentials"),
    AWS_EC2_METADATA_DISABLED: "true",
    ...endpoints,
  };
}

/**
 * The synthesized stack deployed onto local emulations: its table in dynalite, its secrets
 * (holding the template's values), its buckets, and its functions behind a Lambda Invoke API.
 */
export class LocalDeployment {
  readonly secrets = new SecretsManagerEmulator();
  readonly s3: S3Emulator;
  readonly lambda: LambdaEmulator;
  private readonly names: Map<string, string>;
  private readonly functions = new Map<string, LocalFunction>();
  private table: Awaited<ReturnType<typeof startDynalite>> | undefined;
  private runtime: LambdaRuntime | undefined;
  /** The endpoint variables the functions get: `AWS_ENDPOINT_URL_<SERVICE>` → URL. */
  readonly endpoints: Record<string, string> = {};

  private constructor(
    readonly stack: SynthesizedStack,
    private readonly root: string,
  ) {
    this.names = localNames(stack);
    this.s3 = new S3Emulator(new Set(resourcesOf(stack, "AWS::S3::Bucket").map(([id]) => this.ref(id))));
    this.lambda = new LambdaEmulator(this.functions);
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

  /** A deployed function, by logical id. */
  fn(logicalId: string): LocalFunction {
    const fn = this.functions.get(this.ref(logicalId));
    if (!fn) throw new Error(`${logicalId} is not a function`);
    return fn;
  }

  /** Invokes a function directly (as `aws lambda invoke` would), in a fresh process. */
  invoke(logicalId: string, event: unknown): Promise<Invocation> {
    return (this.runtime as LambdaRuntime).invoke(this.fn(logicalId), event);
  }

  /** The checkpoint table's DynamoDB client. */
  get dynamodb() {
    if (!this.table) throw new Error("not deployed");
    return this.table.client;
  }

  async stop(): Promise<void> {
    this.runtime?.stop();
    await Promise.allSettled([this.lambda.stop(), this.secrets.stop(), this.s3.stop(), this.table?.stop()]);
  }

  private async start(overrides: Overrides): Promise<void> {
    this.createSecrets();
    Object.assign(this.endpoints, {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: await this.secrets.start(),
      // An IP address, not localhost: the SDK's rules then address buckets by path, not by host
      // name (it reads no variable for forcePathStyle).
      AWS_ENDPOINT_URL_S3: await this.s3.start(),
      AWS_ENDPOINT_URL_LAMBDA: await this.lambda.start(),
      AWS_ENDPOINT_URL_DYNAMODB: await this.startTable(),
    });
    this.runtime = new LambdaRuntime(this.root, NODE_MODULES, sandbox(this.root, this.endpoints));
    this.lambda.attach(this.runtime);
    for (const [id] of resourcesOf(this.stack, "AWS::Lambda::Function"))
      this.install(id, overrides[id] ?? {});
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
    this.functions.set(name, {
      name,
      dir,
      handler: String(props.Handler),
      environment: { ...environment, ...override },
      timeoutSeconds: Number(props.Timeout ?? 3),
      memoryMb: Number(props.MemorySize ?? 128),
    });
  }
}
