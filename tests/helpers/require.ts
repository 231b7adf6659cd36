// Suites that need something outside npm (Chromium, the ONNX checker, a WebGPU adapter, Debian's Fashion-MNIST,
// clang, Debian's python3-torch, podman) skip with the reason where it is missing — unless ECL_REQUIRE names it (CI
// does: .ci/run), in which case a missing requirement fails the suite with that reason instead of turning green with skips.
import { settings } from '../../models/settings.js';

export const REQUIREMENTS = ['chromium', 'onnx', 'webgpu', 'fmnist', 'clang', 'opencv', 'torch', 'podman'] as const;
export type Requirement = (typeof REQUIREMENTS)[number];

export class RequirementMissingError extends Error {
  constructor(req: Requirement, why: string) {
    super(`${req} is required (ECL_REQUIRE=${settings.required().join(',')}) but missing: ${why}`);
    this.name = 'RequirementMissingError';
  }
}

/**
 * `missing` is why the requirement cannot be met here, or false when it can. Returns the skip reason (or false);
 * throws RequirementMissingError when ECL_REQUIRE names the requirement.
 */
export function skipUnless(req: Requirement, missing: string | false): string | false {
  if (!missing) return false;
  if (settings.required().includes(req)) throw new RequirementMissingError(req, missing);
  return missing;
}
