/**
 * A QR code (ISO/IEC 18004) for the documents' reference and hash: byte mode, error correction L,
 * the smallest of versions 1 to 6 that holds the text (up to 134 bytes), mask 0. Small on purpose:
 * no dependency for one symbol per page. Returns the modules, true for dark, row by row.
 */

// Per version 1..6, level L: [total codewords, EC codewords per block, blocks] (all blocks equal up to v6 L).
const L_BLOCKS: Record<number, [number, number, number]> = { 1: [26, 7, 1], 2: [44, 10, 1], 3: [70, 15, 1], 4: [100, 20, 1], 5: [134, 26, 1], 6: [172, 18, 2] };
const ALIGN: Record<number, number[]> = { 1: [], 2: [6, 18], 3: [6, 22], 4: [6, 26], 5: [6, 30], 6: [6, 34] };

const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i += 1) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  for (let i = 255; i < 512; i += 1) EXP[i] = EXP[i - 255]!;
}
const mul = (a: number, b: number) => (a === 0 || b === 0 ? 0 : EXP[LOG[a]! + LOG[b]!]!);

/** Reed-Solomon: the `n` EC codewords of `data`. */
function reedSolomon(data: number[], n: number): number[] {
  let gen = [1];
  for (let i = 0; i < n; i += 1) {
    const next = new Array<number>(gen.length + 1).fill(0);
    gen.forEach((g, j) => {
      next[j] = next[j]! ^ g;
      next[j + 1] = next[j + 1]! ^ mul(g, EXP[i]!);
    });
    gen = next;
  }
  const rem = new Array<number>(n).fill(0);
  for (const d of data) {
    const factor = d ^ rem.shift()!;
    rem.push(0);
    for (let j = 0; j < n; j += 1) rem[j] = rem[j]! ^ mul(gen[j + 1]!, factor);
  }
  return rem;
}

export function qrMatrix(text: string): boolean[][] {
  const bytes = [...Buffer.from(text, 'utf8')];
  const version = [1, 2, 3, 4, 5, 6].find((v) => {
    const [total, ec, blocks] = L_BLOCKS[v]!;
    return bytes.length + 2 <= total - ec * blocks; // 4-bit mode + 8-bit count + data, rounded
  });
  if (!version) throw new RangeError(`QR: ${bytes.length} bytes do not fit in version 6-L`);
  const [total, ecLen, blocks] = L_BLOCKS[version]!;
  const dataLen = total - ecLen * blocks;

  // Data bits: mode 0100, count (8 bits up to version 9), bytes, terminator, pads.
  const bits: number[] = [];
  const put = (value: number, length: number) => {
    for (let i = length - 1; i >= 0; i -= 1) bits.push((value >>> i) & 1);
  };
  put(0b0100, 4);
  put(bytes.length, 8);
  for (const b of bytes) put(b, 8);
  put(0, Math.min(4, dataLen * 8 - bits.length));
  while (bits.length % 8 !== 0) bits.push(0);
  const data: number[] = [];
  for (let i = 0; i < bits.length; i += 8) data.push(parseInt(bits.slice(i, i + 8).join(''), 2));
  for (let pad = 0; data.length < dataLen; pad += 1) data.push(pad % 2 === 0 ? 0xec : 0x11);

  // Blocks, their EC, interleaved.
  const size = dataLen / blocks;
  const dataBlocks = Array.from({ length: blocks }, (_, i) => data.slice(i * size, (i + 1) * size));
  const ecBlocks = dataBlocks.map((b) => reedSolomon(b, ecLen));
  const codewords: number[] = [];
  for (let i = 0; i < size; i += 1) for (const b of dataBlocks) codewords.push(b[i]!);
  for (let i = 0; i < ecLen; i += 1) for (const b of ecBlocks) codewords.push(b[i]!);

  const n = 17 + 4 * version;
  const dark: boolean[][] = Array.from({ length: n }, () => new Array<boolean>(n).fill(false));
  const fixed: boolean[][] = Array.from({ length: n }, () => new Array<boolean>(n).fill(false));
  const set = (r: number, c: number, v: boolean) => {
    if (r < 0 || c < 0 || r >= n || c >= n) return;
    dark[r]![c] = v;
    fixed[r]![c] = true;
  };
  // Finder patterns with their separators.
  for (const [r0, c0] of [
    [0, 0],
    [0, n - 7],
    [n - 7, 0],
  ] as const) {
    for (let r = -1; r <= 7; r += 1)
      for (let c = -1; c <= 7; c += 1) {
        const ring = Math.max(Math.abs(r - 3), Math.abs(c - 3));
        set(r0 + r, c0 + c, ring !== 2 && ring !== 4);
      }
  }
  // Timing patterns.
  for (let i = 8; i < n - 8; i += 1) {
    set(6, i, i % 2 === 0);
    set(i, 6, i % 2 === 0);
  }
  // Alignment patterns (not over the finders).
  const centres = ALIGN[version]!;
  for (const r of centres)
    for (const c of centres) {
      if ((r === 6 && c === 6) || (r === 6 && c === n - 7) || (r === n - 7 && c === 6)) continue;
      for (let dr = -2; dr <= 2; dr += 1) for (let dc = -2; dc <= 2; dc += 1) set(r + dr, c + dc, Math.max(Math.abs(dr), Math.abs(dc)) !== 1);
    }
  // Dark module, and the format areas reserved.
  set(4 * version + 9, 8, true);
  for (let i = 0; i < 9; i += 1) {
    if (!fixed[8]![i]) set(8, i, false);
    if (!fixed[i]![8]) set(i, 8, false);
  }
  for (let i = 0; i < 8; i += 1) {
    set(8, n - 1 - i, false);
    if (!fixed[n - 1 - i]![8]) set(n - 1 - i, 8, false);
  }

  // Data, in the zigzag from the bottom right, mask 0: (row + column) even is inverted.
  const stream: number[] = [];
  for (const cw of codewords) for (let i = 7; i >= 0; i -= 1) stream.push((cw >>> i) & 1);
  let k = 0;
  let upward = true;
  for (let right = n - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    for (let step = 0; step < n; step += 1) {
      const r = upward ? n - 1 - step : step;
      for (const c of [right, right - 1]) {
        if (fixed[r]![c]) continue;
        const bit = k < stream.length ? stream[k] === 1 : false;
        k += 1;
        dark[r]![c] = bit !== ((r + c) % 2 === 0);
      }
    }
    upward = !upward;
  }

  // Format information: level L (01), mask 000, BCH(15,5), XOR 101010000010010.
  let format = 0b01000 << 10;
  for (let i = 14; i >= 10; i -= 1) if (format & (1 << i)) format ^= 0x537 << (i - 10);
  format = ((0b01000 << 10) | format) ^ 0x5412;
  const bit = (i: number) => ((format >>> i) & 1) === 1;
  for (let i = 0; i <= 5; i += 1) dark[i]![8] = bit(i);
  dark[7]![8] = bit(6);
  dark[8]![8] = bit(7);
  dark[8]![7] = bit(8);
  for (let i = 9; i < 15; i += 1) dark[8]![14 - i] = bit(i);
  for (let i = 0; i < 8; i += 1) dark[8]![n - 1 - i] = bit(i);
  for (let i = 8; i < 15; i += 1) dark[n - 15 + i]![8] = bit(i);
  dark[n - 8]![8] = true;
  return dark;
}
