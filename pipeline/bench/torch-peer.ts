// The PyTorch side of bench-train: the peer process (/usr/bin/python3 running scripts/torch_peer_bench.py,
// timing forward + backward + step on the same model, loss, batch and optimiser), the `import torch` probe,
// and the one-line reason shown when the peer is unavailable or fails.
import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelFamily } from '../../models/spec.js';
import type { BenchLoss, BenchTrainOptions, LossHP, RoundOut } from './train-report.js';
import { CLASS_COUNTS, MOMENTUM, WEIGHT_DECAY } from './trainer-run.js';

/** The repository root: this file is dist/pipeline/bench/torch-peer.js once built. */
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const PEER = join(REPO, 'scripts', 'torch_peer_bench.py');

/** The reason shown as "unavailable (reason)": the last meaningful line of a failed `import torch`. */
export function torchUnavailableReason(err: { code?: unknown; message?: string; stderr?: string }, python: string): string {
  if (err.code === 'ENOENT') return `${python} not found`;
  const lines = (err.stderr ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const last = lines.at(-1) ?? (err.message ?? 'unknown error').split('\n')[0]!;
  return last.length > 120 ? last.slice(0, 117) + '...' : last;
}

function execFileP(cmd: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) rej(Object.assign(err, { stdout, stderr }));
      else res({ stdout, stderr });
    });
  });
}

/** torch version from `python -c 'import torch'`, or the reason it cannot be used. */
export async function probeTorch(python: string): Promise<{ ok: true; version: string; python: string } | { ok: false; reason: string }> {
  try {
    const { stdout } = await execFileP(python, ['-c', 'import sys, torch; print(torch.__version__, sys.version.split()[0])'], 120_000);
    const [version, py] = stdout.trim().split(/\s+/);
    return { ok: true, version: version ?? '?', python: py ?? '?' };
  } catch (e) {
    return { ok: false, reason: torchUnavailableReason(e as { code?: unknown; message?: string; stderr?: string }, python) };
  }
}

export type TorchMemoryFormat = 'channels_last' | 'nchw';

/** One PyTorch round: the peer script for warm-up + timed steps; its last stdout line is the JSON result. */
export async function torchRound(model: ModelFamily, loss: BenchLoss, o: BenchTrainOptions, hp: LossHP, memoryFormat: TorchMemoryFormat = 'channels_last'): Promise<RoundOut> {
  const args = [
    PEER,
    ...['--model', model, '--batch', String(o.batch), '--loss', loss, '--steps', String(o.steps), '--warmup', String(o.warmup), '--memory-format', memoryFormat],
    ...['--threads', String(o.threads), '--device', o.torchDevice, '--lr', String(o.lr), '--momentum', String(MOMENTUM), '--weight-decay', String(WEIGHT_DECAY)],
    ...['--class-counts', CLASS_COUNTS.join(',')],
    ...['--temperature', String(hp.temperature), '--la-tau', String(hp.laTau), '--lambda-bc', String(hp.lambdaBc), '--lambda-cc', String(hp.lambdaCc)],
  ];
  const { stdout } = await execFileP(o.python, args, 20 * 60_000);
  const line = stdout.trim().split('\n').at(-1) ?? '';
  const j = JSON.parse(line) as { stepMs: number[]; cpuMs: number[]; losses: number[]; device?: string };
  return { stepMs: j.stepMs, cpuMs: j.cpuMs, losses: j.losses, device: j.device };
}


/** The inputs of peerLosses: the tfjs model's parameters (ParamStore order), a batch and the loss settings. */
export interface PeerLossInput {
  model: ModelFamily;
  loss: BenchLoss;
  /** Parameters in the order initParams stores them (the peer loads them in the same walk order). */
  params: Map<string, { shape: number[]; data: Float32Array }>;
  /** views x B images, NHWC raw pixel values (0..255), view-major as the trainer builds its batch. */
  pixels: Float32Array;
  labels: Int32Array;
  batch: number;
  mean: number[];
  std: number[];
  classCounts: number[];
  hp: LossHP;
  python?: string;
}

/**
 * The PyTorch peer's loss terms for one forward pass in training mode on the given weights and batch
 * (`torch_peer_bench.py --check-loss`), to check that the peer computes the same objective as the trainer.
 */
export async function peerLosses(i: PeerLossInput): Promise<{ total: number; parts: Record<string, number> }> {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'ecl-peer-loss-'));
  try {
    const file = join(dir, 'check.json');
    const params = [...i.params].map(([name, p]) => [name, p.shape, Array.from(p.data)]);
    writeFileSync(file, JSON.stringify({ params, pixels: Array.from(i.pixels), labels: Array.from(i.labels), mean: i.mean, std: i.std }));
    const args = [
      PEER,
      ...['--model', i.model, '--batch', String(i.batch), '--loss', i.loss, '--threads', '1', '--check-loss', file, '--memory-format', 'nchw'],
      ...['--class-counts', i.classCounts.join(',')],
      ...['--temperature', String(i.hp.temperature), '--la-tau', String(i.hp.laTau), '--lambda-bc', String(i.hp.lambdaBc), '--lambda-cc', String(i.hp.lambdaCc)],
    ];
    const { stdout } = await execFileP(i.python ?? '/usr/bin/python3', args, 5 * 60_000);
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as { total: number; parts: Record<string, number> };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
