import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Node } from "constructs";
import { ConfigurationError } from "../lib/errors.ts";
import { CONTEXT_KEYS } from "./config.ts";

/** Where a deployment's settings are kept when no `-c deploymentFile=...` names another file. */
export const DEFAULT_DEPLOYMENT_FILE = "deployment.json";

/** A deployment's settings as kept in its file: context keys and their values (typed JSON). */
export interface DeploymentFile {
  /** As the user named it (or the default), for messages. */
  readonly path: string;
  readonly settings: Readonly<Record<string, unknown>>;
}

/**
 * Reads the deployment file named by context `deploymentFile` (relative to the working folder),
 * else `deployment.json` if there is one. A missing default is no file; a missing named one,
 * unreadable JSON or anything but an object of settings is a ConfigurationError.
 */
export function readDeploymentFile(node: Node, cwd = process.cwd()): DeploymentFile | undefined {
  const named = node.tryGetContext("deploymentFile") as unknown;
  const path = typeof named === "string" && named.trim() !== "" ? named.trim() : DEFAULT_DEPLOYMENT_FILE;
  let text: string;
  try {
    text = readFileSync(resolve(cwd, path), "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && path === DEFAULT_DEPLOYMENT_FILE && named === undefined) return undefined;
    throw new ConfigurationError([
      `deployment file ${path}: cannot read it (${code ?? (error as Error).message}); create it (see deployment.example.json) or fix -c deploymentFile`,
    ]);
  }
  let settings: unknown;
  try {
    settings = JSON.parse(text);
  } catch (error) {
    throw new ConfigurationError([
      `deployment file ${path} is not valid JSON (${(error as Error).message}): fix it, or start again from deployment.example.json`,
    ]);
  }
  if (typeof settings !== "object" || settings === null || Array.isArray(settings))
    throw new ConfigurationError([
      `deployment file ${path} must hold one JSON object of settings, such as {"namespace": "prod"}`,
    ]);
  // Keys starting with `//` or `$` are comments and the schema link: JSON has no comments.
  const kept = Object.entries(settings).filter(([key]) => !key.startsWith("//") && !key.startsWith("$"));
  return { path, settings: Object.fromEntries(kept) };
}

/** Two setting values alike: the file's typed `["a","b"]` and `-c`'s text `a,b` are the same list. */
function same(a: unknown, b: unknown): boolean {
  const text = (v: unknown) =>
    Array.isArray(v) ? v.map((x) => String(x).trim()).join(",") : String(v).trim();
  return text(a) === text(b);
}

/** What applying the file found: context that overrides it, and context it does not hold at all. */
export interface AppliedDeployment {
  overridden: { key: string; file: unknown; context: unknown }[];
  contextOnly: { key: string; context: unknown }[];
}

// Context keys that steer the synth itself rather than describe the deployment.
const NOT_KEPT = new Set<string>(["deploymentFile", "renameStack"]);

/**
 * Puts the file's settings into the app's context where `-c` (or cdk.json) gives none, so the
 * stack reads one merged view. Must run before the stack is built.
 */
export function applyDeploymentFile(node: Node, file: DeploymentFile | undefined): AppliedDeployment {
  const overridden: AppliedDeployment["overridden"] = [];
  const contextOnly = CONTEXT_KEYS.filter(
    (key) => !NOT_KEPT.has(key) && node.tryGetContext(key) !== undefined && file?.settings[key] === undefined,
  ).map((key) => ({ key, context: node.tryGetContext(key) as unknown }));
  for (const [key, value] of Object.entries(file?.settings ?? {})) {
    const given = node.tryGetContext(key) as unknown;
    if (given === undefined) node.setContext(key, value);
    else if (!same(given, value)) overridden.push({ key, file: value, context: given });
  }
  return { overridden, contextOnly };
}

/** The warning a one-off `-c` override deserves: the next deploy without it goes back. */
export function overrideWarnings(file: DeploymentFile | undefined, applied: AppliedDeployment): string[] {
  const path = file?.path ?? DEFAULT_DEPLOYMENT_FILE;
  const unkept = applied.contextOnly.map(
    ({ key, context }) =>
      `context ${key}=${JSON.stringify(context)} (-c, or cdk.json) is not in ${path}: given with -c, it holds for this deploy only: the next deploy without it goes back to the default; to keep it, put it in ${path}`,
  );
  return [
    ...unkept,
    ...applied.overridden.map(
      ({ key, file: kept, context }) =>
        `context ${key}=${JSON.stringify(context)} (-c, or cdk.json) overrides ${file?.path}'s ${JSON.stringify(kept)}: given with -c, it holds for this deploy only: the next deploy without it goes back; to keep it, change ${file?.path}`,
    ),
  ];
}

/** AWS CloudFormation's rule for a stack name. */
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;

/**
 * The stack's name, and why it may not be used: a name given only with `-c` is forgotten by the
 * next deploy, which would then create a second stack beside the first; so a name that differs
 * from the file's (or the default, without a file) needs `-c renameStack=true`.
 */
export function stackNameProblems(node: Node, file: DeploymentFile | undefined, fallback: string): string[] {
  const raw = node.tryGetContext("stackName") as unknown;
  const name = raw === undefined || raw === "" ? fallback : String(raw);
  const problems: string[] = [];
  if (!STACK_NAME.test(name))
    problems.push(
      `context stackName must start with a letter and hold only letters, digits and hyphens (at most 128), not ${JSON.stringify(name)}`,
    );
  if (problems.length > 0) return problems;
  const kept = file?.settings.stackName;
  const expected = kept === undefined ? fallback : String(kept);
  const rename = node.tryGetContext("renameStack") as unknown;
  if (rename !== undefined && !["true", "false"].includes(String(rename).toLowerCase()))
    return [`context renameStack must be true or false, not ${JSON.stringify(rename)}`];
  const renaming = String(rename ?? "").toLowerCase() === "true";
  if (name !== expected && !renaming) {
    const where = file ? `${file.path}'s stackName "${expected}"` : `the default name "${expected}"`;
    problems.push(
      `context stackName "${name}" differs from ${where}: a different name deploys a second stack beside the first (with its own table and schedule). Put stackName in ${file?.path ?? DEFAULT_DEPLOYMENT_FILE} to keep a name, or add -c renameStack=true if a new stack is what you want`,
    );
  }
  return problems;
}
