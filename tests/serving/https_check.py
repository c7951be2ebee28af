"""HTTPS client side of Serve.HttpsServesVerifiedClientsOnly: the server's certificate is
verified against CAFILE (hostname 127.0.0.1), health and an inference are answered, and a
client that trusts another authority is refused in the handshake.

    https_check.py PORT CAFILE OTHER_CAFILE TOKEN
"""
import http.client
import json
import ssl
import sys

port, cafile, other, token = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
trusted = ssl.create_default_context(cafile=cafile)
connection = http.client.HTTPSConnection("127.0.0.1", port, context=trusted, timeout=10)
connection.request("GET", "/v2/health/ready")
answer = connection.getresponse()
assert answer.status == 200 and json.loads(answer.read()) == {"ready": True}
assert connection.sock.version() in ("TLSv1.2", "TLSv1.3"), connection.sock.version()
body = json.dumps({"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 8],
                               "data": [6, 148, 72, 35, 0, 33.6, 0.627, 50]}]})
connection.request("POST", "/v2/models/pima/infer", body=body,
                   headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
answer = connection.getresponse()  # the same kept-alive TLS connection
assert answer.status == 200, answer.read()
assert json.loads(answer.read())["outputs"][0]["name"] == "probabilities"
try:
    stranger = http.client.HTTPSConnection("127.0.0.1", port, context=ssl.create_default_context(cafile=other),
                                           timeout=10)
    stranger.request("GET", "/v2/health/ready")
    sys.exit("a client that does not trust the certificate completed a request")
except ssl.SSLCertVerificationError:
    pass
print("https: verified, answered, kept alive; an untrusting client refused")
