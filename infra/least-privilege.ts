/** Where the generated table sits in docs/deploy.md. */
export const IAM_TABLE_START =
  "<!-- IAM table: generated from the synthesized template by `npm run docs:iam`, checked by a test -->";
export const IAM_TABLE_END = "<!-- end of IAM table -->";

type Value = unknown;
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: Value | Value[];
}
interface Resource {
  Type: string;
  Properties?: Record<string, Value>;
}

// Who each role belongs to, by its logical id's prefix (CDK's construct paths).
const ROLES: [prefix: string, who: string][] = [
  ["FunctionsCollectorRole", "collector function"],
  ["FunctionsMapperRole", "mapper function"],
  ["SchedulerRole", "EventBridge Scheduler"],
  ["SetupProviderframework", "deploy-time setup (custom resource)"],
];

// What each resource is, by its logical id's prefix.
const RESOURCES: [prefix: string, what: string][] = [
  ["FunctionsCollectorLogs", "its own log group"],
  ["FunctionsMapperLogs", "its own log group"],
  ["StateCheckpoints", "the checkpoint table"],
  ["SecretsJumpCloud", "the JumpCloud secret"],
  ["SecretsElasticsearch", "the Elasticsearch secret"],
  ["DeadLettersBucket", "the dead-letter bucket"],
  ["ScheduleFailedRuns", "the failed-runs queue"],
  ["ScheduleScheduleDeadLetters", "the schedule's dead-letter queue"],
  ["FunctionsMapper", "the mapper"],
  ["FunctionsCollector", "the collector"],
];

const named = (table: [string, string][], id: string, kind: string) => {
  const found = table.find(([prefix]) => id.startsWith(prefix));
  if (!found) throw new Error(`least-privilege table: no description for ${kind} ${id}: add one`);
  return found[1];
};

/** A resource in words: `the dead-letter bucket: dead-letters/*`, `the collector (itself, by name)`. */
function describeResource(value: Value): string {
  if (value === "*") return "any";
  if (typeof value === "string") return `\`${value}\``;
  const v = value as Record<string, Value>;
  if (v.Ref !== undefined) return named(RESOURCES, String(v.Ref), "resource");
  if (v["Fn::GetAtt"] !== undefined)
    return named(RESOURCES, String((v["Fn::GetAtt"] as Value[])[0]), "resource");
  const parts = ((v["Fn::Join"] as [string, Value[]] | undefined)?.[1] ?? []) as Value[];
  const pseudo = (p: Value) =>
    typeof (p as { Ref?: unknown })?.Ref === "string" &&
    String((p as { Ref: string }).Ref).startsWith("AWS::");
  const literal = parts.filter((p): p is string => typeof p === "string").join("");
  const first = parts.find((p) => typeof p === "object" && !pseudo(p));
  // A function named by its name rather than its ARN: the collector invoking itself (the fan-out).
  if (literal.includes(":function:"))
    return `the collector (itself, by name: ${literal.split(":function:")[1]})`;
  // An ARN spelt out (a GeoIP object): shown as written, the partition, region and account as such.
  if (first === undefined)
    return `\`${parts
      .map((p) =>
        typeof p === "string"
          ? p
          : `<${String((p as { Ref: string }).Ref)
              .slice(5)
              .toLowerCase()}>`,
      )
      .join("")}\``;
  const base = describeResource(first);
  if (literal === ":*") return `${base}'s versions`;
  return literal.startsWith("/") ? `${base}: \`${literal.slice(1)}\`` : base;
}

/** Every Allow statement of the stack's roles, one row per statement: who, which actions, on what. */
export function leastPrivilegeTable(resources: Record<string, Resource>): string {
  const rows: string[][] = [];
  for (const [id, resource] of Object.entries(resources)) {
    if (resource.Type !== "AWS::IAM::Policy") continue;
    const properties = resource.Properties ?? {};
    const roles = (properties.Roles as { Ref: string }[]).map((r) => named(ROLES, r.Ref, "role"));
    const statements = (properties.PolicyDocument as { Statement: Statement[] }).Statement;
    for (const s of statements) {
      if (s.Effect !== "Allow") throw new Error(`${id}: a ${s.Effect} statement: describe it by hand`);
      const actions = [s.Action].flat().map((a) => `\`${a}\``);
      const on = [s.Resource].flat().map(describeResource);
      rows.push([roles.join(", "), actions.join(", "), on.join("; ")]);
    }
  }
  const order = (who: string) => ROLES.findIndex(([, w]) => w === who);
  rows.sort((a, b) => order(a[0] as string) - order(b[0] as string));
  const header = ["role of", "may", "on"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => [...(r[i] ?? "")].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => c + " ".repeat((widths[i] ?? 0) - [...c].length)).join(" | ")} |`;
  return [line(header), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)].join("\n");
}

/** `doc` with its IAM table replaced by the current one; throws when the markers are missing. */
export function withLeastPrivilegeTable(doc: string, resources: Record<string, Resource>): string {
  const start = doc.indexOf(IAM_TABLE_START);
  const end = doc.indexOf(IAM_TABLE_END);
  if (start < 0 || end < start) throw new Error("docs/deploy.md has no IAM table markers");
  return `${doc.slice(0, start + IAM_TABLE_START.length)}\n\n${leastPrivilegeTable(resources)}\n\n${doc.slice(end)}`;
}
