import { COMMANDS, createProgram } from "./program.ts";

/**
 * Which commands take each long flag, read from the commands themselves (every module loaded):
 * the README's settings table lists them, so it can never promise a flag a command refuses.
 */
export async function flagUsers(): Promise<Map<string, string[]>> {
  const seams = {
    env: {},
    io: { write: async () => undefined, log: () => undefined, readStdin: async () => "" },
  };
  const program = await createProgram(seams, { load: COMMANDS.map((c) => c.name) });
  const users = new Map<string, string[]>();
  for (const command of program.commands)
    for (const option of command.options)
      if (option.long) users.set(option.long, [...(users.get(option.long) ?? []), command.name()]);
  return users;
}
