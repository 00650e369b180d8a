import { describe, expect, it } from "vitest";
import { launchers, watchLaunchers } from "../../cli/signals.ts";

const NPM = { npm_lifecycle_event: "cli" };

describe("the processes that launched a run", () => {
  it("are npm and the shell it ran the script in, when npm did", () => {
    const stat = (pid: number) => (pid === 20 ? { comm: "sh", ppid: 10 } : undefined);
    expect(launchers(NPM, 20, stat)).toStrictEqual([20, 10]);
  });

  it("are npm alone when it started node itself, and none without npm or once orphaned", () => {
    expect(launchers(NPM, 10, () => ({ comm: "npm run cli", ppid: 5 }))).toStrictEqual([10]);
    expect(launchers({}, 20, () => ({ comm: "sh", ppid: 10 }))).toStrictEqual([]);
    expect(launchers(NPM, 1, () => undefined)).toStrictEqual([]);
  });

  it("are watched until one is gone, then reported once", async () => {
    let calls = 0;
    // A pid far above any pid_max: never a running process.
    const stop = watchLaunchers([process.pid, 2 ** 31 - 2], () => calls++, 10);
    await new Promise((r) => setTimeout(r, 60));
    stop();
    expect(calls).toBe(1);
    const quiet = watchLaunchers([process.pid], () => calls++, 10);
    await new Promise((r) => setTimeout(r, 40));
    quiet();
    expect(calls).toBe(1);
  });
});
