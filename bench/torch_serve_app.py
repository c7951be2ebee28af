"""The baseline bench/serve measures citadel serve against: the same network in PyTorch
behind gunicorn + Flask, as a PyTorch user would deploy it, answering the same KServe v2
JSON request with the same outputs (probabilities and label) after the same preprocessing,
and checking a bearer token. Speed is what is compared, so the weights are PyTorch's own
initialisation.

    BENCH_MODEL=w1|w2 BENCH_TOKEN=... gunicorn -w 2 -b 127.0.0.1:PORT --chdir bench torch_serve_app:app
"""
import hmac
import os

import flask
import numpy as np
import torch

torch.set_num_threads(1)  # one per gunicorn worker: the workers are the parallelism
MODEL = os.environ.get("BENCH_MODEL", "w1")
TOKEN = os.environ.get("BENCH_TOKEN", "")
if MODEL == "w1":
    network = torch.nn.Sequential(torch.nn.Linear(8, 10), torch.nn.ReLU(), torch.nn.Linear(10, 10), torch.nn.ReLU(),
                                  torch.nn.Linear(10, 1), torch.nn.Sigmoid())
    INPUT, WIDTH, CLASSES = "features", 8, ["0", "1"]
    MEAN, SCALE = np.zeros(8, np.float32), np.ones(8, np.float32)  # standard scaling, as citadel's default
else:
    network = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                  torch.nn.Linear(256, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10),
                                  torch.nn.Softmax(dim=1))
    INPUT, WIDTH, CLASSES = "image", 784, [str(c) for c in range(10)]
    MEAN, SCALE = np.zeros(784, np.float32), np.ones(784, np.float32)
network.eval()
app = flask.Flask(__name__)


@app.post("/v2/models/<name>/infer")
def infer(name):
    if not hmac.compare_digest(flask.request.headers.get("Authorization", ""), "Bearer " + TOKEN):
        return {"error": "the token is not valid"}, 401
    body = flask.request.get_json()
    tensor = next(t for t in body["inputs"] if t["name"] == INPUT)
    x = (np.asarray(tensor["data"], dtype=np.float32).reshape(-1, WIDTH) - MEAN) / SCALE
    with torch.inference_mode():
        p = network(torch.from_numpy(x)).numpy()
    if p.shape[1] == 1:
        p = np.concatenate([1 - p, p], axis=1)
    labels = [CLASSES[i] for i in p.argmax(axis=1)]
    return {"model_name": name, "model_version": "1",
            "outputs": [{"name": "probabilities", "datatype": "FP32", "shape": list(p.shape),
                         "data": p.ravel().tolist()},
                        {"name": "label", "datatype": "BYTES", "shape": [len(labels)], "data": labels}]}
