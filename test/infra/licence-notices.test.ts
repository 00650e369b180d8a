import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { licenceNotices } from "../../scripts/licence-notices.ts";
import { ROOT } from "../helpers/cli.ts";

describe("third-party licence notices of a bundle", () => {
  it("names every bundled package once, with its version, licence and licence text, and none of our code", () => {
    const folder = mkdtempSync(join(tmpdir(), "bundle-"));
    const inputs = {
      "node_modules/zod/v4/classic/schemas.js": {},
      "node_modules/zod/v4/core/core.js": {},
      "node_modules/@elastic/elasticsearch/lib/client.js": {},
      "lib/settings/load.ts": {},
    };
    writeFileSync(join(folder, "index.meta.json"), JSON.stringify({ inputs }));
    const text = licenceNotices(folder, ROOT);
    const zod = JSON.parse(readFileSync(join(ROOT, "node_modules/zod/package.json"), "utf8")) as {
      version: string;
    };
    expect(text.match(/^== .*$/gm)).toStrictEqual([
      expect.stringMatching(/^== @elastic\/elasticsearch \S+ \(Apache-2\.0\)$/),
      `== zod ${zod.version} (MIT)`,
    ]);
    expect(text).toContain("Permission is hereby granted, free of charge");
    expect(text).not.toContain("lib/settings");
  });
});
