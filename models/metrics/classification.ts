// Accuracy metrics for long-tail classification: top-1, balanced accuracy, per-class accuracy,
// many/medium/few-shot groups (by training-set class size) and the confusion matrix.

export interface ShotThresholds {
  /** Classes with more than this many training images are "many-shot". */
  many: number;
  /** Classes with fewer than this many are "few-shot"; the rest are "medium". */
  few: number;
}
export const DEFAULT_SHOTS: ShotThresholds = { many: 100, few: 20 };

export interface GroupAccuracy {
  /** Accuracy over the test images of the group's classes; null when the group has no classes. */
  accuracy: number | null;
  classes: number[];
  testImages: number;
}

export interface ClassificationReport {
  count: number;
  top1: number;
  balancedAccuracy: number;
  perClassAccuracy: (number | null)[];
  many: GroupAccuracy;
  medium: GroupAccuracy;
  few: GroupAccuracy;
  /** confusion[true][predicted] */
  confusion: number[][];
}

export function argmaxRows(values: Float32Array | number[], rows: number, cols: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    let bv = -Infinity;
    for (let c = 0; c < cols; c++) {
      const v = values[r * cols + c]!;
      if (v > bv) {
        bv = v;
        best = c;
      }
    }
    out[r] = best;
  }
  return out;
}

export function classificationReport(
  predictions: Int32Array | number[],
  labels: Int32Array | number[],
  trainClassCounts: number[],
  shots: ShotThresholds = DEFAULT_SHOTS,
): ClassificationReport {
  const C = trainClassCounts.length;
  const n = labels.length;
  if (predictions.length !== n) throw new Error(`predictions (${predictions.length}) and labels (${n}) differ in length`);
  const confusion = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    const p = predictions[i]!;
    if (y < 0 || y >= C) throw new Error(`label ${y} out of range [0, ${C})`);
    confusion[y]![p]! += 1;
    if (y === p) correct++;
  }
  const support = confusion.map((row) => row.reduce((a, b) => a + b, 0));
  const perClassAccuracy = confusion.map((row, c) => (support[c]! > 0 ? row[c]! / support[c]! : null));
  const present = perClassAccuracy.filter((a): a is number => a !== null);
  const group = (pred: (count: number) => boolean): GroupAccuracy => {
    const classes = trainClassCounts.map((cnt, c) => (pred(cnt) ? c : -1)).filter((c) => c >= 0);
    const testImages = classes.reduce((a, c) => a + support[c]!, 0);
    const hits = classes.reduce((a, c) => a + confusion[c]![c]!, 0);
    return { accuracy: testImages > 0 ? hits / testImages : null, classes, testImages };
  };
  return {
    count: n,
    top1: n ? correct / n : 0,
    balancedAccuracy: present.length ? present.reduce((a, b) => a + b, 0) / present.length : 0,
    perClassAccuracy,
    many: group((c) => c > shots.many),
    medium: group((c) => c >= shots.few && c <= shots.many),
    few: group((c) => c < shots.few),
    confusion,
  };
}
