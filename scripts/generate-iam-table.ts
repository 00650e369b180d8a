// Rewrites docs/deploy.md's least-privilege table from the synthesized template (`npm run docs:iam`).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { buildApp } from "../infra/app.ts";
import { withLeastPrivilegeTable } from "../infra/least-privilege.ts";

/** The default stack's resources, synthesized without bundling (the policies do not depend on it). */
export function synthesizedResources(): Record<
  string,
  { Type: string; Properties?: Record<string, unknown> }
> {
  const outdir = mkdtempSync(join(tmpdir(), "iam-table-"));
  try {
    const { app, stack } = buildApp(new App({ outdir, context: { "aws:cdk:bundling-stacks": [] } }));
    return app.synth().getStackByName(stack.stackName).template.Resources;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

if (import.meta.url.endsWith(process.argv[1]?.replace(/\\/g, "/") ?? "")) {
  const path = new URL("../docs/deploy.md", import.meta.url);
  writeFileSync(path, withLeastPrivilegeTable(readFileSync(path, "utf8"), synthesizedResources()));
}
