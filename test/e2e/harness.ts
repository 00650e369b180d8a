import type { Client } from "@elastic/elasticsearch";
import {
  type CollectorDependencies,
  type CollectorRequest,
  type CollectorResponse,
  makeCollectorHandler,
} from "../../functions/collector/handler.ts";
import {
  buildMapperDependencies,
  cachedDependencies,
  type MapperDependencies,
  makeMapperHandler,
} from "../../functions/mapper/handler.ts";
import { SECRET_PLACEHOLDER, type SecretReader, SecretsManagerSecrets } from "../../lib/aws/secrets.ts";
import type { Checkpoint, CheckpointStore, CheckpointUpdate } from "../../lib/collect/checkpoint.ts";
import { checkpointKey } from "../../lib/collect/collector.ts";
import type { AwsClients } from "../../lib/compose/aws.ts";
import { createCheckpointStore, createLambdaDelivery } from "../../lib/compose/collect.ts";
import { createEventSource } from "../../lib/compose/jumpcloud.ts";
import { FINGERPRINT_FIELDS, fingerprint } from "../../lib/ecs/fingerprint.ts";
import { EcsMapper } from "../../lib/ecs/mapper.ts";
import { ElasticsearchDocumentSink, type ElasticsearchSinkOptions } from "../../lib/elasticsearch/sink.ts";
import { describeError, type Logger } from "../../lib/logger.ts";
import { sleep } from "../../lib/retry.ts";
import { type Environment, loadSettings } from "../../lib/settings/load.ts";
import { ElasticsearchEmulator, type EsEmulatorOptions } from "../../simulators/elasticsearch/server.ts";
import { Random } from "../../simulators/jumpcloud/random.ts";
import {
  JumpcloudSimulator,
  type SimulatedKey,
  type SimulatorOptions,
} from "../../simulators/jumpcloud/server.ts";
import { type GeneratedEvent, generateTenantEvents } from "../../simulators/jumpcloud/tenant.ts";
import { memoryS3 } from "../helpers/aws.ts";
import { startDynalite } from "../helpers/dynalite.ts";
import { type InvokeCaller, MapperFunction, mutableSecrets } from "./aws-doubles.ts";
import {
  CursorLedger,
  checkOutcome,
  findSecrets,
  type Outcome,
  type StoredCopy,
  type TruthEvent,
} from "./invariants.ts";

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
/** The fake clock's start: the first scheduled run happens one schedule interval later. */
export const T0 = Date.parse("2026-03-10T12:00:00Z");
/** EventBridge Scheduler's interval: the fake clock moves this much between scheduled runs. */
export const SCHEDULE_MS = 5 * MINUTE;
export const JUMPCLOUD_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jumpcloud-e2e-AbCdEf";
export const ES_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:elasticsearch-e2e-AbCdEf";
const MAPPER_NAME = "jumpcloud-elastic-mapper";
// Recognisable credentials: the secret scan looks for them everywhere.
export const JUMPCLOUD_KEY = "jc-e2e-key-0001";
const ES_KEY = "es-e2e-key-0001";
const SERVICE_ACCOUNT = { clientId: "e2e-service-account", clientSecret: "e2e-client-secret-0001" };
/** The collector Lambda's timeout: what the remaining-time function starts from. */
const LAMBDA_BUDGET_MS = 900_000;
const SAFETY_MARGIN_MS = 10_000;
/** The data stream every document goes to. */
export const STREAM = "logs-jumpcloud.events-default";
const BUCKET = "jumpcloud-elastic-dead-letters";
/** Collector settings every scenario starts from (small pages: many pages, many cut-off points). */
const HARNESS_SETTINGS: Environment = {
  JUMPCLOUD_TIMEOUT: "1s",
  PAGE_LIMIT: "50",
  INITIAL_LOOKBACK: "6h",
  SAFETY_MARGIN: `${SAFETY_MARGIN_MS / 1000}s`,
};

type MapperHandler = ReturnType<typeof makeMapperHandler>;

/** One org of the simulated tenant and its events. */
export interface OrgSpec {
  orgId: string;
  events: GeneratedEvent[];
}

/** A scenario's world: tenant, settings on top of the harness's, and the cluster's behaviour. */
export interface WorldOptions {
  orgs: OrgSpec[];
  /** Collector variables on top of the harness's (the settings schema reads them). */
  collectorEnv?: Environment;
  mapperEnv?: Environment;
  ingestionDelay?: SimulatorOptions["ingestionDelay"];
  /** How the emulated cluster behaves (refused documents, size limit, latency). */
  elasticsearch?: Omit<EsEmulatorOptions, "authorizations">;
  /** Orgs the JumpCloud key may read (default: every org). */
  keyOrgs?: string[];
  /** The secret holds a service account's client credentials instead of an API key. */
  serviceAccount?: { tokenLifetimeSeconds: number };
  /** Seeds the simulator's ids and every retry's jitter. */
  seed?: number;
}

/** How one invocation's Lambda ends early: out of time after some pages, or killed during one. */
export interface RunOptions {
  /** The remaining time drops below the safety margin once this many pages were handed over. */
  cutAfterPages?: number;
  /** The instance dies while handing over page `killAfterPages + 1`: no answer, no further I/O. */
  killAfterPages?: number;
}

/** One schedule tick: how its invocations end early, and what else is invoked at the same time. */
export interface TickPlan extends RunOptions {
  alongside?: CollectorRequest[];
}

/** One collector invocation and what became of it. */
export interface RunRecord {
  request: CollectorRequest;
  clock: number;
  response?: CollectorResponse;
  error?: Error;
  killed: boolean;
}

/** Generated events of one org, `count` of them between `from` and `to` (epoch ms). */
export function tenant(
  orgId: string,
  count: number,
  seed: number,
  from = T0 - 5 * HOUR,
  to = T0 - 2 * MINUTE,
) {
  return generateTenantEvents({ seed, start: from, end: to, count, organization: orgId });
}

const idMapper = new EcsMapper();
/** The `_id` the project gives a raw event (the integration's fingerprint). */
export function idOf(raw: unknown): string {
  const { id, timestamp } = (raw ?? {}) as Record<string, unknown>;
  // The fingerprint alone where mapping cannot change its inputs: every event is checked often.
  if (typeof id === "string" && id !== "" && typeof timestamp === "string" && timestamp !== "")
    return fingerprint({ id, timestamp }, FINGERPRINT_FIELDS) as string;
  return idMapper.mapValue(raw).id;
}

// Retry waits are real but shortened: the policy (attempts, budget, Retry-After) is production's.
const shortSleep = (ms: number, signal?: AbortSignal) => sleep(Math.min(ms, 2), signal);

/** A capturing logger: scenarios read what was logged, and failing chaos seeds print it. */
export function captureLogger(lines: { level: string; message: string; fields?: unknown }[]): Logger {
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    lines.push({ level, message, fields });
  };
  return { debug: () => {}, info: log("info"), warn: log("warn"), error: log("error") };
}

/**
 * One collector Lambda instance: built once at its cold start, one invocation at a time; its
 * remaining time and its death are what scenarios control.
 */
class CollectorInstance implements InvokeCaller {
  busy = false;
  dead = false;
  key: string | undefined;
  private deliveries = 0;
  private options: RunOptions = {};
  readonly handler: ReturnType<typeof makeCollectorHandler>;
  secrets: SecretReader;

  constructor(private readonly world: World) {
    this.secrets = new SecretsManagerSecrets(world.secrets.client);
    let deps: Promise<CollectorDependencies> | undefined;
    // As the Lambda module does: a failed cold start is tried again by the next invocation.
    this.handler = makeCollectorHandler(() => {
      deps ??= world.buildCollector(this).catch((error: unknown) => {
        deps = undefined;
        throw error;
      });
      return deps;
    });
  }

  start(options: RunOptions): void {
    this.deliveries = 0;
    this.key = undefined;
    this.options = options;
  }

  beforeInvoke(): void {
    this.deliveries++;
    const { killAfterPages } = this.options;
    if (killAfterPages !== undefined && this.deliveries > killAfterPages) this.dead = true;
  }

  acknowledged(events: unknown[]): void {
    if (this.key !== undefined) this.world.ledger.acknowledge(this.key, events.map(idOf));
  }

  isDead(): boolean {
    return this.dead;
  }

  remainingMs = (): number => {
    const { cutAfterPages } = this.options;
    return cutAfterPages !== undefined && this.deliveries >= cutAfterPages
      ? SAFETY_MARGIN_MS - 1
      : LAMBDA_BUDGET_MS;
  };

  /** `fetch` of this instance: nothing leaves a dead one. */
  fetch = ((input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) =>
    this.dead
      ? Promise.reject(new TypeError("the Lambda instance is gone"))
      : globalThis.fetch(input, init)) as typeof fetch;

  alive(): void {
    if (this.dead) throw new Error("the Lambda instance is gone");
  }
}

/** The checkpoint store of one instance, recording every acquire and save for the cursor checks. */
class RecordingStore implements CheckpointStore {
  constructor(
    private readonly inner: CheckpointStore,
    private readonly instance: CollectorInstance,
    private readonly world: World,
  ) {}

  async acquire(key: string, owner: string, leaseMs: number, now: number) {
    this.instance.alive();
    const taken = await this.inner.acquire(key, owner, leaseMs, now);
    if (taken) {
      this.instance.key = key;
      this.world.ledger.onAcquire(key, now);
    }
    return taken;
  }

  async renew(checkpoint: Checkpoint, leaseMs: number, now: number) {
    this.instance.alive();
    return this.inner.renew(checkpoint, leaseMs, now);
  }

  async save(checkpoint: Checkpoint, update: CheckpointUpdate) {
    this.instance.alive();
    const saved = await this.inner.save(checkpoint, update);
    this.world.ledger.onSave(saved.key, saved, this.world.clock);
    return saved;
  }

  async release(checkpoint: Checkpoint) {
    this.instance.alive();
    return this.inner.release(checkpoint);
  }

  get(key: string) {
    return this.inner.get(key);
  }

  list() {
    return this.inner.list();
  }

  async registerScheduled(orgId: string | undefined, key: string) {
    this.instance.alive();
    return this.inner.registerScheduled(orgId, key);
  }

  forget(key: string, now: number) {
    return this.inner.forget(key, now);
  }

  breakLease(key: string, owner: string) {
    return this.inner.breakLease(key, owner);
  }
}

/**
 * The deployed system in one process: the JumpCloud simulator, the Elasticsearch emulator,
 * DynamoDB (dynalite), S3 and Secrets Manager doubles, the real collector and mapper handlers
 * wired through the factories as deployed, and a scheduler driving a fake clock.
 */
export class World {
  clock = T0;
  readonly sim: JumpcloudSimulator;
  readonly es: ElasticsearchEmulator;
  readonly s3 = memoryS3();
  readonly secrets = mutableSecrets({});
  readonly logs: { level: string; message: string; fields?: unknown }[] = [];
  readonly logger = captureLogger(this.logs);
  readonly runs: RunRecord[] = [];
  readonly replays: Outcome["replays"][number][] = [];
  readonly truth: TruthEvent[];
  /** `_id`s stored by `preload`, before any collector ran. */
  readonly preloaded = new Set<string>();
  readonly ledger: CursorLedger;
  mapper!: MapperFunction;
  private mapperHandler!: MapperHandler;
  private mapperSecrets: SecretReader;
  private readStore!: CheckpointStore;
  private readonly key: SimulatedKey;
  private readonly esAuthorizations = [`ApiKey ${ES_KEY}`];
  private readonly jumpcloudKeys = [JUMPCLOUD_KEY];
  private readonly elasticsearchKeys = [ES_KEY];
  private readonly instances: CollectorInstance[] = [];
  private readonly fannedOut: CollectorRequest[] = [];
  private readonly random: Random;
  private dynamo!: Awaited<ReturnType<typeof startDynalite>>;
  private collectorEnv: Environment = {};
  private mapperEnv: Environment = {};

  constructor(readonly options: WorldOptions) {
    this.random = new Random(options.seed ?? 1);
    this.mapperSecrets = new SecretsManagerSecrets(this.secrets.client);
    this.key = { key: JUMPCLOUD_KEY, orgs: options.keyOrgs ?? options.orgs.map((o) => o.orgId) };
    const account = options.serviceAccount;
    this.sim = new JumpcloudSimulator({
      tenants: options.orgs.map((o) => ({ orgId: o.orgId, events: o.events })),
      keys: [this.key],
      ...(account && {
        clients: [{ ...SERVICE_ACCOUNT, orgs: this.key.orgs, tokenLifetime: account.tokenLifetimeSeconds }],
      }),
      now: () => this.clock,
      seed: options.seed ?? 42,
      ...(options.ingestionDelay && { ingestionDelay: options.ingestionDelay }),
    });
    this.es = new ElasticsearchEmulator({ ...options.elasticsearch, authorizations: this.esAuthorizations });
    // The simulator's own record: each event's position and when it became visible.
    this.truth = options.orgs.flatMap((o) =>
      this.sim.storedEvents(o.orgId).map((e) => ({
        id: idOf(e.event),
        orgId: o.orgId,
        service: e.service,
        at: e.at,
        visibleAt: e.visibleAt,
      })),
    );
    const lookback = loadSettings({ ...HARNESS_SETTINGS, ...options.collectorEnv }).settings.initialLookback;
    this.ledger = new CursorLedger(this.truth, options.orgs[0]?.orgId ?? "", lookback);
  }

  /** Starts the servers and builds the mapper function. */
  async start(): Promise<this> {
    const [apiUrl, esUrl, dynamo] = await Promise.all([this.sim.start(), this.es.start(), startDynalite()]);
    this.dynamo = dynamo;
    this.fill();
    const viaAccount = this.options.serviceAccount !== undefined;
    const orgs = this.options.orgs.map((o) => o.orgId);
    this.collectorEnv = {
      JUMPCLOUD_API_URL: apiUrl,
      JUMPCLOUD_SECRET_ARN: JUMPCLOUD_ARN,
      ...(viaAccount && { JUMPCLOUD_TOKEN_URL: this.sim.tokenUrl }),
      ...(orgs.length > 1 && { JUMPCLOUD_ORG_IDS: orgs.join(",") }),
      ...HARNESS_SETTINGS,
      CHECKPOINT_TABLE: dynamo.table,
      MAPPER_FUNCTION_NAME: MAPPER_NAME,
      // As the stack sets it: large pages wait for the mapper in the dead-letter bucket.
      CLAIM_CHECK_BUCKET: BUCKET,
      AWS_LAMBDA_FUNCTION_NAME: "jumpcloud-elastic-collector",
      ...this.options.collectorEnv,
    };
    this.mapperEnv = {
      ELASTICSEARCH_URL: esUrl,
      ELASTICSEARCH_SECRET_ARN: ES_ARN,
      ELASTICSEARCH_REQUEST_TIMEOUT: "2s",
      DEAD_LETTER_BUCKET: BUCKET,
      ...this.options.mapperEnv,
    };
    this.mapperHandler = this.buildMapperHandler();
    this.mapper = new MapperFunction(MAPPER_NAME, this.mapperHandler, (ref) =>
      JSON.parse(this.s3.objects.get(`${ref.bucket}/${ref.key}`) ?? "[]"),
    );
    const { settings } = loadSettings(this.collectorEnv);
    this.readStore = createCheckpointStore(settings, {
      ...this.awsFor(undefined),
      dynamodb: () => dynamo.client,
    });
    return this;
  }

  async stop(): Promise<void> {
    await this.mapper?.settle();
    await Promise.all([this.sim.stop(), this.es.stop(), this.dynamo?.stop()]);
  }

  /** The collector's dependencies for one instance, through the factories as deployed. */
  async buildCollector(instance: CollectorInstance): Promise<CollectorDependencies> {
    const { settings } = loadSettings(this.collectorEnv, {
      require: ["jumpcloudCredentials", "checkpointTable", "mapperFunctionName", "lambdaFunctionName"],
    });
    // As the Lambda module does: each cold-start attempt builds its AWS clients (and caches) anew.
    instance.secrets = new SecretsManagerSecrets(this.secrets.client);
    const aws = this.awsFor(instance);
    const random = () => this.random.next();
    return {
      settings,
      source: await createEventSource(settings, {
        aws,
        logger: this.logger,
        http: { fetch: instance.fetch, sleep: shortSleep, random },
      }),
      store: new RecordingStore(createCheckpointStore(settings, aws), instance, this),
      delivery: createLambdaDelivery(settings, aws),
      logger: this.logger,
      invokeSelf: async (payload) => {
        this.fannedOut.push(JSON.parse(JSON.stringify(payload)) as CollectorRequest);
      },
      now: () => this.clock,
    };
  }

  private awsFor(instance: CollectorInstance | undefined): AwsClients {
    return {
      s3: () => this.s3.client,
      lambda: () => this.mapper.client(instance ?? outsider),
      dynamodb: () => this.dynamo.client,
      secrets: () => instance?.secrets ?? new SecretsManagerSecrets(this.secrets.client),
    };
  }

  // The mapper's cold-start wiring (factories, secret, dead letters in S3) with shortened waits.
  private buildMapperHandler(): MapperHandler {
    const aws: AwsClients = {
      s3: () => this.s3.client,
      lambda: () => {
        throw new Error("the mapper invokes nothing");
      },
      dynamodb: () => {
        throw new Error("the mapper has no table");
      },
      secrets: () => this.mapperSecrets,
    };
    const dependencies = cachedDependencies((fresh) => this.buildMapper(aws, fresh));
    return makeMapperHandler(dependencies.get, dependencies.invalidate);
  }

  // The deployed wiring, with the sink's retry waits shortened: the factories take no retry seams,
  // so the sink is built again from the one they built (same client, same options).
  private async buildMapper(aws: AwsClients, fresh: boolean): Promise<MapperDependencies> {
    const deps = await buildMapperDependencies(this.mapperEnv, this.logger, aws, { fresh });
    const built = deps.sink as unknown as { client?: Client; options?: ElasticsearchSinkOptions };
    if (!(deps.sink instanceof ElasticsearchDocumentSink) || !built.client || !built.options)
      throw new Error("the e2e harness no longer finds the sink's client and options: give it retry seams");
    const random = () => this.random.next();
    const sink = new ElasticsearchDocumentSink(built.client, { ...built.options, sleep: shortSleep, random });
    return { ...deps, sink };
  }

  /** Stores events as if someone else (Elastic Agent) had shipped them already. */
  async preload(events: readonly GeneratedEvent[]): Promise<void> {
    for (const g of events) this.preloaded.add(idOf(g.event));
    await this.mapperHandler(
      { events: events.map((g) => g.event) },
      { getRemainingTimeInMillis: () => 60_000 },
    );
  }

  /** One collector invocation on a free (warm) instance, or a new one (cold start). */
  async invoke(request: CollectorRequest, options: RunOptions = {}): Promise<RunRecord> {
    const instance = this.instances.find((i) => !i.busy && !i.dead) ?? this.coldStart();
    instance.busy = true;
    instance.start(options);
    if (request.replay) this.noteReplay(request.replay);
    const record: RunRecord = { request, clock: this.clock, killed: false };
    const context = {
      awsRequestId: `req-${this.runs.length + 1}`,
      getRemainingTimeInMillis: instance.remainingMs,
    };
    this.runs.push(record);
    try {
      record.response = await instance.handler(request, context);
    } catch (error) {
      record.error = error as Error;
    } finally {
      instance.busy = false;
      record.killed = instance.dead;
    }
    return record;
  }

  private coldStart(): CollectorInstance {
    const instance = new CollectorInstance(this);
    this.instances.push(instance);
    return instance;
  }

  private noteReplay(replay: NonNullable<CollectorRequest["replay"]>): void {
    const orgId = replay.orgId ?? this.options.orgs[0]?.orgId ?? "";
    this.replays.push({ orgId, start: Date.parse(replay.start), end: Date.parse(replay.end) });
  }

  /**
   * One schedule tick: the clock moves on, the schedule invokes the collector (with any invocation
   * `alongside` at the same time), and every per-org invocation fanned out runs, all at once, as
   * Lambda runs asynchronous invocations.
   */
  async tick(options: TickPlan = {}): Promise<RunRecord[]> {
    this.clock += SCHEDULE_MS;
    const { alongside = [], ...run } = options;
    const records = await Promise.all([{}, ...alongside].map((request) => this.invoke(request, run)));
    while (this.fannedOut.length > 0) {
      const batch = this.fannedOut.splice(0);
      records.push(...(await Promise.all(batch.map((request) => this.invoke(request, run)))));
    }
    return records;
  }

  /**
   * Ticks until two ticks in a row, after every event became visible (and the clock reached
   * `until`), ran cleanly and caught up; `plan` shapes each tick (cut-offs, kills) and `before`
   * changes the world before it.
   */
  async runUntilCaughtUp(
    options: {
      maxTicks?: number;
      until?: number;
      plan?: (tick: number) => TickPlan;
      before?: (tick: number) => void | Promise<void>;
    } = {},
  ): Promise<{ ticks: number; caughtUp: boolean }> {
    const lastVisible = Math.max(T0, options.until ?? T0, ...this.truth.map((e) => e.visibleAt));
    let clean = 0;
    const maxTicks = options.maxTicks ?? 30;
    for (let tick = 1; tick <= maxTicks; tick++) {
      await options.before?.(tick);
      const records = await this.tick(options.plan?.(tick) ?? {});
      clean = isCaughtUp(records) && this.clock >= lastVisible ? clean + 1 : 0;
      if (clean >= 2) return { ticks: tick, caughtUp: true };
    }
    return { ticks: maxTicks, caughtUp: false };
  }

  /**
   * Waits until every mapper invocation has ended and the cluster has carried out every request it
   * received, those whose caller gave up included (they finish within a minute, well before the
   * next scheduled run): compressed time must not put a rollover among them.
   */
  async quiesce(): Promise<void> {
    await this.mapper.settle();
    for (let i = 0; i < 1_000 && this.es.requests.some((r) => r.status === 0); i++) await sleep(5);
  }

  /** Rolls the data stream over (as ILM does), once the work in flight is done; nothing before it exists. */
  async rollover(): Promise<void> {
    await this.quiesce();
    if (this.es.streams.has(STREAM)) this.es.rollover(STREAM);
  }

  /** Every stored copy of every document (one per backing index it is in). */
  storedCopies(): StoredCopy[] {
    return [...this.es.streams.keys()].flatMap((stream) =>
      this.es.documents(stream).map((d) => ({ id: d._id, index: d._index })),
    );
  }

  /** `_id`s stored in the data stream. */
  storedIds(): Set<string> {
    return new Set(this.es.ids(STREAM));
  }

  /** Dead letters written to the bucket. */
  deadLetters(): { id: string; reason: string; raw: unknown }[] {
    const letters = [...this.s3.objects].filter(([key]) => key.startsWith(`${BUCKET}/dead-letters/`));
    return letters.map(([, body]) => {
      const letter = JSON.parse(body) as { id: string; error: { reason: string }; raw: unknown };
      return { id: letter.id, reason: letter.error.reason, raw: letter.raw };
    });
  }

  /** The scheduled checkpoint of an org (the only org's when none is given). */
  checkpoint(orgId?: string): Promise<Checkpoint | undefined> {
    const single = this.options.orgs.length === 1;
    const services = loadSettings(this.collectorEnv).settings.jumpcloudServices;
    return this.readStore.get(checkpointKey(single ? undefined : orgId, services));
  }

  /** The end state against the ground truth, and every cursor save seen on the way. */
  async violations(): Promise<string[]> {
    await this.quiesce();
    const finalCursors = new Map<string, number | undefined>();
    for (const org of this.options.orgs)
      finalCursors.set(org.orgId, (await this.checkpoint(org.orgId))?.cursor);
    const outcome: Outcome = {
      stored: this.storedCopies(),
      deadLetters: this.deadLetters(),
      finalCursors,
      replays: this.replays,
      preloaded: this.preloaded,
    };
    return [...this.ledger.violations, ...checkOutcome(this.truth, outcome), ...(await this.leakedSecrets())];
  }

  /** Every secret the world handed out, searched for in everything the runs left behind. */
  private async leakedSecrets(): Promise<string[]> {
    const text = (value: unknown) =>
      JSON.stringify(value, (_, v) => (v instanceof Error ? describeError(v) : v));
    return findSecrets(this.secretValues, {
      logs: text(this.logs),
      "collector answers and errors": text(this.runs),
      "mapper answers and errors": text(this.mapper.invocations.map((i) => [i.result, i.error])),
      checkpoints: text(await this.readStore.list()),
      documents: text([...this.es.streams.keys()].map((stream) => this.es.documents(stream))),
      "S3 objects": text([...this.s3.objects]),
    });
  }

  // Every credential handed out, by name: none may show up anywhere a run leaves something.
  private get secretValues(): Map<string, string> {
    return new Map([
      ...this.jumpcloudKeys.map((key, i) => [`JumpCloud API key #${i + 1}`, key] as const),
      ...this.elasticsearchKeys.map((key, i) => [`Elasticsearch API key #${i + 1}`, key] as const),
      ["service account secret", SERVICE_ACCOUNT.clientSecret],
    ]);
  }

  /** Puts the stack's placeholder in a secret (as deployed, before anyone filled it). */
  unfill(arn: string): void {
    this.secrets.set(arn, JSON.stringify({ placeholder: SECRET_PLACEHOLDER }));
  }

  /**
   * Fills the secrets with the credentials the simulator and the emulator accept. The mapper's
   * Powertools cache outlives a failed cold start (its AWS clients are module-wide) and keeps what
   * it read for 5 minutes of real time, which the next tick stands for: it starts empty again.
   */
  fill(): void {
    const viaAccount = this.options.serviceAccount !== undefined;
    const account = { client_id: SERVICE_ACCOUNT.clientId, client_secret: SERVICE_ACCOUNT.clientSecret };
    this.secrets.set(JUMPCLOUD_ARN, JSON.stringify(viaAccount ? account : { api_key: this.key.key }));
    this.secrets.set(ES_ARN, JSON.stringify({ api_key: this.esAuthorizations[0]?.slice("ApiKey ".length) }));
    this.mapperSecrets = new SecretsManagerSecrets(this.secrets.client);
  }

  /** Rotates the JumpCloud key: the secret holds the new one, and the API refuses the old one. */
  rotateJumpcloudKey(next: string): void {
    this.jumpcloudKeys.push(next);
    this.secrets.set(JUMPCLOUD_ARN, JSON.stringify({ api_key: next }));
    // The simulator reads its key list on every request: changing the entry is a rotation.
    this.key.key = next;
  }

  /** Rotates the Elasticsearch API key: the secret holds the new one, and the cluster refuses the old one. */
  rotateElasticsearchKey(next: string): void {
    this.elasticsearchKeys.push(next);
    this.secrets.set(ES_ARN, JSON.stringify({ api_key: next }));
    // The emulator reads its accepted credentials on every request.
    this.esAuthorizations.splice(0, this.esAuthorizations.length, `ApiKey ${next}`);
  }

  /** Lets the API key read `orgId` (an access problem fixed). */
  grantOrg(orgId: string): void {
    if (!this.key.orgs.includes(orgId)) this.key.orgs.push(orgId);
  }

  /** Sums of what every collected summary said the mapper acknowledged. */
  acknowledgedCounts() {
    const summaries = this.runs.flatMap((r) =>
      r.response?.mode === "collected" ? r.response.summaries : [],
    );
    return {
      indexed: summaries.reduce((n, s) => n + s.counts.indexed, 0),
      duplicates: summaries.reduce((n, s) => n + s.counts.duplicates, 0),
      deadLettered: summaries.reduce((n, s) => n + s.counts.deadLettered, 0),
    };
  }
}

/** A clean tick: no failure, no kill, nothing left to do, and every checkpoint caught up by some run. */
function isCaughtUp(records: readonly RunRecord[]): boolean {
  if (records.some((r) => r.error || r.killed || !r.response)) return false;
  const summaries = records.flatMap((r) => (r.response?.mode === "collected" ? r.response.summaries : []));
  const keys = new Set(summaries.map((s) => s.key));
  const caughtUp = new Set(summaries.filter((s) => s.status === "caught-up").map((s) => s.key));
  return (
    summaries.every((s) => s.status === "caught-up" || s.status === "locked") && caughtUp.size === keys.size
  );
}

/** A caller outside any collector (a preload by "Elastic Agent"): acknowledgements go nowhere. */
const outsider: InvokeCaller = { beforeInvoke: () => {}, acknowledged: () => {}, isDead: () => false };
