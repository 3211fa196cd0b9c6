/** Quotes a word for a POSIX shell when it needs it; for commands shown to a person to copy, never run by asm. */
export const shellQuote = (p: string) => (/^[A-Za-z0-9_./=-]+$/.test(p) ? p : `'${p.replace(/'/g, "'\\''")}'`);
