import { createHash } from "node:crypto";
import { z } from "zod";
import { RULE_FILES } from "../../rules/index.ts";
import { ConfigurationError } from "../errors.ts";

const technique = z.object({ id: z.string(), name: z.string(), reference: z.url() });

// What every rule of the pack carries (rules/README.md); Kibana checks the rest of its own schema at import.
const ruleSchema = z.looseObject({
  rule_id: z.uuid(),
  version: z.int().min(1),
  name: z.string().min(1),
  description: z.string().min(1),
  type: z.enum(["query", "threshold", "new_terms", "eql"]),
  language: z.enum(["kuery", "eql"]),
  query: z.string().min(1),
  index: z.array(z.string()).min(1),
  severity: z.enum(["low", "medium", "high", "critical"]),
  risk_score: z.int().min(0).max(100),
  from: z.string(),
  interval: z.string(),
  false_positives: z.array(z.string().min(1)).min(1),
  note: z.string().min(1),
  threat: z
    .array(
      z.object({
        framework: z.literal("MITRE ATT&CK"),
        tactic: technique,
        technique: z.array(technique.extend({ subtechnique: z.array(technique).optional() })).optional(),
      }),
    )
    .min(1),
  enabled: z.never().optional(),
});

/** One rule of the pack: a Kibana detection rule as its import API takes it, less `enabled`. */
export type DetectionRule = z.infer<typeof ruleSchema>;

/** The pack's rules, checked, in name order; an edited file that breaks the format is a ConfigurationError naming it. */
export function rulePack(): DetectionRule[] {
  return parseRulePack(RULE_FILES);
}

/** Rule files (name → content) checked against the pack's format; every problem at once, by file and key. */
export function parseRulePack(files: Readonly<Record<string, unknown>>): DetectionRule[] {
  const problems: string[] = [];
  const rules = Object.entries(files).flatMap(([file, content]) => {
    const parsed = ruleSchema.safeParse(content);
    if (parsed.success) return [parsed.data];
    for (const issue of parsed.error.issues)
      problems.push(
        `rules/${file}: ${issue.path.join(".") || "the rule"}: ${issue.message} (see rules/README.md)`,
      );
    return [];
  });
  if (problems.length > 0) throw new ConfigurationError(problems);
  return rules.sort((a, b) => a.name.localeCompare(b.name));
}

/** A hash of the pack's content: the deploy's custom resource runs again when a rule changes. */
export function rulePackHash(rules: readonly DetectionRule[] = rulePack()): string {
  return createHash("sha256").update(JSON.stringify(rules)).digest("hex").slice(0, 16);
}
