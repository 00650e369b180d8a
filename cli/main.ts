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
// A range this check cannot read is the SDK's to enforce: it never blocks the CLI by itself.
let node: NodeVersionCheck = { verdict: "ok" };
try {
  node = checkNodeVersion(process.version, installedSdkEngines());
} catch {
  // fall through: the SDK's own check applies
}
if (node.verdict === "refuse") {
  process.stderr.write(`${node.message}\n`);
  process.exit(2);
}
// One line on every run, terminal or not (cron and CI logs too); the SDK's own switch for its
// notice of the same turns this one off.
if (node.verdict === "warn" && process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED !== "true") {
  process.stderr.write(`${node.message}\n`);
}

// The SDK's own notice of the same (seven lines, on every Node 20 run) would bury the CLI's messages.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

// curl and most tools read the lowercase names too (and prefer them for http_proxy).
for (const name of ["https_proxy", "http_proxy", "no_proxy"]) {
  const upper = name.toUpperCase();
  if (process.env[name] && !process.env[upper]) process.env[upper] = process.env[name];
}

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  io: processIo,
  signals: processSignals,
});
