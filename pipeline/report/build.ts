// `ecl report`: a run's report.html (every section, each with its "not run yet" line when its data is missing),
// written atomically into the run folder.
import { join } from 'node:path';
import { writeFileAtomic } from '../../models/artifacts/atomic-write.js';
import { confusionSection } from './confusion.js';
import { geometrySection } from './geometry.js';
import { esc, page } from './html.js';
import { loadRun, type RunData } from './load.js';
import { longTailSection } from './longtail.js';
import { paritySection } from './parity.js';
import { runCardSection } from './run-card.js';
import { trainingSection } from './training.js';

export const REPORT_FILE = 'report.html';

export async function renderRunReport(r: RunData): Promise<string> {
  const sections = [
    await runCardSection(r),
    await trainingSection(r),
    await longTailSection(r),
    await confusionSection(r),
    await geometrySection(r),
    await paritySection(r),
  ];
  const cfg = r.config ?? {};
  const sub = `${esc(cfg.dataset ?? '?')} · ${esc(cfg.loss ?? '?')} · ${esc(r.checkpoint?.model ?? cfg.model ?? '?')} · written ${esc(new Date().toISOString())}`;
  return page(`Run report: ${r.name}`, sub, sections, r.skipped);
}

/** Writes <dir>/report.html (or `out`); returns its path and what was skipped. */
export async function writeRunReport(dir: string, out?: string): Promise<{ path: string; skipped: string[] }> {
  const r = loadRun(dir);
  const html = await renderRunReport(r);
  const path = out ?? join(dir, REPORT_FILE);
  writeFileAtomic(path, html);
  return { path, skipped: r.skipped };
}
