// Whether this machine can have a GPU for Dawn (WebGPU) at all, decided from device nodes and the Vulkan loader
// before Dawn loads: Dawn and Mesa's ICDs print "Couldn't load Vulkan" / XDG_RUNTIME_DIR lines to stderr from
// native code that no caller can silence. Used by the tfjs backend choice (auto mode) and by onnxruntime-node's
// WebGPU EP (serve/node/ep.ts).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface GpuHost {
  platform: string;
  exists(path: string): boolean;
  list(dir: string): string[];
  /** LD_LIBRARY_PATH. */
  libraryPath?: string;
}

const realHost = (): GpuHost => ({
  platform: process.platform,
  exists: existsSync,
  list: (d) => {
    try {
      return readdirSync(d);
    } catch {
      return [];
    }
  },
  libraryPath: process.env.LD_LIBRARY_PATH,
});

const VULKAN_LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib/x86_64-linux-gnu', '/lib/aarch64-linux-gnu', '/usr/lib64', '/lib64', '/usr/lib', '/usr/local/lib'];

/**
 * Why Dawn cannot find a GPU on this Linux machine, or null when it may: no GPU device node, or no Vulkan
 * loader. Checked before Dawn loads in auto mode, because Dawn (and Mesa's ICDs) print "Couldn't load
 * Vulkan" / XDG_RUNTIME_DIR lines to stderr from native code that no caller can silence.
 */
export function noGpuReason(host: GpuHost = realHost()): string | null {
  if (host.platform !== 'linux') return null;
  const devices = [
    ...host.list('/dev').filter((f) => /^nvidia\d+$/.test(f) || f === 'dxg' || f === 'kfd').map((f) => `/dev/${f}`),
    ...host.list('/dev/dri').filter((f) => f.startsWith('renderD')).map((f) => `/dev/dri/${f}`),
  ];
  if (!devices.length) return 'no GPU device (no /dev/nvidia*, /dev/dri/renderD*, /dev/dxg or /dev/kfd); Dawn not probed';
  const dirs = [...(host.libraryPath ?? '').split(':').filter(Boolean), ...VULKAN_LIB_DIRS];
  if (!dirs.some((d) => host.exists(join(d, 'libvulkan.so.1'))))
    return `GPU device ${devices[0]} but no Vulkan loader (libvulkan.so.1; apt-get install libvulkan1); Dawn not probed`;
  return null;
}
