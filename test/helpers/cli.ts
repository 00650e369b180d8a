import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { CliIo } from "../../cli/io.ts";
import { runCli } from "../../cli/program.ts";
import type { SignalSource, StopSignal } from "../../cli/signals.ts";
import type { AwsClients } from "../../lib/compose/aws.ts";

/** The repository root (where `npm run cli` runs). */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

// Resolved from the repository, so a process started in another folder still finds tsx.
export const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/** What a CLI run printed and answered. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface CliOptions {
  env?: Record<string, string>;
  stdin?: string;
  aws?: AwsClients;
}

interface InProcessOptions extends CliOptions {
  /** The folder the command runs in (the test pool runs each file in a process of its own). */
  cwd?: string;
  /** Ctrl-C and SIGTERM as the test sends them (see testSignals). */
  signals?: SignalSource;
  /** Sees each stderr line as it is written (to interrupt a run at a known point). */
  onLog?: (line: string) => void;
  /** Sees each stdout chunk as it is written. */
  onWrite?: (chunk: string) => void;
}

/** Stop requests a test sends by hand: `send("SIGINT")` is a Ctrl-C. */
export function testSignals(): SignalSource & { send(signal: StopSignal): void } {
  const handlers = new Set<(signal: StopSignal) => void>();
  return {
    listen(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    send(signal) {
      for (const handler of handlers) handler(signal);
    },
  };
}

/** Runs the CLI in this process through its seams: the environment, the streams, AWS clients. */
export async function cli(args: string[], options: InProcessOptions = {}): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    write: async (chunk) => {
      stdout += chunk;
      options.onWrite?.(chunk);
    },
    log: (message) => {
      stderr += `${message}\n`;
      options.onLog?.(message);
    },
    readStdin: async () => options.stdin ?? "",
  };
  const before = process.cwd();
  if (options.cwd) process.chdir(options.cwd);
  try {
    const code = await runCli(args, {
      env: options.env ?? {},
      io,
      signals: options.signals ?? testSignals(),
      ...(options.aws && { aws: options.aws }),
    });
    return { code, stdout, stderr };
  } finally {
    process.chdir(before);
  }
}

/**
 * Runs the CLI as a user would, a process of its own (`npm run cli -- ...` runs the same entry
 * point), in the repository or in `cwd` (a fresh folder, as a new user's).
 */
export function cliProcess(
  args: string[],
  options: Omit<CliOptions, "aws"> & { cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ["--import", TSX, `${ROOT}cli/main.ts`, ...args],
      {
        cwd: options.cwd ?? ROOT,
        // The old-Node notice (cli/node-version.ts) has a test of its own; here stderr is the command's.
        env: {
          PATH: process.env.PATH,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
          ...options.env,
        },
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(options.stdin ?? "");
  });
}

/** NDJSON text as values. */
export const ndjson = (text: string) =>
  text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l));
