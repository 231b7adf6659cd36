// Test helper: make sure tfjs-core's gradient functions are registered.
// The CommonJS node bundle of @tensorflow/tfjs-core (its "main") registers no gradients, and its ESM
// `dist/register_all_gradients.js` cannot be imported by plain node because it uses extensionless
// relative imports. A tiny resolve hook that appends `.js` inside tfjs-core's dist makes it load; the
// per-file ESM copy then registers into the same global registry (tfjs keeps its engine and kernel /
// gradient registries on globalThis), so the CJS `tf` used everywhere sees the gradients.
import * as tf from '@tensorflow/tfjs-core';
import { register } from 'node:module';

const HOOK = `export async function resolve(specifier, context, next) {
  if ((specifier.startsWith('./') || specifier.startsWith('../')) && context.parentURL &&
      context.parentURL.includes('/@tensorflow/tfjs-core/dist/') && !/\\.[cm]?js$/.test(specifier)) {
    return next(specifier + '.js', context);
  }
  return next(specifier, context);
}`;

export async function ensureGradients(): Promise<void> {
  if (tf.getGradient('Add')) return; // someone already registered them
  register('data:text/javascript,' + encodeURIComponent(HOOK));
  await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  if (!tf.getGradient('Add')) throw new Error('tfjs gradients could not be registered');
}
