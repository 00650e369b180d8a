import { processIo } from "./io.ts";
import { runCli } from "./program.ts";
import { processSignals } from "./signals.ts";

// A closed pipe (`... | head`) means the reader has what it wants: stop quietly.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

// The AWS SDK warns on every Node 20 run that its releases after January 2027 need Node 22; the
// CLI supports Node 20, and the notice would bury the CLI's own messages on stderr.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  io: processIo,
  signals: processSignals,
});
