import type { Command } from "commander";
import { UsageError } from "../lib/errors.ts";

/** The long flags the user typed on the command line (not defaults), such as `--every`. */
export function typedFlags(command: Command): Set<string> {
  return new Set(
    command.options
      .filter((o) => o.long !== undefined && command.getOptionValueSource(o.attributeName()) === "cli")
      .map((o) => o.long as string),
  );
}

/** A flag that means something only when `applies`; `why` ends "`--flag` ..." in the message. */
export interface FlagRule {
  flag: string;
  applies: boolean;
  why: string;
}

/**
 * Refuses, before anything is done, every typed flag that would be ignored: a user who asked
 * for it expects it to act, and silence would let the mistake stand.
 */
export function refuseIgnoredFlags(command: Command, rules: readonly FlagRule[]): void {
  const typed = typedFlags(command);
  const ignored = rules.filter((rule) => typed.has(rule.flag) && !rule.applies);
  if (ignored.length > 0) throw new UsageError(ignored.map((rule) => `${rule.flag} ${rule.why}`).join("; "));
}
