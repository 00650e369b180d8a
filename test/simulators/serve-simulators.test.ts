import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, ROOT, TSX } from "../helpers/cli.ts";

// What the README shows for trying things by hand: `npm run simulators`, then the CLI against them.
describe("npm run simulators", () => {
  it("serves the simulator and the emulator on the ports asked for, which the CLI then uses; Ctrl-C stops both", async () => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        TSX,
        join(ROOT, "scripts/serve-simulators.ts"),
        "--jumpcloud-port",
        "0",
        "--elasticsearch-port",
        "0",
        "--events",
        "300",
      ],
      { cwd: ROOT },
    );
    let stdout = "";
    const exported = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (chunk) => {
        stdout += chunk;
        const line = /^ {2}export (.*)$/m.exec(stdout);
        if (line?.[1]) resolve(line[1]);
      });
      child.on("exit", () => reject(new Error(`exited early: ${stdout}`)));
    });
    const env = Object.fromEntries(exported.split(" ").map((pair) => pair.split("=") as [string, string]));
    const dir = mkdtempSync(join(tmpdir(), "simulators-"));
    const local = { ...env, CHECKPOINT_FILE: join(dir, "c.json"), DEAD_LETTER_DIR: join(dir, "dead") };
    try {
      expect((await cli(["setup"], { env: local })).code).toBe(0);
      const doctor = await cli(["doctor"], { env: local });
      expect(doctor.stdout).toMatch(/^✓ JumpCloud: /m);
      expect(doctor.stdout).toMatch(/^✓ Elasticsearch: /m);
      expect(doctor.code, doctor.stdout).toBe(0);
      const run = await cli(["run", "--once", "--json"], { env: local });
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout).total.indexed).toBeGreaterThan(250);
    } finally {
      const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      child.kill("SIGINT");
      expect(await exit).toBe(0);
      expect(stdout).toMatch(/^stopped$/m);
    }
  });
});
