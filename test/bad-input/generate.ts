// Inputs too big or too deep to commit, built from a small descriptor (`<name>.gen.json`) with
// string operations only: JSON.stringify itself overflows the stack a few thousand levels down.

/** Where the generated value goes: the string `"$GENERATED"` inside `event`. */
export const PLACEHOLDER = "$GENERATED";

/** A value built at test time, serialised without recursion. */
export type Generated =
  | { nested: { depth: number; container: "object" | "array"; leaf?: unknown } }
  | { string: { length: number; unit?: string } }
  | { array: { length: number; of: "ipv4" | "name" | { value: unknown } } }
  | { keys: { count: number } };

/** One line of the input: literal JSON, literal text, or an event holding a generated value. */
export type LineDescriptor = { json: unknown } | { text: string } | ({ event: unknown } & Generated);

/** A generated case's input: its lines, joined as NDJSON. */
export interface InputDescriptor {
  lines: LineDescriptor[];
}

/** The NDJSON text a descriptor stands for. */
export function generateInput(descriptor: InputDescriptor): string {
  return descriptor.lines.map(line).join("\n");
}

function line(descriptor: LineDescriptor): string {
  if ("json" in descriptor) return JSON.stringify(descriptor.json);
  if ("text" in descriptor) return descriptor.text;
  const event = JSON.stringify(descriptor.event);
  const slot = JSON.stringify(PLACEHOLDER);
  if (!event.includes(slot)) throw new Error(`a generated line needs ${slot} in its event`);
  return event.replace(slot, () => generatedText(descriptor));
}

function generatedText(g: Generated): string {
  if ("nested" in g) return nested(g.nested.depth, g.nested.container, g.nested.leaf ?? 1);
  if ("string" in g) return JSON.stringify((g.string.unit ?? "a").repeat(g.string.length));
  if ("array" in g) return `[${items(g.array.length, g.array.of).join(",")}]`;
  return `{${Array.from({ length: g.keys.count }, (_, i) => `"k${i}":${i}`).join(",")}}`;
}

// `depth` containers, the innermost holding the leaf: depth 1 is `{"a":leaf}` or `[leaf]`.
function nested(depth: number, container: "object" | "array", leaf: unknown): string {
  const [open, close] = container === "object" ? ['{"a":', "}"] : ["[", "]"];
  return `${open.repeat(depth)}${JSON.stringify(leaf)}${close.repeat(depth)}`;
}

function items(length: number, of: "ipv4" | "name" | { value: unknown }): string[] {
  return Array.from({ length }, (_, i) => {
    if (of === "ipv4") return `"10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}"`;
    if (of === "name") return `"user-${i}"`;
    return JSON.stringify(of.value);
  });
}
