// Rewrites the README's detection rule table from the rule pack (`npm run docs:rules`).
import { readFileSync, writeFileSync } from "node:fs";
import { withRulesTable } from "../lib/kibana/rule-docs.ts";
import { rulePack } from "../lib/kibana/rule-pack.ts";

const path = new URL("../README.md", import.meta.url);
writeFileSync(path, withRulesTable(readFileSync(path, "utf8"), rulePack()));
