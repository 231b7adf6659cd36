// Progress reporting: a live bar (step, loss, img/s, ETA) on a TTY, plain log lines otherwise (CI, files).
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, stats: { loss: number; imgPerSec: number }): void;
  stop(): void;
}

export function createProgress(label: string, total: number, log: (l: string) => void): Progress {
  if (process.stderr.isTTY && !process.env.CI) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} |{bar}| {value}/{total} steps | loss {loss} | {ips} img/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { loss: '-', ips: '-' });
    return {
      update: (done, s) => bar.update(done, { loss: s.loss.toFixed(4), ips: s.imgPerSec.toFixed(1) }),
      stop: () => bar.stop(),
    };
  }
  // Non-TTY: about ten lines per epoch.
  const every = Math.max(1, Math.round(total / 10));
  const t0 = Date.now();
  return {
    update: (done, s) => {
      if (done % every !== 0 && done !== total) return;
      const secs = (Date.now() - t0) / 1000;
      const eta = done > 0 ? (secs / done) * (total - done) : 0;
      log(`${label} step ${done}/${total} loss ${s.loss.toFixed(4)} ${s.imgPerSec.toFixed(1)} img/s ETA ${eta.toFixed(0)} s`);
    },
    stop: () => {},
  };
}

/** A counter bar for work without a loss (decoding images): "label |bar| done/total unit | N/s | ETA". */
export function createCountProgress(label: string, total: number, unit: string, log: (l: string) => void): { update(done: number): void; stop(): void } {
  const t0 = Date.now();
  const rate = (done: number) => done / Math.max((Date.now() - t0) / 1000, 1e-9);
  if (process.stderr.isTTY && !process.env.CI) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} |{bar}| {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`, stream: process.stderr, hideCursor: true, etaBuffer: 50 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { rate: '-' });
    return { update: (done) => bar.update(done, { rate: rate(done).toFixed(0) }), stop: () => bar.stop() };
  }
  const every = Math.max(1, Math.round(total / 10));
  return {
    update: (done) => {
      if (done % every !== 0 && done !== total) return;
      const eta = done > 0 ? ((Date.now() - t0) / 1000 / done) * (total - done) : 0;
      log(`${label}: ${done}/${total} ${unit}, ${rate(done).toFixed(0)}/s, ETA ${eta.toFixed(0)} s`);
    },
    stop: () => {},
  };
}
