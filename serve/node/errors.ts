// Client-visible errors: every failure leaves the server as {"error": "..."} with a 4xx/5xx status.

export class HttpError extends Error {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  constructor(statusCode: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.headers = headers;
  }
}

export const badRequest = (msg: string) => new HttpError(400, msg);
export const notFound = (msg: string) => new HttpError(404, msg);
export const tooLarge = (msg: string) => new HttpError(413, msg);
export const unsupportedMedia = (msg: string) => new HttpError(415, msg);
export const unavailable = (msg: string, retryAfterS = 1) => new HttpError(503, msg, { 'retry-after': String(retryAfterS) });

export const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * The server cannot start as asked and the user must change the command or the files (a missing model, a
 * stale model): `ecl serve` exits 2 for it. serve/ cannot import pipeline/cli/errors.ts, so it says so here.
 */
export class ServeUsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'ServeUsageError';
  }
}
