import { processIo } from "./io.ts";
import { checkNodeVersion, installedSdkEngines, type NodeVersionCheck } from "./node-version.ts";
import { runCli } from "./program.ts";
import { processSignals } from "./signals.ts";

// A closed pipe (`... | head`) means the reader has what it wants: stop quietly.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

// Before any command loads the SDK: a Node it refuses is one clear line, not a stack trace later.
let node: NodeVersionCheck;
try {
  node = checkNodeVersion(process.version, installedSdkEngines());
} catch (error) {
  node = { verdict: "refuse", message: `error: ${(error as Error).message}` };
}
if (node.verdict === "refuse") {
  process.stderr.write(`${node.message}\n`);
  process.exit(2);
}
// A notice for the person at a terminal; piped stderr (scripts, the CLI's tests) stays the commands'
// own. Setting the SDK's switch for its own notice turns this one off too.
if (
  node.verdict === "warn" &&
  process.stderr.isTTY &&
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED !== "true"
) {
  process.stderr.write(`${node.message}\n`);
}

// The SDK's own notice of the same (seven lines, on every Node 20 run) would bury the CLI's messages.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  io: processIo,
  signals: processSignals,
});
