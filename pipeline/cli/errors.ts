// Exit codes of every `ecl` stage: 0 ok; 1 a check ran and failed (parity or export-check mismatch, an
// accuracy gate); 2 usage error (bad option, missing argument, bad input the user must fix); 3 runtime error
// (anything else). Stages throw these classes; pipeline/cli.ts maps them to the code.
export const EXIT = { ok: 0, checkFailed: 1, usage: 2, runtime: 3 } as const;

/** A check ran to the end and the model did not pass it. */
export class CheckFailedError extends Error {
  readonly exitCode = EXIT.checkFailed;
  constructor(message: string) {
    super(message);
    this.name = 'CheckFailedError';
  }
}

/** The user asked for something that cannot work as asked: fix the command or the input. */
export class UsageError extends Error {
  readonly exitCode = EXIT.usage;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The exit code for an error thrown by a stage. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof CheckFailedError || e instanceof UsageError) return e.exitCode;
  return EXIT.runtime;
}
