import type { z } from "zod";
import { ConfigurationError } from "../errors.ts";
import { checkRequirements, checkRules, type Requirement, type RuleInput } from "./rules.ts";
import { SETTINGS, type SettingName, type SettingSpec, type Settings } from "./schema.ts";

/** The environment as a plain record; only handlers and the CLI pass `process.env` in. */
export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * A typed override, such as a CLI flag's value: `source` names it in messages (default: the
 * setting's flag). `value: undefined` unsets the setting whatever the environment says.
 */
export interface Override<T> {
  value: T | string | undefined;
  source?: string;
}

/** Overrides by setting name. */
export type Overrides = { [K in SettingName]?: Override<NonNullable<Settings[K]>> };

/** Settings parsed once, with the warnings found on the way. */
export interface LoadedSettings {
  settings: Settings;
  /** Accepted, but worth telling the user (a service name we do not know). */
  warnings: string[];
  /** The name the user set a setting by: the flag, or the variable. */
  sourceOf(name: SettingName): string;
}

interface Input {
  raw: unknown;
  source: string;
  set: boolean;
}

// An empty variable counts as unset, as shells and CDK often leave them.
function inputOf(name: SettingName, env: Environment, overrides: Overrides): Input {
  const spec: SettingSpec<unknown> = SETTINGS[name];
  const override = overrides[name];
  if (override) {
    const source = override.source ?? spec.flag ?? spec.env;
    return { raw: override.value, source, set: override.value !== undefined };
  }
  const text = env[spec.env];
  const set = text !== undefined && text.trim() !== "";
  return { raw: set ? text : undefined, source: spec.env, set };
}

function describe(issue: z.core.$ZodIssue, input: Input, spec: SettingSpec<unknown>): string {
  // Custom checks say precisely what is wrong; type and range issues get the kind's own wording.
  if (issue.code === "custom" && issue.message !== "") return `${input.source} ${issue.message}`;
  const shown = spec.secret ? "" : `, not ${JSON.stringify(input.raw)}`;
  return `${input.source} must be ${spec.kind.expects}${shown}`;
}

/** Settings with the problems found, not thrown: a setting with a problem has its default. */
export interface ParsedSettings extends LoadedSettings {
  problems: string[];
}

/**
 * Parses every setting from the environment plus typed overrides, checks the rules across
 * settings and what the entry point requires, and throws one ConfigurationError naming every
 * problem by the variable or flag the user set.
 */
export function loadSettings(env: Environment, options: ParseOptions = {}): LoadedSettings {
  const { problems, ...loaded } = parseSettings(env, options);
  if (problems.length > 0) throw new ConfigurationError(problems);
  return loaded;
}

/** How to parse: typed overrides, what the caller requires, and which settings it reads at all. */
export interface ParseOptions {
  overrides?: Overrides;
  require?: readonly Requirement[];
  /**
   * The settings the caller reads (default: all). Any other is left at its default and out of
   * the rules across settings; set wrongly, it is a warning naming it as ignored, not a problem.
   */
  uses?: { names: readonly SettingName[]; by: string };
}

/** As loadSettings, but answers the problems, so a caller can add its own (files it opens) first. */
export function parseSettings(env: Environment, options: ParseOptions = {}): ParsedSettings {
  const overrides = options.overrides ?? {};
  const values: Record<string, unknown> = {};
  const inputs = new Map<SettingName, Input>();
  const parsed = new Set<SettingName>();
  const problems: string[] = [];
  const ignored: string[] = [];
  const used = options.uses && new Set<SettingName>(options.uses.names);
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const spec: SettingSpec<unknown> = SETTINGS[name];
    const input = inputOf(name, env, overrides);
    inputs.set(name, input);
    if (used && !used.has(name)) {
      const result = input.set ? spec.kind.schema.safeParse(input.raw) : undefined;
      if (result?.success === false)
        ignored.push(
          `${describe(result.error.issues[0] as z.core.$ZodIssue, input, spec)} (ignored: ${options.uses?.by} does not use it)`,
        );
      inputs.set(name, { ...input, raw: undefined, set: false });
      values[name] = spec.default;
      parsed.add(name);
      continue;
    }
    if (!input.set) {
      values[name] = spec.default;
      parsed.add(name);
      continue;
    }
    const result = spec.kind.schema.safeParse(input.raw);
    if (result.success) {
      values[name] = result.data;
      parsed.add(name);
    } else {
      values[name] = spec.default;
      const first = result.error.issues.find((i) => i.code === "custom" && i.message !== "");
      problems.push(describe(first ?? (result.error.issues[0] as z.core.$ZodIssue), input, spec));
    }
  }
  const ruleInput: RuleInput = {
    values: values as Partial<Settings>,
    parsed,
    sourceOf: (name) => inputs.get(name)?.source ?? SETTINGS[name].env,
    isSet: (name) => inputs.get(name)?.set === true,
  };
  const findings = checkRules(ruleInput);
  problems.push(...findings.problems, ...checkRequirements(ruleInput, options.require ?? []));
  return {
    settings: values as Settings,
    warnings: [...ignored, ...findings.warnings],
    sourceOf: ruleInput.sourceOf,
    problems,
  };
}
