// Seeded, portable PRNG (mulberry32) so data order, augmentation and weight init are identical on every
// backend and every machine. Streams are derived from (seed, purpose, index) so resuming at an epoch
// boundary replays exactly the same randomness as an uninterrupted run.
export class Rng {
    state;
    constructor(seed) {
        this.state = seed >>> 0;
    }
    /** Uniform in [0, 1). */
    next() {
        let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    }
    /** Integer in [0, n). */
    int(n) {
        return Math.floor(this.next() * n);
    }
    /** Standard normal (Box-Muller). */
    normal() {
        let u = 0;
        while (u === 0)
            u = this.next();
        const v = this.next();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }
    /** Fisher-Yates shuffle in place. */
    shuffle(a) {
        for (let i = a.length - 1; i > 0; i--) {
            const j = this.int(i + 1);
            const tmp = a[i];
            a[i] = a[j];
            a[j] = tmp;
        }
        return a;
    }
}
/** FNV-1a hash of a string, for deriving stream seeds from names. */
export function hashString(s) {
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) {
        h ^= s.charCodeAt(i);
        h = Math.imul(h, 0x01000193);
    }
    return h >>> 0;
}
/** An independent stream for (seed, purpose, index), e.g. ('shuffle', epoch). */
export function deriveRng(seed, purpose, index = 0) {
    const mixed = (hashString(purpose) ^ Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
    const r = new Rng(mixed);
    r.next();
    return r;
}
//# sourceMappingURL=rng.js.map