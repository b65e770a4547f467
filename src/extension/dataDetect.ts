/**
 * Which dataset a file or folder is, for "Distill: New Config" and the missing-file Quick Fix: the four IDX files of
 * an MNIST-style folder, a train/test pair of CSV files, or x/y train/test `.npy` arrays. Pure: it gets the folder's
 * file names, not the disk.
 */
import type { DataConfig } from '../shared/config';

export type DetectedData = { data: DataConfig; what: string } | { error: string };

const IDX = {
  trainImages: /^train-images[-.]idx3-ubyte(\.gz)?$/,
  trainLabels: /^train-labels[-.]idx1-ubyte(\.gz)?$/,
  testImages: /^t10k-images[-.]idx3-ubyte(\.gz)?$|^test-images[-.]idx3-ubyte(\.gz)?$/,
  testLabels: /^t10k-labels[-.]idx1-ubyte(\.gz)?$|^test-labels[-.]idx1-ubyte(\.gz)?$/,
};

/** `names`: the file names in `dir`; `join` builds the path to write into the config. */
export function detectDataInFolder(dir: string, names: readonly string[], join: (dir: string, name: string) => string): DetectedData {
  const find = (re: RegExp) => names.find((n) => re.test(n));
  const idx = { trainImages: find(IDX.trainImages), trainLabels: find(IDX.trainLabels), testImages: find(IDX.testImages), testLabels: find(IDX.testLabels) };
  if (idx.trainImages && idx.trainLabels && idx.testImages && idx.testLabels) {
    return {
      what: 'IDX images and labels',
      data: {
        format: 'idx',
        train: { images: join(dir, idx.trainImages), labels: join(dir, idx.trainLabels) },
        test: { images: join(dir, idx.testImages), labels: join(dir, idx.testLabels) },
        validationSplit: 0.1,
        normalize: 'auto',
      },
    };
  }
  const csvTrain = find(/(^|[-_.])train[-_.]?.*\.csv$|^train\.csv$/i);
  const csvTest = find(/(^|[-_.])test[-_.]?.*\.csv$|^test\.csv$/i);
  if (csvTrain && csvTest) {
    return {
      what: 'CSV files',
      data: {
        format: 'csv',
        train: { path: join(dir, csvTrain) },
        test: { path: join(dir, csvTest) },
        labelColumn: 'label',
        header: true,
        validationSplit: 0.1,
        normalize: 'auto',
      },
    };
  }
  const npy = (axis: 'x' | 'y', split: 'train' | 'test') => find(new RegExp(`^${axis}[-_]${split}\\.npy$|^${split}[-_]${axis}\\.npy$`, 'i'));
  const [xTrain, yTrain, xTest, yTest] = [npy('x', 'train'), npy('y', 'train'), npy('x', 'test'), npy('y', 'test')];
  if (xTrain && yTrain && xTest && yTest) {
    return {
      what: 'NumPy arrays',
      data: {
        format: 'npy',
        train: { x: join(dir, xTrain), y: join(dir, yTrain) },
        test: { x: join(dir, xTest), y: join(dir, yTest) },
        validationSplit: 0.1,
        normalize: 'auto',
      },
    };
  }
  return {
    error:
      `${dir} holds no dataset Distill recognises. Expected the four IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], ` +
      `t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]), a train and a test .csv, or x_train/y_train/x_test/y_test .npy files.`,
  };
}
