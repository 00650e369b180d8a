import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

/** The Node major that AWS SDK for JavaScript v3 releases from January 2027 on require. */
export const SDK_2027_NODE_MAJOR = 22;

/** The Node major the Lambda functions run (`Runtime.NODEJS_24_X`; a test keeps them equal). */
export const LAMBDA_NODE_MAJOR = 24;

/** The installed AWS SDK package whose `engines.node` the CLI must satisfy. */
export interface SdkEngines {
  name: string;
  version: string;
  node: string;
}

/** What the CLI does on the running Node: go on, go on after a warning, or stop with an error (exit 2). */
export type NodeVersionCheck = { verdict: "ok" } | { verdict: "warn" | "refuse"; message: string };

type Version = [major: number, minor: number, patch: number];

/** Checks a Node version (`v20.11.1`) against the SDK's `engines.node` (`>=X.Y.Z` only) and its 2027 need. */
export function checkNodeVersion(running: string, sdk: SdkEngines): NodeVersionCheck {
  const required = parseMinimum(sdk.node, `${sdk.name} ${sdk.version}'s engines.node`);
  const current = parseVersion(running);
  if (current === undefined) throw new Error(`cannot read the running Node version "${running}"`);
  const needed = compare(required, [SDK_2027_NODE_MAJOR, 0, 0]) > 0 ? required : undefined;
  const advice = `install Node ${needed ? format(needed) : SDK_2027_NODE_MAJOR} or later (${LAMBDA_NODE_MAJOR} is what the Lambda functions run)`;
  if (compare(current, required) < 0) {
    return {
      verdict: "refuse",
      message: `error: Node ${running} is too old for the installed AWS SDK (${sdk.name} ${sdk.version} requires node ${sdk.node}): ${advice}`,
    };
  }
  if (current[0] < SDK_2027_NODE_MAJOR) {
    return {
      verdict: "warn",
      message: `warning: Node ${running} is past end of life, and AWS SDK for JavaScript releases from January 2027 require Node ${SDK_2027_NODE_MAJOR} or later: ${advice}`,
    };
  }
  return { verdict: "ok" };
}

/** `engines.node` of the installed @aws-sdk/client-dynamodb: its package.json only, not the SDK. */
export function installedSdkEngines(): SdkEngines {
  const name = "@aws-sdk/client-dynamodb";
  const manifest = createRequire(import.meta.url).resolve(`${name}/package.json`);
  const pkg = JSON.parse(readFileSync(manifest, "utf8")) as { version: string; engines?: { node?: string } };
  return { name, version: pkg.version, node: pkg.engines?.node ?? ">=0" };
}

function parseMinimum(range: string, what: string): Version {
  const match = /^\s*>=\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$/.exec(range);
  if (!match) {
    throw new Error(`cannot check the Node version: ${what} is "${range}", and only ">=X.Y.Z" is understood`);
  }
  return [Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0)];
}

function parseVersion(version: string): Version | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

const compare = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

const format = ([major, minor, patch]: Version) =>
  minor === 0 && patch === 0 ? `${major}` : `${major}.${minor}.${patch}`;
