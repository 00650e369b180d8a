/** One part of a `multipart/form-data` body. */
export interface FormPart {
  name: string;
  /** Present only for file parts (hapi then hands the route a stream with `.hapi.filename`). */
  filename?: string;
  content: string;
}

/**
 * Splits a `multipart/form-data` body into its parts; `[]` when the content type is not multipart or
 * has no boundary. Enough for what HTTP clients send (fetch's FormData, curl -F, form-data).
 */
export function parseMultipart(contentType: string | undefined, body: Buffer): FormPart[] {
  const boundary = /^multipart\/form-data\b.*?;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? "");
  const marker = boundary?.[1] ?? boundary?.[2];
  if (!marker) return [];
  // latin1 maps bytes one to one, so the split cannot break a multi-byte character.
  const raw = body.toString("latin1");
  const parts: FormPart[] = [];
  for (const chunk of raw.split(`--${marker}`).slice(1)) {
    if (chunk.startsWith("--")) break;
    const part = parsePart(chunk);
    if (part) parts.push(part);
  }
  return parts;
}

function parsePart(chunk: string): FormPart | undefined {
  const text = chunk.replace(/^\r?\n/, "");
  const split = text.search(/\r?\n\r?\n/);
  if (split === -1) return undefined;
  const head = text.slice(0, split);
  const content = text
    .slice(split)
    .replace(/^\r?\n\r?\n/, "")
    .replace(/\r?\n$/, "");
  const disposition = /content-disposition:[^\r\n]*/i.exec(head)?.[0] ?? "";
  const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
  if (name === undefined) return undefined;
  const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
  const decoded = Buffer.from(content, "latin1").toString("utf8");
  return filename === undefined ? { name, content: decoded } : { name, filename, content: decoded };
}
