import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import {
  ConfigurationError,
  InterruptedError,
  JumpcloudElasticError,
  LockedError,
  UsageError,
} from "../lib/errors.ts";
import { EXIT, jsonOption, wantsJson } from "./output.ts";
import type { CliSeams } from "./settings.ts";

export { EXIT } from "./output.ts";

const VERSION = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;

type CommandFactory = (seams: CliSeams) => Command;

/**
 * One command: what the help lists (kept equal to the command's own by test/cli/program.test.ts),
 * and its module, imported only when the command runs: each pulls in the AWS SDK, the
 * Elasticsearch client or the simulators, which a `map` of one event should not wait for.
 */
export interface CommandEntry {
  name: string;
  description: string;
  /** Its arguments as the help shows them, e.g. `[file]`. */
  arguments?: string;
  /** Its own commands (`geoip update`), listed by name so the help reads the same before loading. */
  subcommands?: readonly string[];
  load(): Promise<CommandFactory>;
}

/** Every command, in the order the help lists them. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "start",
    description:
      "collect a simulated JumpCloud tenant into ./out (no account needed); run again: nothing new",
    load: async () => (await import("./start-command.ts")).startCommand,
  },
  {
    name: "map",
    description: "map raw JumpCloud events to ECS documents (NDJSON on stdout)",
    arguments: "[file]",
    load: async () => (await import("./map-command.ts")).mapCommand,
  },
  {
    name: "fetch",
    description: "fetch raw events of one window from Directory Insights (NDJSON on stdout)",
    load: async () => (await import("./fetch-command.ts")).fetchCommand,
  },
  {
    name: "setup",
    description:
      "install the index template for logs-jumpcloud.events-* and this project's ingest pipeline; --kibana: the dashboard and detection rules too (safe to run again)",
    load: async () => (await import("./setup-command.ts")).setupCommand,
  },
  {
    name: "doctor",
    description:
      "check the configuration, JumpCloud access per org, Elasticsearch (version, privileges, template, pipeline), GeoIP, checkpoints and Kibana (when KIBANA_URL is set)",
    load: async () => (await import("./doctor-command.ts")).doctorCommand,
  },
  {
    name: "run",
    description:
      "collect until caught up (--once) or on an interval (--follow), into Elasticsearch or NDJSON files",
    load: async () => (await import("./run-command.ts")).runCommand,
  },
  {
    name: "replay",
    description: "read a past window again (duplicates are skipped); the scheduled cursor never moves",
    load: async () => (await import("./replay-command.ts")).replayCommand,
  },
  {
    name: "backfill",
    description: "collect everything from a past time on, several windows at once; run again to resume",
    load: async () => (await import("./replay-command.ts")).backfillCommand,
  },
  {
    name: "status",
    description:
      "show each checkpoint: cursor, lag, progress in its window, lease, last run (file or DynamoDB)",
    load: async () => (await import("./status-command.ts")).statusCommand,
  },
  {
    name: "unlock",
    description: "clear a lease left by a run that died (expired, or its process gone); others need --force",
    load: async () => (await import("./unlock-command.ts")).unlockCommand,
  },
  {
    name: "forget",
    description: "remove checkpoints you no longer want (keys as `status` lists them); needs --yes",
    arguments: "<key...>",
    load: async () => (await import("./forget-command.ts")).forgetCommand,
  },
  {
    name: "invoke-replay",
    description:
      "replay a window with the deployed collector Lambda: invoke it again while work remains, then print the total",
    load: async () => (await import("./invoke-replay-command.ts")).invokeReplayCommand,
  },
  {
    name: "geoip",
    description: "keep MaxMind GeoLite2 databases current for GEOIP=files (`geoip update --dir <folder>`)",
    subcommands: ["update"],
    load: async () => (await import("./geoip-command.ts")).geoipCommand,
  },
  {
    name: "redrive",
    description:
      "re-send dead-lettered documents (DEAD_LETTER_BUCKET, else DEAD_LETTER_DIR) to the cluster once the cause is fixed; removes those that landed, keeps those still refused",
    load: async () => (await import("./redrive-command.ts")).redriveCommand,
  },
];

/**
 * The commands `args` can run, so only their modules load: the first operand, as Commander
 * dispatches on it, and with `help` the one named after it. The root takes no option with a value.
 */
export function commandsToLoad(args: readonly string[]): string[] {
  const operands = args.filter((arg) => arg === "-" || !arg.startsWith("-"));
  const [first, second] = operands;
  const wanted = first === "help" ? [second] : [first];
  return wanted.filter((name): name is string => COMMANDS.some((c) => c.name === name));
}

// A command not run is listed by its name, description and arguments only: enough for the help,
// and for Commander to suggest it after a typo.
function listed(entry: CommandEntry): Command {
  const command = new Command(entry.name).description(entry.description);
  if (entry.arguments !== undefined) command.arguments(entry.arguments);
  for (const name of entry.subcommands ?? []) command.command(name);
  return command;
}

/** How the program is made: `--json` errors, and which commands' modules to load (default: `args`'). */
export interface ProgramOptions {
  json?: boolean;
  load?: readonly string[];
  commands?: readonly CommandEntry[];
}

/** The CLI's commands, writing through `seams.io` and reading `seams.env` only. */
export async function createProgram(seams: CliSeams, options: ProgramOptions = {}): Promise<Command> {
  const { json = false, load = [], commands = COMMANDS } = options;
  const program = new Command("jumpcloud-elastic")
    .description("JumpCloud Directory Insights → Elasticsearch (ECS)")
    .version(VERSION, "-V, --version", "print the version")
    .configureOutput({
      writeOut: (text) => void seams.io.write(text),
      // With --json, a usage error is reported once, as JSON, by report().
      writeErr: (text) => (json ? undefined : seams.io.log(text.trimEnd())),
    })
    .exitOverride();
  for (const entry of commands)
    program.addCommand(load.includes(entry.name) ? (await entry.load())(seams) : listed(entry));
  // Subcommands report through the same streams, and never exit the process themselves.
  for (const command of program.commands) {
    command.configureOutput(program.configureOutput()).exitOverride().addOption(jsonOption());
    command.showSuggestionAfterError();
    // Nested commands (`geoip update`) were made before this: they get the same streams and exits.
    for (const sub of command.commands) sub.configureOutput(program.configureOutput()).exitOverride();
  }
  return program;
}

/**
 * The SDK says only "no credentials" when AWS_PROFILE names a profile that is not there: with the
 * variable set, the line points at the profile rather than asking to set what is set.
 */
function withProfileHint(message: string, profile: string | undefined): string {
  if (!profile?.trim() || !/no AWS credentials for /.test(message)) return message;
  return message.replace(
    /: set AWS_PROFILE \(or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\), or run where a role provides them/,
    `: AWS_PROFILE "${profile.trim()}" gave none: check that profile in ~/.aws/config and ~/.aws/credentials (aws configure list-profiles), or its SSO login`,
  );
}

/**
 * A rule file edited into invalid JSON fails the import of the rule pack (tsx's loader says so with
 * a TransformError naming the file and the spot): one line for a configuration problem, not a crash.
 */
export function brokenRuleFile(error: unknown): string | undefined {
  if (!(error instanceof Error) || (error.name !== "TransformError" && !(error instanceof SyntaxError)))
    return undefined;
  const found = /(rules\/[\w.-]+\.json):(\d+):(\d+): ERROR: ([^\n]+)/.exec(error.message);
  if (!found) return undefined;
  return `${found[1]} is not valid JSON at line ${found[2]}, column ${found[3]}: ${found[4]} (see rules/README.md)`;
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
  const ruleFile = brokenRuleFile(error);
  if (ruleFile) return { code: EXIT.usage, kind: "configuration", message: ruleFile, problems: [ruleFile] };
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
  const classified = classify(error);
  const { code, kind, problems } = classified;
  const message = withProfileHint(classified.message, seams.env.AWS_PROFILE);
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
    const program = await createProgram(tracked, { json: wantsJson(args), load: commandsToLoad(args) });
    await program.parseAsync([...args], { from: "user" });
    return EXIT.ok;
  } catch (error) {
    return report(error, seams, wantsJson(args), resultPrinted);
  }
}
