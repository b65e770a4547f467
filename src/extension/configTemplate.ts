/**
 * The text of a new `*.distill.json` ("Distill: New Config"): a commented, valid config that a user can run as it
 * is and learn the knobs from. Its first run is small on purpose (6,000 training rows, an MLP teacher, a few
 * epochs: about a minute on 2 CPU cores), and the comments say what to change to scale it up. Pure; no vscode, no fs.
 */
import type { DataConfig, StudentConfig, TeacherConfig } from '../shared/config';
import { divergencesInWords } from '../shared/divergences';

export interface ConfigTemplateOptions {
  name: string;
  /** Paths inside should already be relative to the new file's folder. Default: a cnn-medium preset the engine trains. */
  teacher?: TeacherConfig;
  /** Default: the cnn-small preset. */
  student?: StudentConfig;
  /** Default: Fashion-MNIST IDX files under `./data/`. */
  data?: DataConfig;
  /** Where the data came from, for its comment: e.g. "Fashion-MNIST, as Debian's dataset-fashion-mnist installs it". */
  dataSource?: string;
}

/** Debian's `dataset-fashion-mnist` installs the four IDX files here. */
export const SYSTEM_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export const FASHION_CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** The four Fashion-MNIST IDX files in `dir` (paths as they should appear in the config). */
export function fashionMnistData(dir: string, join: (dir: string, file: string) => string = (d, f) => `${d}/${f}`): DataConfig {
  return {
    format: 'idx',
    train: { images: join(dir, 'train-images-idx3-ubyte.gz'), labels: join(dir, 'train-labels-idx1-ubyte.gz') },
    test: { images: join(dir, 't10k-images-idx3-ubyte.gz'), labels: join(dir, 't10k-labels-idx1-ubyte.gz') },
    validationSplit: 0.1,
    normalize: 'auto',
    classNames: FASHION_CLASS_NAMES,
  };
}

/** The first run's slice: enough rows for the curves to mean something, few enough to finish in about a minute. */
export const FIRST_RUN_SAMPLES = { train: 6000, test: 2000 };

const DEFAULT_DATA: DataConfig = fashionMnistData('./data');

// No batch sizes: the engine picks one for the backend a run gets (128 on CPU, 512 on a GPU). A 256-unit MLP
// teacher reaches about 85% on 6,000 Fashion-MNIST rows in 8 epochs, in seconds; a 32-unit student has 8× fewer
// parameters, so distillation has something to do.
const DEFAULT_TEACHER: TeacherConfig = { preset: 'mlp', hidden: [256], train: { epochs: 8, optimizer: 'adam', learningRate: 0.001 } };
const DEFAULT_STUDENT: StudentConfig = { preset: 'mlp', hidden: [32] };

/** Compact JSON on one line, with spaces as people write it: `{ "epochs": 3, "optimizer": "adam" }`. */
function inline(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(inline).join(', ')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return entries.length ? `{ ${entries.map(([k, v]) => `${JSON.stringify(k)}: ${inline(v)}`).join(', ')} }` : '{}';
  }
  return JSON.stringify(value);
}

/** JSON of `value` at nesting `level` (2 spaces a level): on one line when it fits, else one property a line. */
function json(value: unknown, level: number): string {
  const oneLine = inline(value);
  if (oneLine.length + 2 * level <= 100 || !value || typeof value !== 'object' || Array.isArray(value)) return oneLine;
  const pad = '  '.repeat(level + 1);
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  return `{\n${entries.map(([k, v]) => `${pad}${JSON.stringify(k)}: ${json(v, level + 1)}`).join(',\n')}\n${'  '.repeat(level)}}`;
}

export function configTemplate(options: ConfigTemplateOptions): string {
  const { name } = options;
  const data: DataConfig = { ...(options.data ?? DEFAULT_DATA), maxSamples: options.data?.maxSamples ?? FIRST_RUN_SAMPLES };
  const teacher = options.teacher ?? DEFAULT_TEACHER;
  const student = options.student ?? DEFAULT_STUDENT;
  const source =
    options.dataSource ??
    (options.data ? 'the data you picked' : 'Fashion-MNIST IDX files (get them from github.com/zalandoresearch/fashion-mnist) in ./data/');
  const dataNote =
    `// The dataset: ${source}. Relative paths start at this file\u2019s folder.\n` +
    `  // CSV and NumPy (.npy) work too: type "format" and press Ctrl+Space for the other shapes.\n` +
    `  // The first run uses ${FIRST_RUN_SAMPLES.train.toLocaleString('en-US')} training and ${FIRST_RUN_SAMPLES.test.toLocaleString('en-US')} test rows ("maxSamples"), so it ends in about a minute on a laptop CPU.\n` +
    `  // Scale up: remove "maxSamples" to use every row (60,000 for Fashion-MNIST).`;
  const teacherNote =
    'preset' in teacher ? '\n  // Scale up: { "preset": "cnn-medium", "train": { "epochs": 3 } } is a ~90% Fashion-MNIST teacher (a few minutes on CPU).' : '';
  return `// Distill experiment. Hover a field to see what it means; Ctrl+Space completes values and whole blocks.
// Run it with "Distill: Start Run". Knowledge distillation trains the student on
//   loss = \u03b1\u00b7T\u00b2\u00b7KL(p_teacher^T \u2016 p_student^T) + (1 \u2212 \u03b1)\u00b7CE(labels, p_student)
{
  "name": ${JSON.stringify(name)},
  "seed": 42,

  ${dataNote}
  "data": ${json(data, 1)},

  // The teacher: a tfjs model.json ({ "model": … }), precomputed logits ({ "logits": { "train", "test" } }),
  // or a preset the engine trains first and caches ({ "preset": … }).${teacherNote}
  "teacher": ${json(teacher, 1)},

  // The student to distil into: a preset or a trainable tfjs LayersModel ({ "model": … }).
  // Scale up: { "preset": "cnn-small" } is a ~0.2M-parameter CNN student.
  "student": ${json(student, 1)},

  "distillation": {
    // Softmax temperature T: higher exposes more of the teacher's "dark knowledge". Typical 2\u201310.
    "temperature": 4,
    // Weight of the distillation term; 1 \u2212 \u03b1 goes to the hard labels. Typical 0.5\u20130.9.
    "alpha": 0.7,
    // ${divergencesInWords()}.
    "divergence": "forward-kl",
    // "constant", or a two-stage / linear / cosine schedule of T and \u03b1 (Ctrl+Space for snippets).
    "schedule": { "type": "constant" }
  },

  // batchSize: 128 on CPU, 512 on a GPU unless set here. Scale up: 10\u201330 epochs on all rows.
  "training": { "epochs": 6, "optimizer": "adam", "learningRate": 0.002 },

  // Also train the same student from scratch (\u03b1 = 0) so the report shows what distillation adds.
  "compare": { "baseline": true },

  "evaluation": { "probeSize": 32, "latency": true },

  // "auto" picks the fastest backend that works here (GPU first, then WebAssembly, then plain JS).
  "engine": { "backend": "auto" },

  "output": { "runsDir": "runs", "cacheDir": ".distill-cache" }
}
`;
}

/** A file name for a config called `name`: `fashion-kd.distill.json`. */
export const configFileName = (name: string): string =>
  `${
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'experiment'
  }.distill.json`;
