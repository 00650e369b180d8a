#!/usr/bin/env node
// The installable entry point (`npx jumpcloud-elastic`): the CLI's TypeScript, run through tsx's loader.
import { register } from "tsx/esm/api";

register();
await import("../cli/main.ts");
