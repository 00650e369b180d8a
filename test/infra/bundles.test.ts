import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUNDLE_FILE, ENTRIES, lambdaBuildOptions } from "../../infra/bundling.ts";
import { assetDir, type SynthesizedStack, synthesize } from "./emulators/stack-template.ts";

const run = promisify(execFile);
const ROOT = mkdtempSync(join(tmpdir(), "bundles-test-"));
afterAll(() => rmSync(ROOT, { recursive: true, force: true }));

// Loads a bundle as Lambda's Node runtime does (CommonJS `require` of index.js), in a fresh process
// with no node_modules anywhere above it and no NODE_PATH: whatever the bundle left out fails here.
async function importInFreshNode(dir: string): Promise<string> {
  const script = `process.stdout.write(typeof require(${JSON.stringify(join(dir, BUNDLE_FILE))}).handler)`;
  const { stdout } = await run(process.execPath, ["-e", script], {
    cwd: dir,
    env: { PATH: "/usr/bin:/bin", AWS_REGION: "us-east-1", TZ: "UTC" },
  });
  return stdout;
}

describe("the Lambda bundles", () => {
  let stack: SynthesizedStack;
  beforeAll(() => {
    stack = synthesize(join(ROOT, "cdk.out"), {});
  }, 300_000);

  const functions = Object.keys(ENTRIES) as (keyof typeof ENTRIES)[];

  it.each(functions)("builds the %s exactly as the benchmark does, from the same options", async (fn) => {
    const deployed = assetDir(stack, stack.functionIds[fn]);
    const outdir = join(ROOT, "esbuild", fn);
    await build(lambdaBuildOptions(ENTRIES[fn], outdir));
    expect(readFileSync(join(outdir, BUNDLE_FILE)).equals(readFileSync(join(deployed, BUNDLE_FILE)))).toBe(
      true,
    );
    // The source map Lambda's --enable-source-maps reads, and the licence notices, ride along.
    for (const file of [`${BUNDLE_FILE}.map`, `${BUNDLE_FILE}.LEGAL.txt`, "THIRD-PARTY-LICENSES.txt"])
      expect(existsSync(join(deployed, file)), file).toBe(true);
  });

  it.each(functions)("imports the %s bundle in a fresh Node process, its handler a function", async (fn) => {
    const deployed = assetDir(stack, stack.functionIds[fn]);
    expect(await importInFreshNode(deployed)).toBe("function");
  });

  it("bundles the AWS SDK with its licence, rather than relying on the runtime's copy", () => {
    const notices = readFileSync(
      join(assetDir(stack, stack.functionIds.collector), "THIRD-PARTY-LICENSES.txt"),
      "utf8",
    );
    expect(notices).toMatch(/^== @aws-sdk\/client-lambda \S+ \(Apache-2\.0\)$/m);
  });
});
