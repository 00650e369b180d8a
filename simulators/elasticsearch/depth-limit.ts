/**
 * `index.mapping.depth.limit` as Elasticsearch 8.x enforces it while parsing a document: each new
 * object field's depth is the number of dots in its full path plus 2 (the root object is depth 1,
 * a top-level object field depth 2, ...), dotted keys (`"a.b": ...`) counting as the objects they
 * expand to, arrays adding nothing. The first object deeper than the limit refuses the document.
 */

/** Default `index.mapping.depth.limit`. */
export const DEFAULT_DEPTH_LIMIT = 20;

/** A refusal as a bulk item's `error`. */
export interface DepthRefusal {
  type: "document_parsing_exception";
  reason: string;
  caused_by: { type: "illegal_argument_exception"; reason: string };
}

/** The refusal of `source` (parsed: `doc`) when its objects nest deeper than `limit`, as real ES words it. */
export function depthRefusal(source: string, doc: unknown, limit: number): DepthRefusal | undefined {
  // Walking the parsed document is cheap; the text is scanned only to name the field and place it.
  if (!exceeds(doc, -1, limit)) return undefined;
  const found = firstTooDeep(source, limit);
  if (!found) return undefined;
  const cause = `Limit of mapping depth [${limit}] has been exceeded due to object field [${found.field}]`;
  return {
    type: "document_parsing_exception",
    reason: `[${location(source, found.offset)}] failed to parse: ${cause}`,
    caused_by: { type: "illegal_argument_exception", reason: cause },
  };
}

function dots(path: string): number {
  let count = 0;
  for (let i = path.indexOf("."); i !== -1; i = path.indexOf(".", i + 1)) count++;
  return count;
}

// Whether an object in `value` (an object whose path has `pathDots` dots; root: -1) is too deep.
// Allocation-free: every stored document goes through it.
function exceeds(value: unknown, pathDots: number, limit: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (exceeds(item, pathDots, limit)) return true;
    return false;
  }
  if (pathDots + 2 > limit) return true;
  const object = value as Record<string, unknown>;
  for (const key in object) {
    const keyDots = dots(key);
    const childDots = pathDots + 1 + keyDots;
    // A dotted key's last intermediate object sits one level above the value.
    if (keyDots > 0 && childDots + 1 > limit) return true;
    if (exceeds(object[key], childDots, limit)) return true;
  }
  return false;
}

// Jackson's token location, as Elasticsearch prints it: line and 1-based byte column.
function location(source: string, offset: number): string {
  const before = source.slice(0, offset);
  const lineStart = before.lastIndexOf("\n") + 1;
  const line = before.split("\n").length;
  return `${line}:${Buffer.byteLength(before.slice(lineStart)) + 1}`;
}

/** The first object (in document order) deeper than `limit`, and where its value starts. */
function firstTooDeep(text: string, limit: number): { field: string; offset: number } | undefined {
  let i = 0;
  const tooDeep = (path: string) => dots(path) + 2 > limit;
  const space = () => {
    while (i < text.length && " \t\r\n".includes(text[i] as string)) i++;
  };
  const string = (): string => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  // The value at `i`, under `path` (null: the root object); returns the first object too deep.
  const value = (path: string | null): { field: string; offset: number } | undefined => {
    space();
    const start = i;
    const c = text[i];
    if (c === '"') string();
    else if (c === "{") {
      if (path !== null && tooDeep(path)) return { field: path, offset: start };
      return members(path);
    } else if (c === "[") return elements(path);
    else while (i < text.length && !",}] \t\r\n".includes(text[i] as string)) i++;
    return undefined;
  };
  const members = (path: string | null) => {
    i++;
    space();
    while (text[i] !== "}") {
      const key = string();
      space();
      i++; // the colon
      space();
      const parts = key.split(".");
      let prefix = path;
      for (const [n, part] of parts.entries()) {
        prefix = prefix === null ? part : `${prefix}.${part}`;
        if (n < parts.length - 1 && tooDeep(prefix)) return { field: prefix, offset: i };
      }
      const found = value(prefix);
      if (found) return found;
      space();
      if (text[i] === ",") i++;
      space();
    }
    i++;
    return undefined;
  };
  const elements = (path: string | null) => {
    i++;
    space();
    while (text[i] !== "]") {
      const found = value(path);
      if (found) return found;
      space();
      if (text[i] === ",") i++;
      space();
    }
    i++;
    return undefined;
  };
  return value(null);
}
