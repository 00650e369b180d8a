// Writes THIRD-PARTY-LICENSES.txt next to a Lambda bundle, from esbuild's metafile: every package
// the bundle includes, its version, licence and licence text. Run by the CDK bundling (afterBundling).
// Usage: tsx scripts/licence-notices.ts <bundle folder>
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

interface Package {
  name: string;
  version: string;
  license: string;
  text: string;
}

// A bundled input lives under node_modules/<name> or node_modules/@scope/<name>.
function packageRoots(inputs: string[]): string[] {
  const roots = new Set<string>();
  for (const input of inputs) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match?.[1]) roots.add(match[1]);
  }
  return [...roots].sort();
}

function describe(root: string, base: string): Package {
  const manifest = JSON.parse(readFileSync(join(base, root, "package.json"), "utf8")) as Record<
    string,
    unknown
  >;
  const licenceFile = readdirSync(join(base, root)).find((f) => /^(licen[cs]e|copying)(\..*)?$/i.test(f));
  return {
    name: String(manifest.name),
    version: String(manifest.version),
    license: typeof manifest.license === "string" ? manifest.license : "see the package",
    text: licenceFile
      ? readFileSync(join(base, root, licenceFile), "utf8").trim()
      : "(no licence file in the package)",
  };
}

/** The notices text for a bundle folder holding esbuild's `index.meta.json`. */
export function licenceNotices(folder: string, base: string): string {
  const meta = JSON.parse(readFileSync(join(folder, "index.meta.json"), "utf8")) as {
    inputs: Record<string, unknown>;
  };
  const packages = packageRoots(Object.keys(meta.inputs))
    .filter((root) => existsSync(join(base, root, "package.json")))
    .map((root) => describe(root, base));
  const unique = [...new Map(packages.map((p) => [`${p.name}@${p.version}`, p])).values()];
  return [
    "Third-party software in this bundle (jumpcloud-elastic is Apache-2.0):",
    "",
    ...unique.flatMap((p) => [`== ${p.name} ${p.version} (${p.license})`, "", p.text, ""]),
  ].join("\n");
}

const folder = process.argv[2];
if (folder) {
  writeFileSync(join(folder, "THIRD-PARTY-LICENSES.txt"), licenceNotices(folder, process.cwd()));
  // The metafile maps our source tree: it served its purpose and is not shipped.
  rmSync(join(folder, "index.meta.json"));
}
