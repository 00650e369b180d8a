import { readFileSync } from "node:fs";
import { InterruptedError } from "../lib/errors.ts";

/** The signals a run stops on: Ctrl-C, and a scheduler's or container's polite stop. */
export type StopSignal = "SIGINT" | "SIGTERM";

/** Where stop requests come from: the process's signals, or a test's hand. */
export interface SignalSource {
  /** Calls `handler` on each stop request; answers a function that stops listening. */
  listen(handler: (signal: StopSignal) => void): () => void;
}

const SHELLS = new Set(["sh", "dash", "bash", "zsh", "ash"]);

/** A process's command name and parent, from Linux's /proc; undefined elsewhere. */
function procStat(pid: number): { comm: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // `pid (comm) state ppid ...`: comm may hold spaces and parentheses, so read around the last `)`.
    const close = stat.lastIndexOf(")");
    const ppid = Number(stat.slice(close + 2).split(" ")[1]);
    return { comm: stat.slice(stat.indexOf("(") + 1, close), ppid };
  } catch {
    return undefined;
  }
}

/** Whether process `pid` runs on this host (signal 0 tests without signalling). */
export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The processes a user started to run this one, when npm did (`npm run cli`, `npm start`): npm,
 * and the shell it runs scripts in. Killed outright (`kill -9`), they cannot pass the signal on,
 * so their end is this process's SIGTERM; otherwise the run would go on holding its lease.
 */
export function launchers(
  env: Readonly<Record<string, string | undefined>>,
  ppid: number,
  stat: (pid: number) => { comm: string; ppid: number } | undefined = procStat,
): number[] {
  if (env.npm_lifecycle_event === undefined || ppid <= 1) return [];
  const parent = stat(ppid);
  return parent && SHELLS.has(parent.comm) && parent.ppid > 1 ? [ppid, parent.ppid] : [ppid];
}

/** Calls `gone` once, when one of `pids` ends or this process is handed to another parent. */
export function watchLaunchers(pids: readonly number[], gone: () => void, everyMs = 1000): () => void {
  if (pids.length === 0) return () => undefined;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent && pids.every(processRuns)) return;
    clearInterval(timer);
    gone();
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** The process's SIGINT and SIGTERM, and the end of the npm that started it (as a SIGTERM). */
export const processSignals: SignalSource = {
  listen(handler) {
    const onInt = () => handler("SIGINT");
    const onTerm = () => handler("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    const unwatch = watchLaunchers(launchers(process.env, process.ppid), () => {
      process.stderr.write("the npm process that started this run is gone: stopping as on SIGTERM\n");
      handler("SIGTERM");
    });
    return () => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      unwatch();
    };
  },
};

/** A run's stop switch: the first signal stops it cleanly; a second one ends the process at once. */
export interface Interruption {
  signal: AbortSignal;
  /** The signal received, if any. */
  received(): StopSignal | undefined;
  /** Throws InterruptedError when a signal was received (after the summary is printed). */
  throwIfInterrupted(): void;
  dispose(): void;
}

/**
 * Listens for stop requests for the length of a run. The first asks the run to stop starting work
 * and save its progress (`onFirst` tells the user); a second, for a user who will not wait, exits
 * at once with the signal's status, leaving the lease for `unlock` (its owner is then dead).
 */
export function interruption(
  source: SignalSource,
  onFirst: (signal: StopSignal) => void,
  exitNow: (code: number) => void = (code) => process.exit(code),
): Interruption {
  const controller = new AbortController();
  let received: StopSignal | undefined;
  const stopListening = source.listen((signal) => {
    if (received !== undefined) {
      exitNow(signal === "SIGINT" ? 130 : 143);
      return;
    }
    received = signal;
    onFirst(signal);
    controller.abort(new InterruptedError(signal));
  });
  return {
    signal: controller.signal,
    received: () => received,
    throwIfInterrupted() {
      if (received !== undefined) throw new InterruptedError(received);
    },
    dispose: stopListening,
  };
}
