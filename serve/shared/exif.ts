// EXIF orientation straight from the encoded bytes of a JPEG (APP1 "Exif"), PNG (eXIf chunk) or WebP (RIFF
// EXIF chunk). Browser-safe (no imports): the server and the browser app read the orientation with this one
// parser and apply it with serve/shared/preprocess.ts, so neither depends on what its decoder does with EXIF
// (sharp leaves pixels as stored; Chromium rotates JPEG/PNG in createImageBitmap but ignores WebP EXIF).
//
// The bytes are attacker input: every read is bounds-checked, every loop advances by at least one byte
// or visits a bounded count of entries, and nothing is allocated, so any input costs O(length) time.

export interface ExifOrientation {
  /** 1..8; 1 when there is no EXIF, no orientation tag, or a value outside 1..8. */
  orientation: number;
  /** Byte offset of the tag's 16-bit value (where a copy can be neutralised to 1), or -1 when absent. */
  valueOffset: number;
  /** Whether the value is little-endian (TIFF "II"). */
  littleEndian: boolean;
}

const NONE: ExifOrientation = { orientation: 1, valueOffset: -1, littleEndian: false };
const ORIENTATION_TAG = 0x0112;
const SHORT = 3;

const u16be = (b: Uint8Array, p: number) => (b[p]! << 8) | b[p + 1]!;
const u32be = (b: Uint8Array, p: number) => b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
const u32le = (b: Uint8Array, p: number) => b[p + 3]! * 0x1000000 + ((b[p + 2]! << 16) | (b[p + 1]! << 8) | b[p]!);
const ascii = (b: Uint8Array, p: number, s: string) => {
  for (let i = 0; i < s.length; i++) if (b[p + i] !== s.charCodeAt(i)) return false;
  return true;
};

/** Orientation from a TIFF structure in b[start, end): IFD0's tag 0x0112 (SHORT). */
export function tiffOrientation(b: Uint8Array, start: number, end: number): ExifOrientation {
  end = Math.min(end, b.length);
  if (start < 0 || end - start < 8) return NONE;
  const le = b[start] === 0x49 && b[start + 1] === 0x49;
  if (!le && !(b[start] === 0x4d && b[start + 1] === 0x4d)) return NONE;
  const r16 = (p: number) => (le ? b[p]! | (b[p + 1]! << 8) : u16be(b, p));
  const r32 = (p: number) => (le ? u32le(b, p) : u32be(b, p));
  if (r16(start + 2) !== 42) return NONE;
  const ifd = start + r32(start + 4);
  if (ifd < start + 8 || ifd + 2 > end) return NONE;
  const count = r16(ifd);
  for (let i = 0; i < count; i++) {
    const e = ifd + 2 + 12 * i;
    if (e + 12 > end) break;
    if (r16(e) !== ORIENTATION_TAG) continue;
    if (r16(e + 2) !== SHORT || r32(e + 4) < 1) return NONE;
    const v = r16(e + 8);
    return { orientation: v >= 1 && v <= 8 ? v : 1, valueOffset: e + 8, littleEndian: le };
  }
  return NONE;
}

/** A TIFF block that may carry the "Exif\0\0" prefix (always in JPEG APP1, sometimes in PNG/WebP). */
function exifBlock(b: Uint8Array, start: number, end: number): ExifOrientation {
  if (end - start >= 6 && ascii(b, start, 'Exif') && b[start + 4] === 0 && b[start + 5] === 0) start += 6;
  return tiffOrientation(b, start, end);
}

/** JPEG: marker segments up to the first scan; the first APP1 that starts with "Exif\0\0". */
function jpegOrientation(b: Uint8Array): ExifOrientation {
  let p = 2;
  while (p + 4 <= b.length) {
    if (b[p] !== 0xff) return NONE;
    const marker = b[p + 1]!;
    if (marker === 0xff) {
      p += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      p += 2; // markers without a length
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return NONE; // scan data / end: no metadata after this point
    const len = u16be(b, p + 2);
    const end = p + 2 + len;
    if (len < 2 || end > b.length) return NONE;
    if (marker === 0xe1 && len >= 8 && ascii(b, p + 4, 'Exif') && b[p + 8] === 0 && b[p + 9] === 0) return tiffOrientation(b, p + 10, end);
    p = end;
  }
  return NONE;
}

/** PNG: the eXIf chunk (any position before IEND). */
function pngOrientation(b: Uint8Array): ExifOrientation {
  let p = 8;
  while (p + 12 <= b.length) {
    const len = u32be(b, p);
    const data = p + 8;
    const end = data + len;
    if (end + 4 > b.length) return NONE;
    if (ascii(b, p + 4, 'eXIf')) return exifBlock(b, data, end);
    if (ascii(b, p + 4, 'IEND')) return NONE;
    p = end + 4; // + CRC
  }
  return NONE;
}

/** WebP: the RIFF 'EXIF' chunk (extended format, VP8X). */
function webpOrientation(b: Uint8Array): ExifOrientation {
  let p = 12;
  while (p + 8 <= b.length) {
    const len = u32le(b, p + 4);
    const data = p + 8;
    const end = data + len;
    if (end > b.length) return NONE;
    if (ascii(b, p, 'EXIF')) return exifBlock(b, data, end);
    p = end + (len & 1); // chunks are padded to even sizes
  }
  return NONE;
}

/** The EXIF orientation of an encoded PNG, JPEG or WebP image (1 for other formats or no EXIF). */
export function readExifOrientation(bytes: Uint8Array): ExifOrientation {
  const b = bytes;
  if (b.length >= 8 && b[0] === 0x89 && ascii(b, 1, 'PNG\r\n\x1a\n')) return pngOrientation(b);
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return jpegOrientation(b);
  if (b.length >= 12 && ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP')) return webpOrientation(b);
  return NONE;
}

/**
 * A copy of the bytes whose orientation tag says 1, for decoders that would otherwise rotate on their own
 * (Chromium's createImageBitmap always does for JPEG). The original is returned when there is nothing to undo.
 */
export function withoutOrientation(bytes: Uint8Array, exif: ExifOrientation = readExifOrientation(bytes)): Uint8Array {
  if (exif.valueOffset < 0 || exif.orientation === 1) return bytes;
  const copy = Uint8Array.from(bytes); // not slice(): slice() of a node buffer is a view
  copy[exif.valueOffset] = exif.littleEndian ? 1 : 0;
  copy[exif.valueOffset + 1] = exif.littleEndian ? 0 : 1;
  return copy;
}
