/**
 * JSON text of `value`, exactly as `JSON.stringify` writes it, also for values nested deeper than
 * its recursion allows (an event of 10 000 levels throws RangeError on Node 20). JSON.parse reads
 * such text back (V8 parses iteratively), so an event that arrived as JSON can always travel on.
 */
export function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? "null";
  } catch (error) {
    // Only the recursion limit is worked around; a cycle or a BigInt is a bug to surface.
    if (!(error instanceof RangeError) || /string length/i.test(error.message)) throw error;
    return iterativeJson(value);
  }
}

/** The deepest nesting of objects and arrays in `value` (0 for a scalar), without recursion. */
export function nestingDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (node === null || typeof node !== "object") continue;
    deepest = Math.max(deepest, depth + 1);
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return deepest;
}

type Frame =
  | { kind: "array"; items: unknown[]; next: number }
  | { kind: "object"; entries: [string, unknown][]; next: number };

// JSON.stringify's rules for what parsed JSON can hold (plus undefined, skipped or null like it
// does), written with an explicit stack instead of recursion. Hand-written: no library found here
// serialises without recursion.
function iterativeJson(value: unknown): string {
  const out: string[] = [];
  const stack: Frame[] = [];
  const open = (node: unknown): void => {
    if (Array.isArray(node)) {
      out.push("[");
      stack.push({ kind: "array", items: node, next: 0 });
    } else if (node !== null && typeof node === "object") {
      out.push("{");
      const entries = Object.entries(node).filter(([, v]) => v !== undefined && typeof v !== "function");
      stack.push({ kind: "object", entries, next: 0 });
    } else {
      out.push(JSON.stringify(node) ?? "null");
    }
  };
  open(value);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as Frame;
    const size = frame.kind === "array" ? frame.items.length : frame.entries.length;
    if (frame.next >= size) {
      out.push(frame.kind === "array" ? "]" : "}");
      stack.pop();
      continue;
    }
    if (frame.next > 0) out.push(",");
    if (frame.kind === "array") open(frame.items[frame.next++]);
    else {
      const [key, child] = frame.entries[frame.next++] as [string, unknown];
      out.push(`${JSON.stringify(key)}:`);
      open(child);
    }
  }
  return out.join("");
}
