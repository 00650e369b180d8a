import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { beforeAll, describe, expect, it } from "vitest";
import { COMMANDS, createProgram } from "../cli/program.ts";
import { ROOT } from "./helpers/cli.ts";

/**
 * Every CLI command the README and docs/ show, checked against the commands themselves: the
 * command exists, every flag is one it takes, and every `npm run <script>` is a script. A doc that
 * shows a flag a command refuses (or a script that is gone) fails here, not in a user's terminal.
 */
const DOCS = ["README.md", ...readdirSync(join(ROOT, "docs")).map((f) => `docs/${f}`)].filter((f) =>
  f.endsWith(".md"),
);

interface Shown {
  where: string;
  text: string;
}

// Shell lines in fenced blocks (continuations joined) and inline code spans that run the CLI.
function shownCommands(file: string): Shown[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const found: Shown[] = [];
  const lines = text.split("\n");
  let fenced = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.startsWith("```")) {
      fenced = !fenced;
      continue;
    }
    if (fenced) {
      let joined = line;
      while (joined.endsWith("\\") && i + 1 < lines.length) joined = `${joined.slice(0, -1)} ${lines[++i]}`;
      if (/\bnpm (start|run)\b/.test(joined)) found.push({ where: `${file}:${i + 1}`, text: joined });
    } else {
      for (const span of line.match(/`[^`]*\bnpm (?:start|run)\b[^`]*`/g) ?? [])
        found.push({ where: `${file}:${i + 1}`, text: span.slice(1, -1) });
    }
  }
  return found;
}

// Words of one shell line, quotes removed, stopping at a comment; `[--org ID]` reads as `--org ID`.
function words(line: string): string[] {
  const out: string[] = [];
  for (const match of line.matchAll(/'[^']*'|"[^"]*"|[^\s'"]+/g)) {
    const word = match[0];
    if (word.startsWith("#")) break;
    out.push(word.replace(/^['"]|['"]$/g, "").replace(/^\[|\]$/g, ""));
  }
  return out;
}

// Each `npm ...` invocation of a line: pipes and && separate them.
function invocations(line: string): string[][] {
  return line
    .split(/\s(?:\||&&|;)\s/)
    .map(words)
    .map((w) => w.slice(w.indexOf("npm")))
    .filter((w) => w[0] === "npm");
}

describe("the commands the docs show", () => {
  let commands = new Map<string, Command>();
  const scripts = Object.keys(
    (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> })
      .scripts,
  );
  beforeAll(async () => {
    const seams = {
      env: {},
      io: { write: async () => undefined, log: () => undefined, readStdin: async () => "" },
    };
    const program = await createProgram(seams, { load: COMMANDS.map((c) => c.name) });
    commands = new Map(program.commands.map((c) => [c.name(), c]));
  });

  const shown = DOCS.flatMap(shownCommands);

  it("finds the docs' commands (so the checks below check something)", () => {
    expect(shown.length).toBeGreaterThan(40);
  });

  it.each(shown.map((s) => [s.where, s.text] as const))("%s: %s", (where, text) => {
    for (const argv of invocations(text)) {
      // npm start [-- args] | npm run [--silent] <script> [-- args]
      const run = argv[1] === "run";
      const rest = argv.slice(2).filter((w) => w !== "--silent");
      const script = run ? rest.shift() : "start";
      if (script === undefined || script.startsWith("<")) continue;
      expect(scripts, `${where}: npm run ${script}`).toContain(script);
      if (script !== "cli" && script !== "start") continue;
      const args = rest[0] === "--" ? rest.slice(1) : rest;
      const name = script === "start" ? "start" : args.shift();
      if (name === undefined || name.startsWith("<")) continue;
      const top = commands.get(name);
      expect(top, `${where}: no command ${name}`).toBeDefined();
      // A command with its own commands (`geoip update`): the flags are the subcommand's.
      const sub = top?.commands.length ? top.commands.find((c) => c.name() === args[0]) : undefined;
      if (top?.commands.length) expect(sub, `${where}: ${name} has no command ${args[0]}`).toBeDefined();
      const command = sub ?? top;
      const takes = new Set([...(command?.options ?? []).map((o) => o.long), "--help"]);
      for (const flag of args.filter((a) => a.startsWith("--")).map((a) => a.split("=")[0] as string))
        expect(takes, `${where}: ${name} does not take ${flag}`).toContain(flag);
    }
  });
});
