"""ONNX Runtime's side of scripts/check_interop (run in build/venv-interop): runs each
DIR/<name>.onnx on DIR/<name>.x.npy and writes DIR/<name>.onnxruntime.npy."""
import glob
import os
import sys

import numpy as np
import onnxruntime

for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.onnx"))):
    name = os.path.basename(path)[:-len(".onnx")]
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = np.load(os.path.join(sys.argv[1], f"{name}.x.npy"))
    (y,) = session.run(["output"], {"input": x})
    np.save(os.path.join(sys.argv[1], f"{name}.onnxruntime.npy"), y)
    print(name, "run by onnxruntime", onnxruntime.__version__)
