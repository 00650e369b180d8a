import { type ChildProcess, fork } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

// Resolved from the repository, so the children find tsx wherever the command runs.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/** A message between the load run and one of its children. */
export interface ChildMessage {
  type: string;
  [field: string]: unknown;
}

/** A simulator running in a process of its own, so its memory is never the collector's. */
export class Child {
  private constructor(
    private readonly process: ChildProcess,
    /** What the child said when it was ready (its URL among others). */
    readonly ready: ChildMessage,
  ) {}

  /** Starts `script` (next to this file) with `input` as its argument; resolves when it is ready. */
  static async start(script: string, input: unknown): Promise<Child> {
    const path = fileURLToPath(new URL(script, import.meta.url));
    const child = fork(path, [JSON.stringify(input)], {
      execArgv: ["--import", TSX],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const ready = await Child.next(child, "ready");
    return new Child(child, ready);
  }

  /** Sends `message` and waits for the child's answer of type `answer`. */
  async ask(message: ChildMessage, answer: string): Promise<ChildMessage> {
    const reply = Child.next(this.process, answer);
    this.process.send(message);
    return reply;
  }

  /** Ends the child (by its own process id only) and waits until it is gone. */
  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise((resolve) => this.process.once("exit", resolve));
    this.process.kill();
    await exited;
  }

  private static next(child: ChildProcess, type: string): Promise<ChildMessage> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: ChildMessage) => {
        if (message.type !== type && message.type !== "error") return;
        cleanup();
        if (message.type === "error") reject(new Error(`child process: ${String(message.message)}`));
        else resolve(message);
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`the child process ended (exit ${code}) before answering "${type}"`));
      };
      const cleanup = () => {
        child.off("message", onMessage);
        child.off("exit", onExit);
      };
      child.on("message", onMessage);
      child.on("exit", onExit);
    });
  }
}

/** In a child: answers each `type` message with what `handle` returns, and ends with its parent. */
export function serveParent(
  handlers: Record<string, (message: ChildMessage) => Promise<ChildMessage>>,
): void {
  process.on("message", (message: ChildMessage) => {
    const handle = handlers[message.type];
    if (!handle) return;
    handle(message).then(
      (answer) => process.send?.(answer),
      (error: unknown) => process.send?.({ type: "error", message: String(error) }),
    );
  });
  // The parent is gone (killed, or crashed): nothing is left to serve.
  process.on("disconnect", () => process.exit(0));
}

/** This process's memory high-water mark, in bytes. */
export const maxRssBytes = () => process.resourceUsage().maxRSS * 1024;

/** CPU time this process has used (user + system), in ms. */
export function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
