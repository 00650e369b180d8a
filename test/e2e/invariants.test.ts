import { afterEach, describe, expect, it } from "vitest";
import { checkpointKey } from "../../lib/collect/collector.ts";
import { EcsMapper } from "../../lib/ecs/mapper.ts";
import { idOf, JUMPCLOUD_KEY, MINUTE, T0, tenant, World } from "./harness.ts";
import { CursorLedger, checkOutcome, findSecrets, type Outcome, type TruthEvent } from "./invariants.ts";

const ORG = "5f1e2e2e2e2e2e2e2e2e2e0a";
const KEY = checkpointKey(undefined, ["all"]);
const event = (id: string, at: number, visibleAt = at): TruthEvent => ({
  id,
  orgId: ORG,
  service: "sso",
  at,
  visibleAt,
});
const truth = [event("a", T0 - 3 * MINUTE), event("b", T0 - 2 * MINUTE, T0 + 10 * MINUTE)];

describe("the cursor checks", () => {
  const ledger = () => {
    const l = new CursorLedger(truth, ORG, 60 * MINUTE);
    l.onAcquire(KEY, T0);
    return l;
  };

  it("accept a cursor past acknowledged events, and past events not visible yet", () => {
    const l = ledger();
    l.acknowledge(KEY, ["a"]);
    l.onSave(KEY, { cursor: T0 - MINUTE }, T0);
    expect(l.violations).toStrictEqual([]);
  });

  it("flag a cursor past a visible event nobody acknowledged", () => {
    const l = ledger();
    l.onSave(KEY, { cursor: T0 - MINUTE }, T0);
    expect(l.violations).toStrictEqual([
      expect.stringMatching(/passed 1 unacknowledged event\(s\), first a/),
    ]);
  });

  it("flag a cursor moving past a visible late event, and acknowledgements of another key do not count", () => {
    const l = ledger();
    l.acknowledge(KEY, ["a"]);
    l.acknowledge(checkpointKey(undefined, ["all"], { start: T0 - MINUTE * 10, end: T0 }), ["b"]);
    l.onSave(KEY, { cursor: T0 - MINUTE }, T0 + 20 * MINUTE);
    expect(l.violations).toStrictEqual([expect.stringMatching(/first b/)]);
  });

  it("judge a cursor when it moves, not on saves that keep it", () => {
    const l = ledger();
    l.acknowledge(KEY, ["a"]);
    l.onSave(KEY, { cursor: T0 - MINUTE }, T0);
    l.onSave(KEY, { cursor: T0 - MINUTE }, T0 + 20 * MINUTE);
    expect(l.violations).toStrictEqual([]);
  });

  it("flag a cursor moving back", () => {
    const l = ledger();
    l.acknowledge(KEY, ["a", "b"]);
    l.onSave(KEY, { cursor: T0 }, T0);
    l.onSave(KEY, { cursor: T0 - MINUTE }, T0);
    expect(l.violations).toStrictEqual([expect.stringMatching(/cursor moved back/)]);
  });

  it("judge the trailing re-read's position from where it first stood", () => {
    const l = ledger();
    l.acknowledge(KEY, ["a"]);
    l.onSave(KEY, { cursor: T0, recheckedTo: T0 - 10 * MINUTE }, T0);
    expect(l.violations).toStrictEqual([]);
    l.onSave(KEY, { cursor: T0, recheckedTo: T0 }, T0 + 20 * MINUTE);
    expect(l.violations).toStrictEqual([
      expect.stringMatching(/recheckedTo .* passed 1 unacknowledged event\(s\), first b/),
    ]);
  });

  it("judge a window read in an earlier run by what was visible when it was read", () => {
    const l = ledger();
    l.acknowledge(KEY, ["a"]);
    const window = { start: T0 - 5 * MINUTE, end: T0, searchAfter: undefined, pages: 1, done: true };
    l.onSave(KEY, { cursor: undefined, progress: [window] }, T0);
    l.onSave(KEY, { cursor: T0, progress: [] }, T0 + 20 * MINUTE);
    expect(l.violations).toStrictEqual([]);
    const late = ledger();
    late.acknowledge(KEY, ["a"]);
    late.onSave(KEY, { cursor: undefined, progress: [window] }, T0 + 20 * MINUTE);
    late.onSave(KEY, { cursor: T0, progress: [] }, T0 + 20 * MINUTE);
    expect(late.violations).toStrictEqual([expect.stringMatching(/first b/)]);
  });

  it("owe a replay only its own window", () => {
    const replay = checkpointKey(undefined, ["all"], { start: T0 - 2 * MINUTE, end: T0 });
    const l = ledger();
    l.onSave(replay, { cursor: T0 - MINUTE }, T0 + 20 * MINUTE);
    expect(l.violations).toStrictEqual([expect.stringMatching(/first b/)]);
  });
});

describe("the end-state checks", () => {
  const outcome = (over: Partial<Outcome>): Outcome => ({
    stored: [
      { id: "a", index: ".ds-1" },
      { id: "b", index: ".ds-1" },
    ],
    deadLetters: [],
    finalCursors: new Map([[ORG, T0]]),
    replays: [],
    ...over,
  });

  it("accept every event stored once", () => {
    expect(checkOutcome(truth, outcome({}))).toStrictEqual([]);
  });

  it.each([
    [
      "a copy in a second backing index",
      {
        stored: [
          { id: "a", index: ".ds-1" },
          { id: "a", index: ".ds-2" },
          { id: "b", index: ".ds-2" },
        ],
      },
      /a stored 2 times/,
    ],
    [
      "a lost event",
      { stored: [{ id: "a", index: ".ds-1" }] },
      /1 event\(s\) neither stored nor dead-lettered/,
    ],
    [
      "a document that no window holds",
      {
        stored: [
          { id: "a", index: ".ds-1" },
          { id: "b", index: ".ds-1" },
          { id: "z", index: ".ds-1" },
        ],
      },
      /landed that no collected window holds/,
    ],
    [
      "a document both stored and dead-lettered",
      { deadLetters: [{ id: "a", reason: "mapping" }] },
      /a is both stored and dead-lettered/,
    ],
    [
      "a dead letter without a reason",
      { stored: [{ id: "a", index: ".ds-1" }], deadLetters: [{ id: "b", reason: " " }] },
      /dead letter b has no reason/,
    ],
  ])("flag %s", (_, over, message) => {
    expect(checkOutcome(truth, outcome(over))).toStrictEqual([expect.stringMatching(message)]);
  });
});

describe("the secret scan", () => {
  it("names the secret and the place, never the value", () => {
    const secrets = new Map([["API key", "k-0123456789"]]);
    expect(findSecrets(secrets, { logs: "ok", documents: 'x {"key":"k-0123456789"}' })).toStrictEqual([
      "API key found in documents",
    ]);
  });
});

describe("the harness", () => {
  let world: World | undefined;
  afterEach(async () => world?.stop());

  it("gives every event the `_id` the mapper gives it", () => {
    const mapper = new EcsMapper();
    const events = tenant(ORG, 300, 4).map((g) => g.event);
    expect(events.map(idOf)).toStrictEqual(events.map((e) => mapper.mapValue(e).id));
    expect(idOf({ message: "no id, no timestamp" })).toMatch(/^raw-/);
  });

  it("finds a key that a run left in a log line", async () => {
    world = await new World({ orgs: [{ orgId: ORG, events: tenant(ORG, 50, 5) }] }).start();
    await world.runUntilCaughtUp();
    world.logger.warn("retrying", { header: `x-api-key: ${JUMPCLOUD_KEY}` });
    expect(await world.violations()).toStrictEqual(["JumpCloud API key #1 found in logs"]);
  });

  it("catches a mapper that acknowledges events it never stored", async () => {
    world = await new World({ orgs: [{ orgId: ORG, events: tenant(ORG, 200, 3) }] }).start();
    world.mapper.failAt(2, "lie");
    await world.runUntilCaughtUp();
    expect(await world.violations()).toStrictEqual([
      expect.stringMatching(/^\d+ event\(s\) neither stored nor dead-lettered/),
    ]);
  });
});
