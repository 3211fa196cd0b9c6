import { z } from "zod";

/** A path in config; a leading `~` means the user's home folder, `$XDG_DATA_HOME` the per-user data folder (expanded by the loader, not here). */
export const pathString = z.string().min(1).describe("A file or folder path; `~` means $HOME, a leading `$XDG_DATA_HOME` that folder (default ~/.local/share)");

/** An argv array run with execa and no shell: the first element is the program. */
export const argv = z.array(z.string().min(1)).min(1).describe("Program and arguments, run without a shell");

export const severity = z.enum(["info", "warning", "critical"]);
export type Severity = z.infer<typeof severity>;

/** Numeric chat ids may be given as numbers or strings; we keep them as strings (Discord snowflakes exceed 2^53). */
export const idList = z.array(z.union([z.string().regex(/^-?\d+$/), z.number().int()]).transform(String));
