import { COMMANDS, createProgram } from "./program.ts";

/**
 * Which commands take each setting's flag, read from the commands themselves (every module loaded):
 * the README's settings table lists them, so it can never promise a flag a command refuses.
 */
export async function flagUsers(): Promise<Map<string, string[]>> {
  const seams = {
    env: {},
    io: { write: async () => undefined, log: () => undefined, readStdin: async () => "" },
  };
  const program = await createProgram(seams, { load: COMMANDS.map((c) => c.name) });
  const users = new Map<string, string[]>();
  // Only an option made from its setting (settingOption: "[env VAR...]") overrides it: a command's
  // own `--org` filter, say, does not read JUMPCLOUD_ORG_IDS.
  for (const command of program.commands)
    for (const option of command.options)
      if (option.long && option.description.includes("[env "))
        users.set(option.long, [...(users.get(option.long) ?? []), command.name()]);
  return users;
}
