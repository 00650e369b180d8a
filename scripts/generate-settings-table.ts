// Rewrites the README's configuration table from the settings schema and the CLI's commands (`npm run docs:settings`).
import { readFileSync, writeFileSync } from "node:fs";
import { flagUsers } from "../cli/flag-users.ts";
import { withSettingsTable } from "../lib/settings/docs.ts";

const path = new URL("../README.md", import.meta.url);
writeFileSync(path, withSettingsTable(readFileSync(path, "utf8"), await flagUsers()));
