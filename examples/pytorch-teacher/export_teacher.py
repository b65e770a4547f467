#!/usr/bin/env python3
"""Train a small PyTorch CNN on Fashion-MNIST and export it to ONNX for Distill, with a reference of what it does.

This is the route from PyTorch to Distill, end to end: the teacher is an ordinary nn.Module trained on images scaled
to [0, 1] in NCHW layout (torchvision's ToTensor), and `torch.onnx.export` writes it with a dynamic batch dimension.
A Distill config then names only the .onnx file (see fashion-onnx.distill.json): Distill feeds it the same [0, 1]
pixels (data.normalize "auto" divides IDX images by 255) and transposes its NHWC rows to the NCHW the model declares.

Besides the model it writes a reference, so that Distill's results can be checked against PyTorch's own:
  <out>.reference.json   test accuracy of the model on the whole test split and on its first --ref-rows rows
  <out>.logits.npy       float32 logits of those first rows, [rows, 10]

The committed test fixture test/engine/fixtures/onnx/fashion-cnn.onnx was made with
  python3 examples/pytorch-teacher/export_teacher.py --out test/engine/fixtures/onnx/fashion-cnn.onnx
(PyTorch 1.13.1 CPU, Debian python3-torch; seed 0; deterministic on one thread).

Usage: python3 export_teacher.py [--out teacher.onnx] [--epochs 2] [--data /usr/share/datasets/fashion-mnist]
"""
import argparse, gzip, json, os, struct
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument('--out', default='teacher.onnx')
ap.add_argument('--epochs', type=int, default=2)
ap.add_argument('--data', default='/usr/share/datasets/fashion-mnist')
ap.add_argument('--ref-rows', type=int, default=1000)
a = ap.parse_args()
torch.manual_seed(0)
torch.set_num_threads(1)  # one thread: the same weights on every run of this script

def idx(name):
    with gzip.open(os.path.join(a.data, name)) as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack('>' + 'I' * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)

# [N, 28, 28] uint8 -> [N, 1, 28, 28] float32 in [0, 1]: what torchvision's ToTensor() gives.
to_x = lambda imgs: torch.from_numpy(imgs.astype(np.float32) / 255.0).unsqueeze(1)
x_train, y_train = to_x(idx('train-images-idx3-ubyte.gz')), torch.from_numpy(idx('train-labels-idx1-ubyte.gz').astype(np.int64))
x_test, y_test = to_x(idx('t10k-images-idx3-ubyte.gz')), torch.from_numpy(idx('t10k-labels-idx1-ubyte.gz').astype(np.int64))

model = nn.Sequential(
    nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),      # 8 x 13 x 13
    nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),     # 16 x 5 x 5
    nn.Flatten(), nn.Linear(16 * 5 * 5, 32), nn.ReLU(),
    nn.Linear(32, 10),                                   # logits: no softmax at the end
)
opt = torch.optim.Adam(model.parameters(), 2e-3)
for epoch in range(a.epochs):
    model.train()
    perm = torch.randperm(len(x_train))
    for i in range(0, len(perm), 128):
        b = perm[i:i + 128]
        loss = F.cross_entropy(model(x_train[b]), y_train[b])
        opt.zero_grad(); loss.backward(); opt.step()
    print(f'epoch {epoch + 1}: loss {loss.item():.4f}', flush=True)

model.eval()
with torch.no_grad():
    logits = model(x_test)
accuracy = (logits.argmax(1) == y_test).float().mean().item()
rows = a.ref_rows
ref_accuracy = (logits[:rows].argmax(1) == y_test[:rows]).float().mean().item()

# The five lines that matter: eval mode, an example input, named inputs/outputs, a dynamic batch, opset 13.
torch.onnx.export(model, x_test[:1], a.out, opset_version=13,
                  input_names=['image'], output_names=['logits'],
                  dynamic_axes={'image': {0: 'batch'}, 'logits': {0: 'batch'}})

stem = a.out[:-len('.onnx')] if a.out.endswith('.onnx') else a.out
np.save(stem + '.logits.npy', logits[:rows].numpy().astype(np.float32))
with open(stem + '.reference.json', 'w') as f:
    json.dump({'torch': torch.__version__, 'epochs': a.epochs, 'testRows': len(y_test), 'testAccuracy': accuracy,
               'referenceRows': rows, 'referenceAccuracy': ref_accuracy,
               'params': sum(p.numel() for p in model.parameters())}, f, indent=2)
    f.write('\n')
print(json.dumps({'out': a.out, 'testAccuracy': accuracy, 'referenceAccuracy': ref_accuracy}))
