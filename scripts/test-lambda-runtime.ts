// Runs vitest on the Node of the Lambda runtime (test/helpers/lambda-node.ts), so the tests that
// start the handlers and bundles exercise what nodejs24.x runs rather than the local Node.
// Usage: tsx scripts/test-lambda-runtime.ts [vitest run arguments: paths, -t, --reporter ...]
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { constants } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { LAMBDA_NODE_MAJOR, lambdaNode } from "../test/helpers/lambda-node.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

let node: ReturnType<typeof lambdaNode>;
try {
  node = lambdaNode();
} catch (error) {
  console.error(`test:lambda-runtime: ${(error as Error).message}`);
  process.exit(1);
}

const manifest = createRequire(import.meta.url).resolve("vitest/package.json");
const { bin } = JSON.parse(readFileSync(manifest, "utf8")) as { bin: { vitest: string } };
const vitest = join(dirname(manifest), bin.vitest);

const shown = relative(ROOT, node.path).startsWith("..") ? node.path : relative(ROOT, node.path);
console.log(
  node.exact
    ? `test:lambda-runtime: Node ${node.version} (${shown}), as the Lambda runtime nodejs${LAMBDA_NODE_MAJOR}.x`
    : `test:lambda-runtime: ${node.note}`,
);

const child = spawn(node.path, [vitest, "run", ...process.argv.slice(2)], { cwd: ROOT, stdio: "inherit" });
// Ctrl-C reaches vitest from the terminal too: wait for it to finish rather than die first.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => child.kill("SIGTERM"));
child.on("exit", (code, signal) => process.exit(code ?? 128 + (signal ? constants.signals[signal] : 0)));
