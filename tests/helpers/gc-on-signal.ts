// Preloaded into a test's server child (`node --expose-gc --import dist/tests/helpers/gc-on-signal.js ...`): SIGUSR2
// runs a full garbage collection. Node runs no idle-time GC, so an idle server keeps the garbage of a load burst
// in its RSS indefinitely (the soak test saw a flat 255 MB for 20 s, V8 heap 64 -> 93 MB); collecting it first
// makes "RSS back after the load" measure retained memory, i.e. leaks. Production servers never load this.
const gc = (globalThis as { gc?: () => void }).gc;
if (typeof gc !== 'function') throw new Error('gc-on-signal: start node with --expose-gc');
process.on('SIGUSR2', () => gc());
