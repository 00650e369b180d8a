import { mkdtempSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CollectorRequest, makeCollectorHandler } from "../../functions/collector/handler.ts";
import { type CollectSummary, checkpointKey } from "../../lib/collect/collector.ts";
import { type BatchDelivery, InProcessDelivery } from "../../lib/collect/delivery.ts";
import { FileCheckpointStore } from "../../lib/collect/file-checkpoint-store.ts";
import { NO_COUNTS } from "../../lib/counts.ts";
import { EcsMapper } from "../../lib/ecs/mapper.ts";
import { FileDeadLetterSink } from "../../lib/elasticsearch/dead-letters.ts";
import { FileDocumentSink } from "../../lib/elasticsearch/file-sink.ts";
import { ApiKeyAuthenticator } from "../../lib/jumpcloud/auth.ts";
import { DirectoryInsightsClient } from "../../lib/jumpcloud/client.ts";
import { silentLogger } from "../../lib/logger.ts";
import { loadSettings } from "../../lib/settings/load.ts";
import { JumpcloudSimulator } from "../../simulators/jumpcloud/server.ts";
import { generateTenantEvents } from "../../simulators/jumpcloud/tenant.ts";
import { fakeAws } from "../helpers/aws.ts";
import { cli, cliProcess, ndjson } from "../helpers/cli.ts";

const FUNCTION = "JumpcloudElastic-collector";
const FROM = "2026-05-01T00:00:00.000Z";
const TO = "2026-05-01T04:00:00.000Z";
const KEY = `default#all#replay#${FROM}#${TO}`;

/** What the CLI sent: one request per invocation. */
interface Sent {
  FunctionName: string | undefined;
  InvocationType: string | undefined;
  payload: CollectorRequest;
}

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/**
 * A Lambda client double: `run` plays the function, and what it throws comes back as a function
 * error, as Lambda answers one. Records every request.
 */
function fakeLambda(run: (payload: CollectorRequest, invocation: number) => unknown, region?: string) {
  const sent: Sent[] = [];
  const client = {
    ...(region && { config: { region: async () => region } }),
    send: async (command: InvokeCommand) => {
      const { FunctionName, InvocationType, Payload } = command.input;
      const payload = JSON.parse(Buffer.from(Payload as Uint8Array).toString("utf8")) as CollectorRequest;
      sent.push({ FunctionName, InvocationType, payload });
      try {
        return { StatusCode: 200, Payload: encode(await run(payload, sent.length)) };
      } catch (error) {
        const { name, message } = error as Error;
        return {
          StatusCode: 200,
          FunctionError: "Unhandled",
          Payload: encode({ errorType: name, errorMessage: message, trace: ["at somewhere"] }),
        };
      }
    },
  };
  return { client: client as unknown as LambdaClient, sent };
}

/** The collector's answers, in order; an Error is thrown by the function. */
function scripted(answers: (Partial<CollectSummary> | Error)[], region?: string) {
  return fakeLambda((_, invocation) => {
    const answer = answers[invocation - 1];
    if (answer === undefined) throw new Error(`invocation ${invocation} was not scripted`);
    if (answer instanceof Error) throw answer;
    return { mode: "collected", summaries: [summary(answer)] };
  }, region);
}

function summary(part: Partial<CollectSummary>): CollectSummary {
  const status = part.status ?? "caught-up";
  return {
    key: KEY,
    orgId: undefined,
    status,
    windows: 0,
    pages: 0,
    fetched: 0,
    counts: NO_COUNTS,
    lateEvents: 0,
    cursorBefore: undefined,
    cursorAfter: undefined,
    lagMs: undefined,
    workRemaining: status === "work-remaining",
    ...part,
  };
}

const counts = (indexed: number, duplicates = 0) => ({
  ...NO_COUNTS,
  received: indexed + duplicates,
  indexed,
  duplicates,
});

/** An SDK failure as the SDK throws it: an Error of that name. */
const sdkError = (name: string, message: string) => ({
  send: async () => {
    throw Object.assign(new Error(message), { name });
  },
});

const replay = (lambda: { client: LambdaClient }, extra: string[] = []) =>
  cli(["invoke-replay", "--function", FUNCTION, "--from", FROM, "--to", TO, ...extra], {
    aws: fakeAws({ lambda: lambda.client }),
  });

describe("cli invoke-replay", () => {
  it("invokes again while work remains, with the same payload, and sums the invocations", async () => {
    const lambda = scripted([
      { status: "work-remaining", windows: 1, pages: 3, fetched: 250, counts: counts(200, 50) },
      { status: "work-remaining", windows: 2, pages: 2, fetched: 100, counts: counts(100) },
      { status: "caught-up", windows: 1, pages: 1, fetched: 7, counts: { ...counts(6), deadLettered: 1 } },
    ]);
    const { code, stdout, stderr } = await replay(lambda, ["--services", "sso, radius", "--org", "org-7"]);
    expect(code).toBe(0);
    expect(lambda.sent).toHaveLength(3);
    for (const request of lambda.sent) {
      expect(request).toStrictEqual({
        FunctionName: FUNCTION,
        InvocationType: "RequestResponse",
        payload: { replay: { start: FROM, end: TO, services: ["sso", "radius"], orgId: "org-7" } },
      });
    }
    expect(stderr.match(/^info: invocation \d: /gm)).toHaveLength(3);
    expect(stderr).toContain("info: invocation 1: work remains (windows=1, pages=3, fetched=250");
    expect(stderr).toContain("info: invocation 3: caught-up");
    expect(stdout).toBe(
      `replay ${FROM} to ${TO}: caught-up after 3 invocation(s) of ${FUNCTION}\n` +
        "fetched 357 event(s) in 4 window(s), 6 page(s): 306 indexed, 50 duplicate(s), 1 dead-lettered, 0 pipeline error(s)\n",
    );
  });

  it("prints the total as one JSON document with --json, progress as JSON lines on stderr", async () => {
    const lambda = scripted([
      { status: "work-remaining", windows: 1, pages: 2, fetched: 20, counts: counts(20) },
      { status: "caught-up", windows: 1, pages: 1, fetched: 5, counts: counts(0, 5) },
    ]);
    const { code, stdout, stderr } = await replay(lambda, ["--json"]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toStrictEqual({
      function: FUNCTION,
      replay: { start: FROM, end: TO },
      key: KEY,
      status: "caught-up",
      invocations: 2,
      windows: 2,
      pages: 3,
      fetched: 25,
      counts: counts(20, 5),
    });
    expect(ndjson(stderr).map((l) => [l.level, l.message, l.fetched])).toStrictEqual([
      ["info", "invocation 1: work remains", 20],
      ["info", "invocation 2: caught-up", 5],
    ]);
  });

  it("stops at a function error, with its type and message (exit 1)", async () => {
    const failure = Object.assign(
      new Error("replay.orgId is required when JUMPCLOUD_ORG_IDS lists several orgs"),
      {
        name: "InputError",
      },
    );
    const lambda = scripted([{ status: "work-remaining", pages: 1, fetched: 3, counts: counts(3) }, failure]);
    const { code, stdout, stderr } = await replay(lambda);
    expect(code).toBe(1);
    expect(lambda.sent).toHaveLength(2);
    expect(stdout).toBe("");
    expect(stderr).toMatch(
      new RegExp(
        `^error: ${FUNCTION} failed: InputError: replay.orgId is required when JUMPCLOUD_ORG_IDS`,
        "m",
      ),
    );
  });

  it("retries a locked replay and goes on once the lease is free", async () => {
    const lambda = scripted([
      { status: "locked" },
      { status: "work-remaining", pages: 1, fetched: 4, counts: counts(4) },
      { status: "locked" },
      { status: "caught-up", pages: 1, fetched: 1, counts: counts(1) },
    ]);
    const { code, stdout, stderr } = await replay(lambda, ["--lock-retries", "1", "--lock-wait", "10ms"]);
    expect(code).toBe(0);
    expect(lambda.sent).toHaveLength(4);
    expect(stderr.match(/^warn: invocation \d: locked by another run/gm)).toHaveLength(2);
    expect(stdout).toContain("caught-up after 4 invocation(s)");
    expect(stdout).toContain("fetched 5 event(s)");
  });

  it("gives up on a replay that stays locked after the retries (exit 3), with the total so far", async () => {
    const lambda = scripted([
      { status: "work-remaining", pages: 2, fetched: 9, counts: counts(9) },
      { status: "locked" },
      { status: "locked" },
      { status: "locked" },
      { status: "caught-up" },
    ]);
    const started = Date.now();
    const { code, stdout, stderr } = await replay(lambda, ["--lock-retries", "2", "--lock-wait", "50ms"]);
    expect(code).toBe(3);
    expect(lambda.sent).toHaveLength(4);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(stdout).toContain("locked after 4 invocation(s)");
    expect(stdout).toContain("fetched 9 event(s)");
    expect(stderr).toMatch(
      new RegExp(
        `^error: another run of this replay holds its lease \\(${KEY}\\), still after 2 retries`,
        "m",
      ),
    );
  });

  it("stops after --max-invocations, saying how to resume with the exact window (exit 1)", async () => {
    const lambda = fakeLambda(() => ({
      mode: "collected",
      summaries: [summary({ status: "work-remaining", pages: 1, fetched: 1, counts: counts(1) })],
    }));
    const { code, stdout, stderr } = await cli(
      [
        "invoke-replay",
        "--function",
        FUNCTION,
        "--from",
        "3h",
        "--to",
        "1h",
        "--max-invocations",
        "3",
        "--json",
      ],
      { aws: fakeAws({ lambda: lambda.client }) },
    );
    expect(code).toBe(1);
    expect(lambda.sent).toHaveLength(3);
    const { start, end } = lambda.sent[0]?.payload.replay ?? {};
    expect(Date.parse(end ?? "") - Date.parse(start ?? "")).toBe(2 * 3_600_000);
    expect(JSON.parse(stdout)).toMatchObject({ status: "work-remaining", invocations: 3, fetched: 3 });
    const { error } = JSON.parse(stderr.trim().split("\n").pop() ?? "");
    expect(error).toMatchObject({ kind: "failed", exitCode: 1 });
    expect(error.message).toContain(`work remains after 3 invocation(s) (--max-invocations)`);
    expect(error.message).toContain(`--from ${start} --to ${end}`);
  });

  it.each([
    [
      ["--from", FROM, "--to", TO],
      ["--function is required: the collector Lambda's name or ARN (the stack's CollectorFunction output)"],
    ],
    [["--function", FUNCTION, "--to", TO], [/^--from is required/]],
    [["--function", FUNCTION, "--from", "yesterday", "--to", TO], [/^--from must be an ISO 8601 time/]],
    [["--function", FUNCTION, "--from", TO, "--to", FROM], [`--from (${TO}) must be before --to (${FROM})`]],
    [
      ["--function", FUNCTION, "--from", FROM, "--to", TO, "--services", "all,sso", "--max-invocations", "0"],
      ["--services cannot combine `all` with named services", /^--max-invocations must be a whole number/],
    ],
    [["--function", FUNCTION, "--from", FROM, "--to", TO, "--lock-wait", "soon"], [/^--lock-wait must be/]],
  ])("refuses %j before invoking anything (exit 2)", async (args, problems) => {
    const lambda = scripted([]);
    const { code, stdout } = await cli(["invoke-replay", ...args, "--json"], {
      aws: fakeAws({ lambda: lambda.client }),
    });
    expect(code).toBe(2);
    expect(lambda.sent).toHaveLength(0);
    const { error } = JSON.parse(stdout);
    expect(error.problems).toStrictEqual(
      problems.map((p) => (typeof p === "string" ? p : expect.stringMatching(p))),
    );
  });

  it.each([
    ["CredentialsProviderError", "Could not load credentials from any providers", /set AWS_PROFILE/],
    ["Error", "Region is missing", new RegExp(`no AWS region for invoking ${FUNCTION}: set AWS_REGION`)],
    [
      "ResourceNotFoundException",
      "Function not found: arn:aws:lambda:eu-west-1:123456789012:function:JumpcloudElastic-collector",
      new RegExp(`function ${FUNCTION} not found in eu-west-1: check --function`),
    ],
    [
      "AccessDeniedException",
      "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: lambda:InvokeFunction",
      new RegExp(`access denied invoking ${FUNCTION}: the AWS identity needs lambda:InvokeFunction`),
    ],
    ["ExpiredTokenException", "The security token included in the request is expired", /renew them/],
  ])("says what to fix when the SDK fails with %s (exit 2)", async (name, message, expected) => {
    const client = { ...sdkError(name, message), config: { region: async () => "eu-west-1" } };
    const { code, stderr } = await replay({ client: client as unknown as LambdaClient });
    expect(code).toBe(2);
    expect(stderr).toMatch(expected);
  });

  it("reports any other SDK failure with the function and region (exit 1)", async () => {
    const client = sdkError("ServiceException", "Lambda was unable to start the function");
    const { code, stderr } = await replay({ client: client as unknown as LambdaClient });
    expect(code).toBe(1);
    expect(stderr).toContain(
      `error: invoking ${FUNCTION} in the configured region failed: ServiceException: Lambda was unable to start the function`,
    );
  });

  it("refuses an ARN of another region than the client's before invoking it", async () => {
    const lambda = scripted([{ status: "caught-up" }], "eu-west-1");
    const arn = "arn:aws:lambda:us-east-1:123456789012:function:JumpcloudElastic-collector";
    const { code, stderr } = await cli(["invoke-replay", "--function", arn, "--from", FROM, "--to", TO], {
      aws: fakeAws({ lambda: lambda.client }),
    });
    expect(code).toBe(2);
    expect(lambda.sent).toHaveLength(0);
    expect(stderr).toContain("--function is in us-east-1 but the AWS region in use is eu-west-1");
  });

  it("refuses an answer that is not the collector's (another function named)", async () => {
    const lambda = fakeLambda(() => ({ received: 0, indexed: 0 }));
    const { code, stderr } = await replay(lambda);
    expect(code).toBe(1);
    expect(stderr).toContain("did not answer with a collection summary (is --function the collector?)");
  });

  it("names what is missing when run as a process of its own (exit 2)", async () => {
    const { code, stdout, stderr } = await cliProcess(["invoke-replay", "--from", "2h", "--to", "1h"]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toMatch(/^error: --function is required: the collector Lambda's name or ARN/m);
  });
});

describe("cli invoke-replay against the real collector handler", () => {
  const ORG = "5f0d0d0d0d0d0d0d0d0d0d0c";
  const API_KEY = "replay-secret-key-123456";
  const NOW = Date.parse("2026-06-01T12:00:00Z");
  const HOUR = 3_600_000;
  const events = generateTenantEvents({
    seed: 7,
    start: NOW - 5 * HOUR,
    end: NOW - 120_000,
    count: 400,
    organization: ORG,
  });
  const sim = new JumpcloudSimulator({
    tenants: [{ orgId: ORG, events }],
    keys: [{ key: API_KEY, orgs: [ORG] }],
    now: () => NOW,
  });
  let apiUrl = "";
  beforeAll(async () => {
    apiUrl = await sim.start();
  });
  afterAll(() => sim.stop());

  // Lambda's clock for one invocation: each delivered page "takes" 30 s of a 100 s budget, so with
  // the default 60 s SAFETY_MARGIN an invocation stops after two pages, mid-window.
  const BUDGET_MS = 100_000;
  const PAGE_MS = 30_000;

  /**
   * The real collector handler behind a fake Lambda, collecting the orgs of `apiUrl` into files
   * under a fresh folder, each invocation cut off after two pages (see BUDGET_MS).
   */
  function budgetedCollector(url: string, orgIds: string[]) {
    const dir = mkdtempSync(join(tmpdir(), "invoke-replay-"));
    const mapper = new EcsMapper();
    const store = new FileCheckpointStore(join(dir, "checkpoints.json"));
    const clock = { usedMs: 0 };
    const inProcess = new InProcessDelivery({
      mapper,
      sink: new FileDocumentSink(dir, mapper.dataStream),
      deadLetters: new FileDeadLetterSink(dir),
      now: () => new Date(NOW),
    });
    const delivery: BatchDelivery = {
      deliver: (batch, context, signal) => {
        clock.usedMs += PAGE_MS;
        return inProcess.deliver(batch, context, signal);
      },
    };
    const handler = makeCollectorHandler(async () => ({
      settings: loadSettings({
        JUMPCLOUD_API_KEY: API_KEY,
        JUMPCLOUD_ORG_IDS: orgIds.join(","),
        PAGE_LIMIT: "25",
        MAX_WINDOW: "1h",
        // One window at a time, page by page with saved positions: runs are cut mid-window.
        BACKFILL_CONCURRENCY: "1",
      }).settings,
      source: new DirectoryInsightsClient({ apiUrl: url, auth: new ApiKeyAuthenticator(API_KEY) }),
      store,
      delivery,
      logger: silentLogger,
      invokeSelf: async () => {},
      now: () => NOW,
    }));
    const lambda = fakeLambda((payload, invocation) => {
      clock.usedMs = 0;
      return handler(payload, {
        awsRequestId: `req-${invocation}`,
        getRemainingTimeInMillis: () => BUDGET_MS - clock.usedMs,
      });
    });
    const replay = (start: number, end: number, ...flags: string[]) =>
      cli(
        [
          "invoke-replay",
          "--function",
          FUNCTION,
          "--from",
          new Date(start).toISOString(),
          "--to",
          new Date(end).toISOString(),
          ...flags,
          "--json",
        ],
        { aws: fakeAws({ lambda: lambda.client }) },
      );
    return { dir, mapper, store, lambda, replay };
  }

  it("resumes the replay over several invocations until it is done, each event once", async () => {
    const { store, lambda, replay } = budgetedCollector(apiUrl, [ORG]);
    const start = NOW - 4 * HOUR;
    const end = NOW - HOUR;
    const { code, stdout, stderr } = await replay(start, end, "--org", ORG);
    expect(code, stderr).toBe(0);
    const expected = events.filter((e) => e.at >= start && e.at < end).length;
    expect(expected).toBeGreaterThan(100);
    const total = JSON.parse(stdout);
    expect(total).toMatchObject({
      status: "caught-up",
      windows: 3,
      fetched: expected,
      counts: { received: expected, indexed: expected, duplicates: 0, deadLettered: 0 },
    });
    // Two pages of 25 per invocation at most: the loop had to come back many times.
    expect(total.invocations).toBeGreaterThanOrEqual(Math.ceil(expected / 50));
    expect(lambda.sent).toHaveLength(total.invocations);
    expect(ndjson(stderr).filter((l) => l.message.endsWith("work remains"))).toHaveLength(
      total.invocations - 1,
    );
    const checkpoint = await store.get(checkpointKey(ORG, ["all"], { start, end }));
    expect(checkpoint).toMatchObject({ done: true, cursor: end });
    expect(checkpoint?.progress).toStrictEqual([]);

    // The same replay again: already done, nothing read.
    const again = await replay(start, end, "--org", ORG);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: "caught-up", invocations: 1, fetched: 0 });
  });

  it("replays every org the collector lists when --org is not given, across cut-off invocations", async () => {
    const other = "5f0d0d0d0d0d0d0d0d0d0d0e";
    const otherEvents = generateTenantEvents({
      seed: 8,
      start: NOW - 5 * HOUR,
      end: NOW - 120_000,
      count: 200,
      organization: other,
    });
    const both = new JumpcloudSimulator({
      tenants: [
        { orgId: ORG, events },
        { orgId: other, events: otherEvents },
      ],
      keys: [{ key: API_KEY, orgs: [ORG, other] }],
      now: () => NOW,
    });
    const url = await both.start();
    try {
      const { dir, mapper, lambda, replay } = budgetedCollector(url, [ORG, other]);
      const [start, end] = [NOW - 4 * HOUR, NOW - HOUR];
      const { code, stdout, stderr } = await replay(start, end);
      expect(code, stderr).toBe(0);
      const expected = [...events, ...otherEvents].filter((e) => e.at >= start && e.at < end).length;
      expect(JSON.parse(stdout)).toMatchObject({
        status: "caught-up",
        fetched: expected,
        counts: { received: expected, indexed: expected, duplicates: 0 },
      });
      // Cut off every two pages: both orgs were resumed over many invocations of the same payload.
      expect(JSON.parse(stdout).invocations).toBeGreaterThan(Math.ceil(expected / 50));
      expect(lambda.sent.every((p) => (p as CollectorRequest).replay?.orgId === undefined)).toBe(true);
      const ids = (await readFile(join(dir, `${mapper.dataStream}.ndjson`), "utf8")).trim().split("\n");
      expect(ids).toHaveLength(expected);
    } finally {
      await both.stop();
    }
  });
});
