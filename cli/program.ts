import { Command, CommanderError } from "commander";
import { ConfigurationError, JumpcloudElasticError, UsageError } from "../lib/errors.ts";
import { demoCommand } from "./demo-command.ts";
import { fetchCommand } from "./fetch-command.ts";
import { mapCommand } from "./map-command.ts";
import { runCommand } from "./run-command.ts";
import type { CliSeams } from "./settings.ts";
import { setupCommand } from "./setup-command.ts";

/** Exit statuses: 0 done, 1 the work failed, 2 usage or configuration (fix the command or settings). */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** The CLI's commands, writing through `seams.io` and reading `seams.env` only. */
export function createProgram(seams: CliSeams): Command {
  const program = new Command("jumpcloud-elastic")
    .description("JumpCloud Directory Insights → Elasticsearch (ECS)")
    .showHelpAfterError()
    .configureOutput({
      writeOut: (text) => void seams.io.write(text),
      writeErr: (text) => seams.io.log(text.trimEnd()),
    })
    .exitOverride()
    .addCommand(mapCommand(seams))
    .addCommand(fetchCommand(seams))
    .addCommand(demoCommand(seams))
    .addCommand(setupCommand(seams))
    .addCommand(runCommand(seams));
  // Subcommands report through the same streams, and never exit the process themselves.
  for (const command of program.commands) {
    command.configureOutput(program.configureOutput()).exitOverride().showHelpAfterError();
  }
  return program;
}

/** One clear message for a known failure; anything else is a bug and keeps its stack. */
function report(error: unknown, seams: CliSeams): number {
  if (error instanceof CommanderError) {
    // Commander has already printed its message (or the help / version asked for).
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (error instanceof ConfigurationError) {
    const [only] = error.problems;
    seams.io.log(error.problems.length === 1 ? `error: ${only}` : `error: ${error.message}`);
    return EXIT.usage;
  }
  if (error instanceof UsageError) {
    seams.io.log(`error: ${error.message}`);
    return EXIT.usage;
  }
  if (error instanceof JumpcloudElasticError) {
    seams.io.log(`error: ${error.message}`);
    return EXIT.failed;
  }
  seams.io.log(
    `unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  return EXIT.failed;
}

/** Runs the CLI on `args` (without `node` and the script) and answers its exit status. */
export async function runCli(args: readonly string[], seams: CliSeams): Promise<number> {
  try {
    await createProgram(seams).parseAsync([...args], { from: "user" });
    return EXIT.ok;
  } catch (error) {
    return report(error, seams);
  }
}
