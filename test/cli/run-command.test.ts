import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { checkpointKey } from "../../lib/collect/collector.ts";
import { ElasticsearchEmulator } from "../../simulators/elasticsearch/server.ts";
import { JumpcloudSimulator } from "../../simulators/jumpcloud/server.ts";
import { type GeneratedEvent, generateTenantEvents } from "../../simulators/jumpcloud/tenant.ts";
import { cli, cliProcess, ROOT, testSignals } from "../helpers/cli.ts";

const ORGS = ["5f0e0e0e0e0e0e0e0e0e0e01", "5f0e0e0e0e0e0e0e0e0e0e02"];
const KEY = "run-key-123456";
const HOUR = 3_600_000;
const STREAM = "logs-jumpcloud.events-default";

/** A simulated two-org tenant, a scratch folder, and the environment a user would set. */
async function tenant(options: { count?: number; keyOrgs?: string[]; orgs?: string[] } = {}) {
  const now = Date.now();
  const orgs = options.orgs ?? ORGS;
  const events = new Map<string, GeneratedEvent[]>(
    orgs.map((orgId, i) => [
      orgId,
      generateTenantEvents({
        seed: 40 + i,
        start: now - 6 * HOUR,
        end: now - 300_000,
        count: options.count ?? 250,
        organization: orgId,
      }),
    ]),
  );
  const sim = new JumpcloudSimulator({
    tenants: [...events].map(([orgId, list]) => ({ orgId, events: list })),
    keys: [{ key: KEY, orgs: options.keyOrgs ?? orgs }],
  });
  const dir = mkdtempSync(join(tmpdir(), "run-"));
  const env = {
    JUMPCLOUD_API_URL: await sim.start(),
    JUMPCLOUD_API_KEY: KEY,
    JUMPCLOUD_ORG_IDS: orgs.join(","),
    CHECKPOINT_FILE: join(dir, "checkpoints.json"),
    INITIAL_LOOKBACK: "7h",
    DEAD_LETTER_DIR: join(dir, "dead"),
  };
  const all = [...events.values()].flat();
  return {
    sim,
    dir,
    env,
    out: join(dir, "out"),
    /** Event ids from `from` (ms) on. */
    truth: (from = 0) => new Set(all.filter((g) => g.at >= from).map((g) => g.event.id as string)),
    checkpoints: () => JSON.parse(readFileSync(env.CHECKPOINT_FILE, "utf8")),
    stored: () => storedIds(join(dir, "out", `${STREAM}.ndjson`)),
  };
}

/** The event ids in an NDJSON output file, every line (a duplicate shows twice). */
function storedIds(path: string): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l)._source.event.id as string);
}

const stops: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});
async function world(options?: Parameters<typeof tenant>[0]) {
  const t = await tenant(options);
  stops.push(() => t.sim.stop());
  return t;
}

describe("run --once", () => {
  it("collects every org until caught up; a second run indexes nothing new", async () => {
    const t = await world();
    const first = await cliProcess(["run", "--once", "--json", "--out", t.out], { env: t.env });
    expect(first.stderr).not.toMatch(/error/);
    expect(first.code).toBe(0);
    const summary = JSON.parse(first.stdout);
    expect(summary.outcome).toBe("ok");
    expect(summary.total).toMatchObject({ fetched: 500, indexed: 500, deadLettered: 0 });
    expect(summary.orgs.map((o: { status: string }) => o.status)).toStrictEqual(["caught-up", "caught-up"]);
    expect(new Set(t.stored())).toStrictEqual(t.truth());
    expect(t.stored()).toHaveLength(500);
    expect(readFileSync(join(t.out, `${STREAM}.bulk.ndjson`), "utf8").split("\n")).toHaveLength(1_001);

    const second = await cli(["run", "--once", "--out", t.out], { env: t.env });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^total\s+ok\s+\d+\s+\d+\s+0\s+\d+\s+0$/m);
    expect(second.stdout).toMatch(/nothing new/);
    // No secret in anything a run leaves behind: output, messages, checkpoint, documents.
    const left = [
      first.stdout,
      first.stderr,
      second.stdout,
      second.stderr,
      readFileSync(t.env.CHECKPOINT_FILE, "utf8"),
      readFileSync(join(t.out, `${STREAM}.ndjson`), "utf8"),
      readFileSync(join(t.out, `${STREAM}.bulk.ndjson`), "utf8"),
    ];
    for (const text of left) expect(text).not.toContain(KEY);
  });

  it("keeps every org's summary when one org fails, says which, and exits 1", async () => {
    const t = await world({ keyOrgs: [ORGS[0] as string] });
    const { code, stdout, stderr } = await cli(["run", "--once", "--json", "--out", t.out], { env: t.env });
    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    expect(report.outcome).toBe("failed");
    expect(report.orgs[0]).toMatchObject({ orgId: ORGS[0], status: "caught-up", fetched: 250 });
    expect(report.orgs[1]).toMatchObject({ orgId: ORGS[1], status: "failed" });
    expect(report.orgs[1].error).toMatch(/401|refused|org/i);
    expect(stderr).toMatch(new RegExp(`"1 of 2 org\\(s\\) failed, their checkpoints unmoved: ${ORGS[1]}: `));
    expect(t.checkpoints()[checkpointKey(ORGS[1], ["all"])]?.cursor).toBeUndefined();

    const human = await cli(["run", "--once", "--out", t.out], { env: t.env });
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(new RegExp(`^${ORGS[0]}\\s+caught-up`, "m"));
    expect(human.stdout).toMatch(new RegExp(`^${ORGS[1]}\\s+FAILED`, "m"));
    expect(human.stderr).toMatch(/^error: 1 of 2 org\(s\) failed/m);
  });

  it("exits 3 when another run holds a lease, and status and unlock show and clear it", async () => {
    const t = await world({ orgs: [ORGS[0] as string] });
    const key = checkpointKey(ORGS[0], ["all"]);
    const lease = (owner: string, expiresAt: number) =>
      writeFileSync(
        t.env.CHECKPOINT_FILE,
        JSON.stringify({
          [key]: { key, done: false, version: 3, leaseOwner: owner, leaseExpiresAt: expiresAt },
        }),
      );
    lease("4f1c6a0e-lambda-request", Date.now() + HOUR);
    const locked = await cli(["run", "--once", "--out", t.out], { env: t.env });
    expect(locked.code).toBe(3);
    expect(locked.stdout).toMatch(/locked/);
    expect(locked.stderr).toMatch(/another run holds the lease of 5f0e.*see `status`, and `unlock`/);

    const status = await cli(["status", "--json"], { env: t.env });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).checkpoints[0]).toMatchObject({
      key,
      kind: "scheduled",
      orgId: ORGS[0],
      lease: { state: "held", owner: "4f1c6a0e-lambda-request" },
    });
    expect((await cli(["status", "--org", "5f0000000000000000000000"], { env: t.env })).stdout).toMatch(
      /^no checkpoint of org 5f0000000000000000000000 in /,
    );
    const refused = await cli(["unlock"], { env: t.env });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/^error: 1 lease\(s\) left in place: their runs may still be working/m);
    expect(refused.stdout).toMatch(
      /^refused: .*may still be working; wait for the expiry, or stop it, or pass --force/m,
    );
    const forced = await cli(["unlock", "--force"], { env: t.env });
    expect(forced.stdout).toMatch(/^cleared: .* \(--force\)/m);
    expect(t.checkpoints()[key].leaseOwner).toBeUndefined();

    // A CLI run on this host whose process is gone, and an expired lease: cleared without --force.
    lease(`cli:${hostname()}:2147483646:0badc0de`, Date.now() + HOUR);
    expect((await cli(["status"], { env: t.env })).stdout).toMatch(
      /held: cli:.*:2147483646:0badc0de until .* \(its process is gone: the next run or `unlock` clears it\)/,
    );
    expect((await cli(["unlock"], { env: t.env })).stdout).toMatch(
      /cleared: .*process 2147483646 on this host, no longer runs/,
    );
    lease("any-owner", Date.now() - 1);
    expect((await cli(["unlock", "--org", ORGS[0] as string], { env: t.env })).stdout).toMatch(
      /cleared: .*had expired/,
    );
    expect((await cli(["run", "--once", "--out", t.out], { env: t.env })).code).toBe(0);
    expect((await cli(["unlock"], { env: t.env })).stdout).toMatch(/^no lease held in /);

    // A local run takes back, by itself, a lease whose process on this host is gone (a killed run).
    const dead = `cli:${hostname()}:2147483646:0badc0de`;
    const state = t.checkpoints();
    writeFileSync(
      t.env.CHECKPOINT_FILE,
      JSON.stringify({ [key]: { ...state[key], leaseOwner: dead, leaseExpiresAt: Date.now() + HOUR } }),
    );
    const next = await cli(["run", "--once", "--out", t.out], { env: t.env });
    expect(next.code).toBe(0);
    expect(next.stderr).toMatch(
      /^warn: cleared a lease left by a run that no longer runs \(key=.*, owner=cli:.*:2147483646:/m,
    );
  });

  it("replays a window (all duplicates, cursor unmoved) and backfills from a time, resumably", async () => {
    const t = await world({ orgs: [ORGS[0] as string] });
    const env = { ...t.env, INITIAL_LOOKBACK: "2h" };
    const first = await cli(["run", "--once", "--out", t.out], { env });
    expect(first.code).toBe(0);
    const key = checkpointKey(ORGS[0], ["all"]);
    const cursor = t.checkpoints()[key].cursor;
    const before = t.stored().length;
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(t.truth().size / 2);

    // Backfill from 5 hours ago: the span before the cursor as a replay, then the catch-up.
    const from = new Date(Date.now() - 5 * HOUR).toISOString();
    const backfill = await cli(["backfill", "--from", from, "--concurrency", "3", "--json", "--out", t.out], {
      env,
    });
    expect(backfill.code).toBe(0);
    expect(new Set(t.stored())).toStrictEqual(t.truth(Date.parse(from)));
    expect(t.stored()).toHaveLength(t.truth(Date.parse(from)).size);
    expect(JSON.parse(backfill.stdout).orgs).toHaveLength(2);

    const replay = await cli(
      ["replay", "--from", from, "--to", new Date(cursor - 60_000).toISOString(), "--json", "--out", t.out],
      { env },
    );
    expect(replay.code).toBe(0);
    const { total } = JSON.parse(replay.stdout);
    expect(total.indexed).toBe(0);
    expect(total.duplicates).toBeGreaterThan(0);
    expect(t.checkpoints()[key].cursor).toBeGreaterThanOrEqual(cursor);
    // The backfill's replay is done: asking for it again reads nothing.
    const again = await cli(
      ["replay", "--from", from, "--to", new Date(cursor).toISOString(), "--json", "--out", t.out],
      { env },
    );
    expect(JSON.parse(again.stdout).total.fetched).toBe(0);
    const status = JSON.parse((await cli(["status", "--json"], { env })).stdout);
    const replays = (s: { checkpoints: { kind: string; done: boolean }[] }) =>
      s.checkpoints.filter((c) => c.kind === "replay");
    expect(replays(status).filter((c) => c.done)).toHaveLength(2);
    // The same backfill again, as its summary says to resume it: nothing read twice, no new checkpoint.
    const rerun = await cli(["backfill", "--from", from, "--json", "--out", t.out], { env });
    expect(rerun.code).toBe(0);
    expect(JSON.parse(rerun.stdout).total.indexed).toBe(0);
    expect(JSON.parse(rerun.stdout).total.fetched).toBeLessThan(t.truth(Date.parse(from)).size / 4);
    const after = JSON.parse((await cli(["status", "--json"], { env })).stdout);
    expect(replays(after)).toHaveLength(replays(status).length);
  });

  it("refuses a bad mode, bad times, and names every problem (exit 2)", async () => {
    for (const [args, message] of [
      [["run"], /^error: run needs exactly one of --once and --follow$/m],
      [["run", "--once", "--follow"], /^error: run needs exactly one of --once and --follow$/m],
      [["run", "--follow", "--every", "soon"], /^error: --every must be a duration/m],
      [["replay", "--from", "yesterday", "--to", "1h"], /^error: --from must be an ISO 8601 time/m],
      [["replay", "--from", "1h", "--to", "2h"], /^error: --from \(.*\) must be before --to/m],
      [["backfill"], /required option '--from <time>' not specified/],
    ] as const) {
      const { code, stderr } = await cli([...args], { env: { JUMPCLOUD_API_KEY: "k" } });
      expect(code, args.join(" ")).toBe(2);
      expect(stderr).toMatch(message);
    }
    const usage = await cli(["run", "--once", "--bogus", "--json"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toBe("");
    expect(JSON.parse(usage.stdout)).toStrictEqual({
      error: { kind: "usage", message: "unknown option '--bogus'", exitCode: 2 },
    });
    const { code, stdout } = await cli(["run", "--once", "--json"], {
      env: { OVERLAP: "lots", PAGE_LIMIT: "0" },
    });
    expect(code).toBe(2);
    const { error } = JSON.parse(stdout);
    expect(error.kind).toBe("configuration");
    expect(error.problems.join("\n")).toMatch(/OVERLAP[\s\S]*PAGE_LIMIT[\s\S]*credentials are missing/);
  });
});

describe("bad input leaves nothing behind", () => {
  it("refuses an unknown service, a future replay, and --org with --simulate before any request or checkpoint", async () => {
    const t = await tenant({ count: 20 });
    try {
      for (const [args, message] of [
        [
          ["run", "--once", "--services", "sso,bogus"],
          /^error: --services: bogus is not a Directory Insights service/m,
        ],
        [
          ["replay", "--from", "2026-01-01T00:00:00Z", "--to", "2099-01-01T00:00:00Z"],
          /^error: --to \(2099-01-01T00:00:00.000Z\) is in the future/m,
        ],
        [
          ["replay", "--from", "2098-01-01T00:00:00Z", "--to", "2099-01-01T00:00:00Z"],
          /^error: invalid configuration:\n {2}- --from .* is in the future[\s\S]*--to .* is in the future/m,
        ],
        [
          ["run", "--once", "--simulate", "--org", "x,y"],
          /^error: run --simulate reads one simulated org \(the key's own\): drop --org/m,
        ],
        [
          ["replay", "--simulate", "--org", "x", "--from", "2h", "--to", "1h"],
          /^error: replay --simulate reads one simulated org/m,
        ],
      ] as const) {
        const { code, stderr } = await cli([...args], { env: t.env, cwd: t.dir });
        expect(stderr, args.join(" ")).toMatch(message);
        expect(code, args.join(" ")).toBe(2);
      }
      expect(t.sim.requests).toHaveLength(0);
      expect(existsSync(t.env.CHECKPOINT_FILE)).toBe(false);
    } finally {
      await t.sim.stop();
    }
  });
});

describe("run --out with a cluster configured", () => {
  it("warns that the documents go to the cluster, not to the folder", async () => {
    const t = await tenant({ count: 20, orgs: [ORGS[0] as string] });
    const es = new ElasticsearchEmulator();
    try {
      const env = { ...t.env, ELASTICSEARCH_URL: await es.start() };
      const { code, stderr } = await cli(["run", "--once", "--out", t.out], { env });
      expect(stderr).toMatch(/^warn: --out ignored: the documents go to the cluster/m);
      expect(code).toBe(0);
      expect(existsSync(t.out)).toBe(false);
      expect(es.documents(STREAM)).toHaveLength(20);
    } finally {
      await Promise.all([t.sim.stop(), es.stop()]);
    }
  });
});

describe("forget", () => {
  it("says what it would remove, removes only with --yes, and refuses while a run holds the lease", async () => {
    const t = await tenant({ count: 20, orgs: [ORGS[0] as string] });
    try {
      const env = { ...t.env, JUMPCLOUD_SERVICES: "sso" };
      expect((await cli(["run", "--once"], { env })).code).toBe(0);
      const key = checkpointKey(ORGS[0], ["sso"]);
      const status = await cli(["status"], { env });
      expect(status.stdout).toMatch(new RegExp(`keys \\(for \`forget\`\\):\\n {2}${key}$`, "m"));

      const unsure = await cli(["forget", key], { env });
      expect(unsure.stdout).toMatch(
        new RegExp(
          `^would forget: ${key} \\(cursor .*\\) in .*: if this org and service list are collected again, they start INITIAL_LOOKBACK back`,
        ),
      );
      expect(unsure.stderr).toMatch(/^error: nothing removed: add --yes to forget 1 checkpoint\(s\)$/m);
      expect(unsure.code).toBe(2);
      expect(Object.keys(t.checkpoints())).toContain(key);

      const typo = await cli(["forget", "default#bogus#scheduled", "--yes"], { env });
      expect(typo.stderr).toMatch(
        /^error: no checkpoint default#bogus#scheduled in .*: `status` lists the keys there are$/m,
      );
      expect(typo.code).toBe(2);

      // A lease another host's run holds: kept, exit 3.
      const all = t.checkpoints();
      all[key] = { ...all[key], leaseOwner: "cli:elsewhere:1:x", leaseExpiresAt: Date.now() + HOUR };
      writeFileSync(t.env.CHECKPOINT_FILE, JSON.stringify(all));
      const held = await cli(["forget", key, "--yes"], { env });
      expect(held.stdout).toMatch(new RegExp(`^held: ${key}`, "m"));
      expect(held.code).toBe(3);

      all[key] = { ...all[key], leaseExpiresAt: Date.now() - 1 };
      writeFileSync(t.env.CHECKPOINT_FILE, JSON.stringify(all));
      const done = await cli(["forget", key, "--yes", "--json"], { env });
      expect(done.code).toBe(0);
      expect(JSON.parse(done.stdout).checkpoints).toMatchObject([{ key, action: "forgotten" }]);
      expect(Object.keys(t.checkpoints())).not.toContain(key);
    } finally {
      await t.sim.stop();
    }
  });
});

describe("Ctrl-C", () => {
  it("stops after the page in flight: summary, exit 130, lease released; the next run loses and duplicates nothing", async () => {
    const t = await world({ orgs: [ORGS[0] as string], count: 600 });
    const env = { ...t.env, PAGE_LIMIT: "50", BACKFILL_CONCURRENCY: "1" };
    // The first page is served at once; the next ones are slow, so the stop lands mid-run.
    t.sim.inject({ kind: "pass" }, 1, "/events");
    t.sim.inject({ kind: "delay", ms: 1_500 }, 3, "/events");
    const signals = testSignals();
    const cut = await cli(["run", "--once", "--json", "--out", t.out], {
      env,
      signals,
      onLog: (line) => {
        if (line.includes("read up to")) signals.send("SIGINT");
      },
    });
    expect(cut.code).toBe(130);
    expect(cut.stderr).toMatch(/SIGINT: stopping; the page in flight is dropped and read again next run/);
    const report = JSON.parse(cut.stdout);
    expect(report).toMatchObject({ outcome: "interrupted", interruptedBy: "SIGINT" });
    expect(report.orgs[0].status).toBe("interrupted");
    expect(report.total.indexed).toBeLessThan(600);
    expect(t.checkpoints()[checkpointKey(ORGS[0], ["all"])].leaseOwner).toBeUndefined();

    t.sim.clearFaults();
    const rest = await cli(["run", "--once", "--json", "--out", t.out], { env });
    expect(rest.code).toBe(0);
    expect(report.total.indexed + JSON.parse(rest.stdout).total.indexed).toBe(600);
    expect(t.stored()).toHaveLength(600);
    expect(new Set(t.stored())).toStrictEqual(t.truth());
  });

  /** `run --once` in a real process over 600 slow events, sent `signal` once its first page is acknowledged. */
  async function signalledRun(signal: NodeJS.Signals) {
    const t = await world({ orgs: [ORGS[0] as string], count: 600 });
    t.sim.inject({ kind: "pass" }, 1, "/events");
    t.sim.inject({ kind: "delay", ms: 5_000 }, 3, "/events");
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
    const child = spawn(
      process.execPath,
      ["--import", tsx, `${ROOT}cli/main.ts`, "run", "--once", "--out", t.out],
      { env: { PATH: process.env.PATH, ...t.env, PAGE_LIMIT: "50", BACKFILL_CONCURRENCY: "1" } },
    );
    let stderr = "";
    let stdout = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
      if (stderr.includes("read up to") && !child.killed) child.kill(signal);
    });
    const [code, by] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on("close", (c, s) => resolve([c, s])),
    );
    return {
      t,
      code,
      by,
      stdout,
      stderr,
      lease: () => t.checkpoints()[checkpointKey(ORGS[0], ["all"])].leaseOwner,
    };
  }

  it("stops a real process on SIGINT with exit 130 and its lease released", async () => {
    const { code, stdout, stderr, lease } = await signalledRun("SIGINT");
    expect(stderr).toMatch(/SIGINT: stopping/);
    expect(code).toBe(130);
    expect(stdout).toMatch(/^total\s+interrupted/m);
    expect(lease()).toBeUndefined();
  });

  it("killed outright (SIGKILL) mid-run: the next run takes the dead process's lease back and loses nothing", async () => {
    const { t, by, lease } = await signalledRun("SIGKILL");
    expect(by).toBe("SIGKILL");
    // Its lease is left held: no run on this host could give it back.
    expect(lease()).toMatch(/^cli:/);
    const rest = await cli(["run", "--once", "--json", "--out", t.out], { env: t.env });
    expect(rest.code).toBe(0);
    expect(new Set(t.stored())).toStrictEqual(t.truth());
    expect(t.stored()).toHaveLength(600);
  });

  // `npm run cli` is npm → sh → node: a kill -9 of npm reaches neither, so the worker watches them.
  it.runIf(process.platform === "linux")(
    "killed outright through npm (kill -9 of `npm run cli`): the worker stops as on SIGTERM and releases its lease",
    async () => {
      const t = await world({ orgs: [ORGS[0] as string], count: 600 });
      t.sim.inject({ kind: "pass" }, 1, "/events");
      t.sim.inject({ kind: "delay", ms: 5_000 }, 3, "/events");
      const npm = spawn("npm", ["run", "--silent", "cli", "--", "run", "--once", "--out", t.out], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          ...t.env,
          PAGE_LIMIT: "50",
          BACKFILL_CONCURRENCY: "1",
        },
      });
      let stderr = "";
      npm.stdout.resume();
      const acknowledged = new Promise<void>((resolve) =>
        npm.stderr.on("data", (chunk) => {
          stderr += chunk;
          if (stderr.includes("read up to")) resolve();
        }),
      );
      await acknowledged;
      const owner = t.checkpoints()[checkpointKey(ORGS[0], ["all"])].leaseOwner as string;
      const worker = Number(owner.split(":")[2]);
      expect(worker).not.toBe(npm.pid);
      npm.kill("SIGKILL");
      const deadline = Date.now() + 15_000;
      const running = () => {
        try {
          process.kill(worker, 0);
          return true;
        } catch {
          return false;
        }
      };
      while (running() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(running(), "the worker outlived npm").toBe(false);
      expect(stderr).toMatch(/the npm process that started this run is gone: stopping as on SIGTERM/);
      expect(t.checkpoints()[checkpointKey(ORGS[0], ["all"])].leaseOwner).toBeUndefined();
      const rest = await cli(["run", "--once", "--json", "--out", t.out], { env: t.env });
      expect(rest.code).toBe(0);
      expect(new Set(t.stored())).toStrictEqual(t.truth());
    },
    40_000,
  );

  it("ends run --follow between rounds on SIGTERM (exit 143), each round's summary printed", async () => {
    const t = await world({ orgs: [ORGS[0] as string] });
    const signals = testSignals();
    const rounds: string[] = [];
    const { code, stdout, stderr } = await cli(["run", "--follow", "--every", "1s", "--out", t.out], {
      env: t.env,
      signals,
      onWrite: (chunk) => {
        // Two rounds, then SIGTERM while it waits for the third.
        rounds.push(chunk.trimEnd());
        if (rounds.length === 2) signals.send("SIGTERM");
      },
    });
    expect(stderr).not.toMatch(/unexpected|warn/);
    expect(code).toBe(143);
    expect(stdout.trimEnd().split("\n")).toStrictEqual(rounds);
    expect(rounds[0]).toMatch(/ ok: 250 fetched, 250 indexed, 0 duplicates, 0 dead letters$/);
    expect(rounds[1]).toMatch(/ ok: \d+ fetched, 0 indexed/);
    expect(stderr).toMatch(/^error: interrupted by SIGTERM/m);
    expect(t.checkpoints()[checkpointKey(ORGS[0], ["all"])].leaseOwner).toBeUndefined();
  });
});
