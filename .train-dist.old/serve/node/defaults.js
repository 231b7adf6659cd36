export const SERVE_DEFAULTS = {
    host: '127.0.0.1',
    port: 8000,
    ep: 'auto',
    maxBatch: 64,
    maxDelayMs: 0,
    maxQueue: 256,
    bodyLimit: 8 * 1024 * 1024,
    maxImagePixels: 4096 * 4096,
    inference: 'worker',
    intraOpThreads: 0,
    ortSpin: false,
};
//# sourceMappingURL=defaults.js.map