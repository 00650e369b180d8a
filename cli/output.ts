import { Option } from "commander";
import { describeError, jsonLogger, type Logger } from "../lib/logger.ts";
import type { CliSeams } from "./settings.ts";

/** Exit statuses, documented in the README: scripts and schedulers branch on them. */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  locked: 3,
  sigint: 130,
  sigterm: 143,
} as const;

/** `--json`, added to every command: the result, and any error, as one JSON document on stdout. */
export const jsonOption = () =>
  new Option("--json", "print the result (and any error) as JSON on stdout, for scripts; logs as JSON lines");

/** Whether `args` ask for JSON output (known before Commander has parsed them, for errors too). */
export const wantsJson = (args: readonly string[]) => args.includes("--json");

/** Prints a command's result: one JSON document with `--json`, else the human text. */
export async function emit(
  seams: CliSeams,
  json: boolean | undefined,
  value: unknown,
  human: () => string,
): Promise<void> {
  const text = json ? JSON.stringify(value) : human();
  await seams.io.write(text.endsWith("\n") ? text : `${text}\n`);
}

function fieldText(value: unknown): string {
  if (value instanceof Error) return describeError(value).message as string;
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** One readable line per message: `warn: message (key=value, ...)`. */
export function humanLogger(write: (line: string) => void, minimum: "debug" | "info" = "info"): Logger {
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    const extra = Object.entries(fields ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${fieldText(v)}`);
    write(`${level}: ${message}${extra.length > 0 ? ` (${extra.join(", ")})` : ""}`);
  };
  return {
    debug: minimum === "debug" ? log("debug") : () => {},
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
  };
}

/** The CLI's log on stderr: JSON lines with `--json`, readable lines otherwise (never both). */
export function cliLogger(seams: CliSeams, json: boolean | undefined): Logger {
  const write = (line: string) => seams.io.log(line.trimEnd());
  return json ? jsonLogger(write) : humanLogger(write);
}

/** Fixed-width columns, for summaries and status tables; a cell may hold several lines. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const split = rows.map((r) => header.map((_, i) => (r[i] ?? "").split("\n")));
  const widths = header.map((h, i) =>
    Math.max(h.length, ...split.flatMap((r) => (r[i] ?? []).map((text) => text.length))),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  // A row of multi-line cells takes as many lines as its tallest cell, the others left blank.
  const rowLines = (cells: string[][]) =>
    Array.from({ length: Math.max(...cells.map((c) => c.length)) }, (_, k) =>
      line(cells.map((c) => c[k] ?? "")),
    );
  return [line(header), ...split.flatMap(rowLines)].join("\n");
}

/** A message for the user on stderr: the plain line, or with `--json` a JSON log line. */
export function note(seams: CliSeams, json: boolean | undefined, message: string): void {
  if (json) cliLogger(seams, true).info(message);
  else seams.io.log(message);
}

/** A lag as people read it: minutes up to two hours, then hours; `—` when unknown. */
export function lagText(ms: number | undefined): string {
  if (ms === undefined) return "—";
  const minutes = Math.round(ms / 60_000);
  return minutes < 120 ? `${minutes} min` : `${(minutes / 60).toFixed(1)} h`;
}
