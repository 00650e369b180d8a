import { Command } from "commander";
import { JumpcloudElasticError } from "../lib/errors.ts";
import { demoCommand } from "./demo-command.ts";
import { fetchCommand } from "./fetch-command.ts";
import { processOutput } from "./io.ts";
import { mapCommand } from "./map-command.ts";
import { runCommand } from "./run-command.ts";
import { setupCommand } from "./setup-command.ts";

// A closed pipe (`... | head`) means the reader has what it wants: stop quietly.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

const program = new Command("jumpcloud-elastic")
  .description("JumpCloud Directory Insights → Elasticsearch (ECS)")
  .showHelpAfterError()
  .addCommand(mapCommand(process.env, processOutput))
  .addCommand(fetchCommand(process.env, processOutput))
  .addCommand(demoCommand(processOutput))
  .addCommand(setupCommand(process.env, processOutput))
  .addCommand(runCommand(process.env, processOutput));

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Known failures get one clear line; anything else is a bug and keeps its stack.
  if (error instanceof JumpcloudElasticError) {
    process.stderr.write(`error: ${error.message}\n`);
  } else {
    process.stderr.write(
      `unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
  process.exitCode = 1;
}
