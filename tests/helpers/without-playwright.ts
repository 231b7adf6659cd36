// `node --import <this file>`: the process sees no playwright-core package, as after `npm ci --omit=dev`
// (playwright-core is a dev dependency). Used to check that `ecl parity` then reports the browser runtimes
// unavailable with that reason instead of failing.
import { register } from 'node:module';

const hooks = `export async function resolve(specifier, context, next) {
  if (specifier === 'playwright-core' || specifier.startsWith('playwright-core/')) {
    const e = new Error("Cannot find package 'playwright-core' (hidden by tests/helpers/without-playwright)");
    e.code = 'ERR_MODULE_NOT_FOUND';
    throw e;
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
