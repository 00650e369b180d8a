import { InterruptedError } from "../lib/errors.ts";

/** The signals a run stops on: Ctrl-C, and a scheduler's or container's polite stop. */
export type StopSignal = "SIGINT" | "SIGTERM";

/** Where stop requests come from: the process's signals, or a test's hand. */
export interface SignalSource {
  /** Calls `handler` on each stop request; answers a function that stops listening. */
  listen(handler: (signal: StopSignal) => void): () => void;
}

/** The process's SIGINT and SIGTERM. */
export const processSignals: SignalSource = {
  listen(handler) {
    const onInt = () => handler("SIGINT");
    const onTerm = () => handler("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    return () => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
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
