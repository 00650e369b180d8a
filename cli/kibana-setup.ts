import { KibanaRequestError } from "../lib/errors.ts";
import type { RuleOutcome } from "../lib/kibana/detection-rules.ts";
import { INTEGRATION_VERSION, type IntegrationChoice, type IntegrationResult } from "../lib/kibana/fleet.ts";
import type { KibanaSetupResult } from "../lib/kibana/setup.ts";
import { table } from "./output.ts";

/** The flags of `setup` about Kibana. */
export interface KibanaFlags {
  kibana?: boolean;
  enableRules?: boolean;
  integrationVersion?: string;
  upgradeIntegration?: boolean;
  /** Commander's `--no-integration`: false when given. */
  integration?: boolean;
}

/** Which integration version the flags ask for, or false for none. */
export function integrationChoice(flags: KibanaFlags): IntegrationChoice | false {
  if (flags.integration === false) return false;
  if (flags.upgradeIntegration) return { latest: true };
  return { version: flags.integrationVersion ?? INTEGRATION_VERSION };
}

function integrationLines(result: IntegrationResult | undefined): string[] {
  if (result === undefined) return ["integration: skipped (--no-integration)"];
  if (result.action === "unavailable") return [`integration not installed: ${result.reason}`];
  const what = {
    installed: `installed jumpcloud ${result.version} through Fleet (assets only: index template, ingest pipeline, dashboard; no agent policy, no agent)`,
    upgraded: `upgraded jumpcloud ${result.previous} → ${result.version} through Fleet (assets only)`,
    unchanged: `jumpcloud ${result.version} is installed (Fleet): nothing to do`,
    "newer-left-alone": `jumpcloud ${result.version} is installed, newer than ${INTEGRATION_VERSION}: left alone (documents match ${INTEGRATION_VERSION}; its dashboard reads them)`,
  }[result.action];
  const dashboard = result.dashboard.present
    ? `dashboard: ${result.dashboard.url}`
    : `dashboard ${result.dashboard.id} not found after the install: open Integrations › JumpCloud › Assets in Kibana`;
  return [`integration: ${what}`, dashboard];
}

function rulesTable(rules: readonly RuleOutcome[]): string {
  return table(
    ["RESULT", "SEVERITY", "TYPE", "ENABLED", "RULE"],
    rules.map((r) => [
      r.error === undefined ? r.action : `failed: ${r.error}`,
      r.severity,
      r.type,
      r.enabled ? "yes" : "no",
      r.name,
    ]),
  );
}

function rulesLine(result: KibanaSetupResult, enableRules: boolean): string {
  const { counts } = result;
  if (result.rulesError !== undefined) return `detection rules not installed: ${result.rulesError}`;
  const disabled = result.rules.filter((r) => !r.enabled).length;
  const state = enableRules
    ? "enabled"
    : disabled === 0
      ? "all enabled"
      : `${disabled} disabled: review them, then enable them in Kibana or run setup --kibana --enable-rules`;
  return `detection rules: ${counts.installed} installed, ${counts.updated} updated, ${counts.unchanged} unchanged, ${counts.failed} failed (${state})`;
}

/** The human report of the Kibana part of `setup`. */
export function kibanaSetupText(result: KibanaSetupResult, enableRules: boolean): string {
  return [
    `Kibana ${result.kibana.version} at ${result.kibana.url} (space ${result.kibana.space})`,
    ...integrationLines(result.integration),
    rulesLine(result, enableRules),
    ...(result.rules.length > 0 ? [rulesTable(result.rules)] : []),
  ].join("\n");
}

/** The error `setup` ends with when Kibana refused some rules, or all (the result above says which and why). */
export function failedRulesError(result: KibanaSetupResult): KibanaRequestError | undefined {
  if (result.rulesError !== undefined)
    return new KibanaRequestError("the detection rules were not installed (the line above says why)", 403);
  const failed = result.rules.filter((r) => r.action === "failed").length;
  if (failed === 0) return undefined;
  return new KibanaRequestError(`Kibana refused ${failed} detection rule(s): see their rows above`, 400);
}
