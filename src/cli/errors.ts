/** Bad command-line usage: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export const exitCodes = { ok: 0, degraded: 1, usage: 2, config: 2, store: 3 } as const;
