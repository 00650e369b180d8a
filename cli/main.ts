import { processIo } from "./io.ts";
import { runCli } from "./program.ts";

// A closed pipe (`... | head`) means the reader has what it wants: stop quietly.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

process.exitCode = await runCli(process.argv.slice(2), { env: process.env, io: processIo });
