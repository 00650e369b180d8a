import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  checkNodeVersion,
  installedSdkEngines,
  LAMBDA_NODE_MAJOR,
  SDK_2027_NODE_MAJOR,
} from "../../cli/node-version.ts";
import { cliProcess } from "../helpers/cli.ts";
import { LAMBDA_NODE_MAJOR as STACK_NODE_MAJOR } from "../helpers/lambda-node.ts";

const sdk = (node: string) => ({ name: "@aws-sdk/client-dynamodb", version: "3.1169.0", node });

describe("checkNodeVersion", () => {
  it("warns on a Node the SDK accepts today but its 2027 releases will not", () => {
    expect(checkNodeVersion("v20.20.2", sdk(">=20.0.0"))).toStrictEqual({
      verdict: "warn",
      message:
        "warning: Node v20.20.2 is past end of life, and AWS SDK for JavaScript releases from January 2027 require Node 22 or later: install Node 22 or later (24 is what the Lambda functions run)",
    });
  });

  it("refuses a Node below the installed SDK's engines.node, naming both and what to do", () => {
    expect(checkNodeVersion("v20.20.2", sdk(">=22.0.0"))).toStrictEqual({
      verdict: "refuse",
      message:
        "error: Node v20.20.2 is too old for the installed AWS SDK (@aws-sdk/client-dynamodb 3.1169.0 requires node >=22.0.0): install Node 22 or later (24 is what the Lambda functions run)",
    });
    expect(checkNodeVersion("v18.20.8", sdk(">=20.0.0")).verdict).toBe("refuse");
    expect(checkNodeVersion("v22.11.0", sdk(">=22.12.0"))).toMatchObject({
      verdict: "refuse",
      message: expect.stringContaining(": install Node 22.12.0 or later (24 is"),
    });
    expect(checkNodeVersion("v22.20.0", sdk(">=24"))).toMatchObject({
      verdict: "refuse",
      message: expect.stringContaining(": install Node 24 or later"),
    });
  });

  it("says nothing from Node 22 on, when the SDK accepts it", () => {
    expect(checkNodeVersion("v22.0.0", sdk(">=20.0.0"))).toStrictEqual({ verdict: "ok" });
    expect(checkNodeVersion("v24.22.3", sdk(">=22.0.0"))).toStrictEqual({ verdict: "ok" });
    expect(checkNodeVersion("v24.0.0", sdk(" >= 22 "))).toStrictEqual({ verdict: "ok" });
  });

  it("compares minor and patch too", () => {
    expect(checkNodeVersion("v20.10.9", sdk(">=20.11")).verdict).toBe("refuse");
    expect(checkNodeVersion("v20.11.0", sdk(">=20.11")).verdict).toBe("warn");
  });

  it("throws on a range it cannot read rather than guessing", () => {
    for (const range of ["^20.0.0", ">=18 <23", ">=20.0.0 || >=22", "20.x", "*"]) {
      expect(() => checkNodeVersion("v24.0.0", sdk(range))).toThrow(
        `cannot check the Node version: @aws-sdk/client-dynamodb 3.1169.0's engines.node is "${range}", and only ">=X.Y.Z" is understood`,
      );
    }
    expect(() => checkNodeVersion("24", sdk(">=20.0.0"))).toThrow(/running Node version "24"/);
  });
});

describe("the installed AWS SDK and the stack", () => {
  it("declares an engines.node the check reads, and the running Node passes it", () => {
    const engines = installedSdkEngines();
    expect(engines.node).toMatch(/^>=/);
    expect(checkNodeVersion(process.version, engines).verdict).not.toBe("refuse");
  });

  it("is not promised to a Node older than the SDK accepts: package.json's engines.node follows it", () => {
    const { engines } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      engines: { node: string };
    };
    const lowest = /^>=(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(engines.node);
    expect(lowest, engines.node).not.toBeNull();
    const [, major, minor = "0", patch = "0"] = lowest ?? [];
    expect(checkNodeVersion(`v${major}.${minor}.${patch}`, installedSdkEngines()).verdict).not.toBe("refuse");
  });

  it("names the Lambda runtime's major, above the SDK's 2027 minimum", () => {
    expect(LAMBDA_NODE_MAJOR).toBe(STACK_NODE_MAJOR);
    expect(LAMBDA_NODE_MAJOR).toBeGreaterThanOrEqual(SDK_2027_NODE_MAJOR);
  });
});

describe("the CLI on the running Node (a process of its own)", () => {
  it("says on stderr, terminal or not, that this Node is too old for the SDK's 2027 releases, and still runs", async () => {
    const { code, stdout, stderr } = await cliProcess(["--version"], {
      env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "" },
    });
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const major = Number(process.versions.node.split(".")[0]);
    if (major < SDK_2027_NODE_MAJOR)
      expect(stderr).toBe(
        `warning: Node ${process.version} is past end of life, and AWS SDK for JavaScript releases from January 2027 require Node ${SDK_2027_NODE_MAJOR} or later: install Node ${SDK_2027_NODE_MAJOR} or later (${LAMBDA_NODE_MAJOR} is what the Lambda functions run)\n`,
      );
    else expect(stderr).toBe("");
  }, 30_000);
});
