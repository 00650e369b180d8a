import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import {
  ConfigurationError,
  InterruptedError,
  JumpcloudElasticError,
  LockedError,
  UsageError,
} from "../lib/errors.ts";
import { doctorCommand } from "./doctor-command.ts";
import { fetchCommand } from "./fetch-command.ts";
import { invokeReplayCommand } from "./invoke-replay-command.ts";
import { mapCommand } from "./map-command.ts";
import { EXIT, jsonOption, wantsJson } from "./output.ts";
import { redriveCommand } from "./redrive-command.ts";
import { backfillCommand, replayCommand } from "./replay-command.ts";
import { runCommand } from "./run-command.ts";
import type { CliSeams } from "./settings.ts";
import { setupCommand } from "./setup-command.ts";
import { startCommand } from "./start-command.ts";
import { statusCommand } from "./status-command.ts";
import { unlockCommand } from "./unlock-command.ts";

export { EXIT } from "./output.ts";

const VERSION = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;

/** The CLI's commands, writing through `seams.io` and reading `seams.env` only. */
export function createProgram(seams: CliSeams, json = false): Command {
  const program = new Command("jumpcloud-elastic")
    .description("JumpCloud Directory Insights → Elasticsearch (ECS)")
    .version(VERSION, "-V, --version", "print the version")
    .configureOutput({
      writeOut: (text) => void seams.io.write(text),
      // With --json, a usage error is reported once, as JSON, by report().
      writeErr: (text) => (json ? undefined : seams.io.log(text.trimEnd())),
    })
    .exitOverride()
    .addCommand(startCommand(seams))
    .addCommand(mapCommand(seams))
    .addCommand(fetchCommand(seams))
    .addCommand(setupCommand(seams))
    .addCommand(doctorCommand(seams))
    .addCommand(runCommand(seams))
    .addCommand(replayCommand(seams))
    .addCommand(backfillCommand(seams))
    .addCommand(statusCommand(seams))
    .addCommand(unlockCommand(seams))
    .addCommand(invokeReplayCommand(seams))
    .addCommand(redriveCommand(seams));
  // Subcommands report through the same streams, and never exit the process themselves.
  for (const command of program.commands) {
    command.configureOutput(program.configureOutput()).exitOverride().addOption(jsonOption());
    command.showSuggestionAfterError();
  }
  return program;
}

/** What an error means for the user: its exit status and one clear message. */
function classify(error: unknown): {
  code: number;
  kind: string;
  message: string;
  problems?: readonly string[];
} {
  if (error instanceof ConfigurationError) {
    const [only] = error.problems;
    const message = error.problems.length === 1 ? (only as string) : error.message;
    return { code: EXIT.usage, kind: "configuration", message, problems: error.problems };
  }
  if (error instanceof UsageError) return { code: EXIT.usage, kind: "usage", message: error.message };
  if (error instanceof InterruptedError) {
    return {
      code: error.signal === "SIGINT" ? EXIT.sigint : EXIT.sigterm,
      kind: "interrupted",
      message: error.message,
    };
  }
  if (error instanceof LockedError) return { code: EXIT.locked, kind: "locked", message: error.message };
  if (error instanceof JumpcloudElasticError)
    return { code: EXIT.failed, kind: "failed", message: error.message };
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return { code: EXIT.failed, kind: "unexpected", message: `unexpected error: ${stack}` };
}

/** Reports a failure: a line on stderr, or with `--json` a JSON document (stdout, unless a result is already there). */
async function report(
  error: unknown,
  seams: CliSeams,
  json: boolean,
  resultPrinted: boolean,
): Promise<number> {
  if (error instanceof CommanderError) {
    if (error.exitCode === 0) return EXIT.ok;
    // Without --json Commander has printed its message already.
    if (!json) seams.io.log("(add --help for usage)");
    else {
      const message = error.message.replace(/^error: /, "");
      await seams.io.write(
        `${JSON.stringify({ error: { kind: "usage", message, exitCode: EXIT.usage } })}\n`,
      );
    }
    return EXIT.usage;
  }
  const { code, kind, message, problems } = classify(error);
  if (!json) {
    seams.io.log(kind === "unexpected" ? message : `error: ${message}`);
    return code;
  }
  const document = JSON.stringify({
    error: { kind, message, exitCode: code, ...(problems && { problems }) },
  });
  if (resultPrinted) seams.io.log(document);
  else await seams.io.write(`${document}\n`);
  return code;
}

/** Runs the CLI on `args` (without `node` and the script) and answers its exit status. */
export async function runCli(args: readonly string[], seams: CliSeams): Promise<number> {
  let resultPrinted = false;
  const io = {
    ...seams.io,
    write: (chunk: string) => {
      resultPrinted = true;
      return seams.io.write(chunk);
    },
  };
  const tracked = { ...seams, io };
  try {
    await createProgram(tracked, wantsJson(args)).parseAsync([...args], { from: "user" });
    return EXIT.ok;
  } catch (error) {
    return report(error, seams, wantsJson(args), resultPrinted);
  }
}
