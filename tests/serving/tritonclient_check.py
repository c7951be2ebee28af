"""citadel serve against the real Triton client (tritonclient[http] from PyPI): health,
metadata, and inference in JSON and in binary tensors, compared with what
`citadel predict --model` writes for the same rows. Exits 77 (CTest: skipped) when
tritonclient is not installed — scripts/setup_clients installs it in build/venv-clients.

    python tritonclient_check.py CITADEL PIMA_CSV SCRATCH_DIR
"""
import csv
import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

try:
    import numpy as np
    import tritonclient.http as triton
except ImportError as missing:
    print(f"skipped: {missing}")
    sys.exit(77)

citadel, pima, scratch = sys.argv[1], sys.argv[2], Path(sys.argv[3])
scratch.mkdir(parents=True, exist_ok=True)
model, tokens = scratch / "triton_pima.safetensors", scratch / "triton_tokens.json"
for path in (model, tokens, Path(str(tokens) + ".usage")):
    path.unlink(missing_ok=True)
subprocess.run([citadel, "train", "--verbose", "0", "--epochs", "20", "--save", str(model)], check=True,
               capture_output=True)
token = subprocess.run([citadel, "token", "add", "--tokens", str(tokens), "--name", "triton"], check=True,
                       capture_output=True, text=True).stdout.split()[-1]
rows = [[6, 148, 72, 35, 0, 33.6, 0.627, 50], [1, 85, 66, 29, 0, 26.6, 0.351, 31], [8, 183, 64, 0, 0, 23.3, 0.672, 32]]
header = open(pima).readline().strip().split(",")[:8]
rows_csv = scratch / "triton_rows.csv"
rows_csv.write_text(",".join(header) + "\n" + "".join(",".join(str(v) for v in r) + "\n" for r in rows))
predictions = scratch / "triton_predictions.csv"
subprocess.run([citadel, "predict", "--model", str(model), "--input", str(rows_csv), "--output", str(predictions)],
               check=True, capture_output=True)
expected = list(csv.DictReader(io.StringIO(predictions.read_text())))

server = subprocess.Popen([citadel, "serve", "--model", f"pima={model}", "--tokens", str(tokens), "--allow-unsigned",
                           "--port", "0", "--no-log"], stderr=subprocess.PIPE, text=True)
try:
    port = None
    deadline = time.time() + 30
    while port is None and time.time() < deadline:
        line = server.stderr.readline()
        if found := re.search(r"listening on [^:]+:(\d+)", line):
            port = int(found.group(1))
    assert port, "the server did not say where it listens"
    auth = {"Authorization": "Bearer " + token}
    client = triton.InferenceServerClient(url=f"127.0.0.1:{port}", network_timeout=10)
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("pima", headers=auth)
    metadata = client.get_model_metadata("pima", headers=auth)
    assert metadata["inputs"][0]["name"] == "features" and metadata["inputs"][0]["shape"] == [-1, 8], metadata
    assert "binary_tensor_data" in client.get_server_metadata(headers=auth)["extensions"]
    data = np.array(rows, dtype=np.float32)
    for binary_in in (False, True):
        for binary_out in (False, True):
            features = triton.InferInput("features", list(data.shape), "FP32")
            features.set_data_from_numpy(data, binary_data=binary_in)
            outputs = [triton.InferRequestedOutput("probabilities", binary_data=binary_out),
                       triton.InferRequestedOutput("label", binary_data=binary_out)]
            result = client.infer("pima", [features], outputs=outputs, headers=auth, request_id="r1")
            probabilities, labels = result.as_numpy("probabilities"), result.as_numpy("label")
            assert probabilities.shape == (3, 2), probabilities.shape
            for r, want in enumerate(expected):
                label = labels[r].decode() if isinstance(labels[r], bytes) else str(labels[r])
                assert label == want["predicted"], (binary_in, binary_out, r, label, want)
                for c, name in enumerate(k for k in want if k.startswith("p_")):
                    assert abs(float(probabilities[r, c]) - float(want[name])) < 1e-6, (binary_in, binary_out, r, c)
            assert result.get_response()["id"] == "r1"
    # No token: the client sees the 401 as an exception.
    try:
        client.infer("pima", [features])
        raise AssertionError("inference without a token was answered")
    except triton.InferenceServerException as refused:
        assert "token" in str(refused).lower(), refused
    print("tritonclient: health, metadata and 4 JSON/binary combinations agree with citadel predict")
finally:
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)
