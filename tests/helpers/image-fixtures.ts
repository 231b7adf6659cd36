// Encoded test images generated with sharp: every kind the preprocessing contract must handle the same way
// in training, the server and the browser (non-square, grey, grey+alpha, RGBA, palette, 16-bit, lossless and
// lossy WebP, JPEG 4:2:0 / 4:4:4 / grey, EXIF orientations 1-8 in PNG, WebP and JPEG).
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

export const lcg = (seed: number) => {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24;
};

/** Smooth structure plus noise (so crops and resampling matter), `channels` interleaved, w x h. */
export function pattern(w: number, h: number, channels: number, seed: number): Buffer {
  const r = lcg(seed);
  const out = Buffer.alloc(w * h * channels);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < channels; c++) {
        const base = c === 3 ? (x * 255) / Math.max(1, w - 1) : 128 + 100 * Math.sin((x + 2 * c) / 5 + (y * (c + 1)) / 7);
        out[(y * w + x) * channels + c] = Math.max(0, Math.min(255, Math.round(base + (r() - 128) / 4)));
      }
  return out;
}

export interface FixtureImage {
  name: string;
  mime: 'image/png' | 'image/jpeg' | 'image/webp';
  bytes: Buffer;
}

/**
 * A 16-bit PNG written by hand (sharp cannot take 16-bit raw input): colour type 6 (RGBA) or 0 (grey), the
 * high bytes from pattern(), random low bytes, so the 16 -> 8 bit reduction of each decoder shows.
 */
export function png16(w: number, h: number, channels: 1 | 4, seed: number): Buffer {
  const r = lcg(seed + 1000);
  const p = pattern(w, h, channels, seed);
  const rows = Buffer.alloc(h * (1 + w * channels * 2));
  for (let y = 0, o = 0; y < h; y++) {
    rows[o++] = 0; // filter: none
    for (let i = 0; i < w * channels; i++) {
      rows[o++] = p[y * w * channels + i]!;
      rows[o++] = r();
    }
  }
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 16;
  ihdr[9] = channels === 4 ? 6 : 0;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

const raw = (w: number, h: number, channels: 1 | 2 | 3 | 4, seed: number) => sharp(pattern(w, h, channels, seed), { raw: { width: w, height: h, channels } });

/** The images of the parity matrix. `jpeg`: include JPEGs; `lossyWebp`: include a lossy WebP. */
export async function fixtureImages(opts: { jpeg?: boolean; lossyWebp?: boolean } = {}): Promise<FixtureImage[]> {
  const out: FixtureImage[] = [];
  const add = (name: string, mime: FixtureImage['mime'], bytes: Buffer) => out.push({ name, mime, bytes });
  add('rgb-45x23.png', 'image/png', await raw(45, 23, 3, 1).png().toBuffer());
  add('grey-30x47.png', 'image/png', await raw(30, 47, 1, 2).png().toBuffer());
  add('grey-alpha-33x20.png', 'image/png', await raw(33, 20, 2, 3).png().toBuffer());
  add('rgba-40x26.png', 'image/png', await raw(40, 26, 4, 4).png().toBuffer());
  add('palette-alpha-37x21.png', 'image/png', await raw(37, 21, 4, 5).png({ palette: true, colours: 32 }).toBuffer());
  add('rgba16-29x41.png', 'image/png', png16(29, 41, 4, 6));
  add('grey16-35x22.png', 'image/png', png16(35, 22, 1, 7));
  add('large-600x400.png', 'image/png', await raw(600, 400, 3, 8).png().toBuffer());
  add('rgba-lossless-44x25.webp', 'image/webp', await raw(44, 25, 4, 9).webp({ lossless: true }).toBuffer());
  if (opts.lossyWebp) add('rgb-lossy-44x25.webp', 'image/webp', await raw(44, 25, 3, 10).webp({ quality: 80 }).toBuffer());
  if (opts.jpeg) {
    add('rgb-420-46x27.jpg', 'image/jpeg', await raw(46, 27, 3, 11).jpeg({ quality: 90 }).toBuffer());
    add('rgb-444-27x46.jpg', 'image/jpeg', await raw(27, 46, 3, 12).jpeg({ quality: 90, chromaSubsampling: '4:4:4' }).toBuffer());
    add('grey-31x19.jpg', 'image/jpeg', await raw(31, 19, 1, 13).jpeg({ quality: 90 }).toBuffer());
  }
  for (let o = 1; o <= 8; o++) {
    add(`exif${o}-39x22.png`, 'image/png', await raw(39, 22, 3, 20 + o).png().withMetadata({ orientation: o }).toBuffer());
    add(`exif${o}-39x22.webp`, 'image/webp', await raw(39, 22, 4, 30 + o).webp({ lossless: true }).withMetadata({ orientation: o }).toBuffer());
    if (opts.jpeg) add(`exif${o}-39x22.jpg`, 'image/jpeg', await raw(39, 22, 3, 40 + o).jpeg({ quality: 90 }).withMetadata({ orientation: o }).toBuffer());
  }
  return out;
}
