// `ecl report <run>`: runs/<name>/report.html, one self-contained page (inline SVG charts, no script, no network)
// of what the run measured. `ecl report --compare <run> <run> ...`: methods compared over seeds.
import type { Argv, CommandModule } from 'yargs';
import { withStageHelp } from './common.js';
import { UsageError } from './errors.js';

export interface ReportArgs {
  runs: string[];
  compare: boolean;
  out?: string;
}

export const reportCommand: CommandModule<object, ReportArgs> = {
  command: 'report <runs..>',
  describe: 'an HTML report of a run (or --compare: of several runs, by method)',
  builder: (y) =>
    withStageHelp(
      y
        .positional('runs', { type: 'string', array: true, demandOption: true, describe: 'run folder(s), e.g. runs/demo' })
        .option('compare', { type: 'boolean', default: false, describe: 'compare the runs by method (mean ± 95% CI over seeds, paired differences)' })
        .option('out', { type: 'string', describe: 'the HTML file (default: <run>/report.html; with --compare, <runs folder>/compare.html)' })
        .group(['compare', 'out'], 'Report:'),
      'report',
      [
        ['$0 report runs/demo', 'runs/demo/report.html: run card, training curves, long-tail accuracy, confusion, geometry, parity'],
        ['$0 report --compare runs/study/bcl-* runs/study/ecl-*', 'every method over its seeds -> runs/compare.html'],
      ],
    ) as unknown as Argv<ReportArgs>,
  handler: async (a) => {
    const runs = a.runs.map(String);
    if (!a.compare) {
      if (runs.length !== 1) throw new UsageError(`report: one run folder, or --compare with several (got ${runs.length})`);
      const { writeRunReport } = await import('../report/build.js');
      const r = await writeRunReport(runs[0]!, a.out);
      for (const s of r.skipped) console.error(`skipped: ${s}`);
      console.log(`wrote ${r.path}`);
      return;
    }
    const { writeCompareReport } = await import('../report/compare.js');
    const r = await writeCompareReport(runs, a.out);
    for (const s of r.skipped) console.error(`skipped: ${s}`);
    console.log(`wrote ${r.path} (${r.methods.length} methods: ${r.methods.join(', ')})`);
  },
};
