// Client-visible errors: every failure leaves the server as {"error": "..."} with a 4xx/5xx status.
export class HttpError extends Error {
    statusCode;
    headers;
    constructor(statusCode, message, headers = {}) {
        super(message);
        this.name = 'HttpError';
        this.statusCode = statusCode;
        this.headers = headers;
    }
}
export const badRequest = (msg) => new HttpError(400, msg);
export const notFound = (msg) => new HttpError(404, msg);
export const tooLarge = (msg) => new HttpError(413, msg);
export const unsupportedMedia = (msg) => new HttpError(415, msg);
export const unavailable = (msg, retryAfterS = 1) => new HttpError(503, msg, { 'retry-after': String(retryAfterS) });
export const errorMessage = (e) => (e instanceof Error ? e.message : String(e));
//# sourceMappingURL=errors.js.map