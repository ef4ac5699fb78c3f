"""signing.py — the two provider signatures the sandbox puts on every webhook it sends.

Meta signs the raw body; Twilio signs the URL it requested plus the sorted POST parameters.
Pure functions over bytes and strings: no I/O, no sandbox state. The connectors verify the
same algorithms in C (connectors/providers/src/signature.c); the vectors are in
/work/shared/fixtures/providers/ (meta_x_hub_signature_256_vectors.txt,
twilio_x_twilio_signature_vectors.txt).
"""

import base64
import hashlib
import hmac


def meta_signature_256(app_secret, raw_body):
    """X-Hub-Signature-256 value: "sha256=" + lowercase hex HMAC-SHA256(app secret, raw body)."""
    mac = hmac.new(app_secret.encode("utf-8"), raw_body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def meta_signature_sha1(app_secret, raw_body):
    """X-Hub-Signature (the older header Meta still sends next to the SHA-256 one)."""
    mac = hmac.new(app_secret.encode("utf-8"), raw_body, hashlib.sha1)
    return "sha1=" + mac.hexdigest()


def twilio_signature(auth_token, url, params):
    """X-Twilio-Signature: base64 HMAC-SHA1(auth token, url + name1 + value1 + name2 + ...).

    `url` is exactly what Twilio requested (scheme, host, port if any, path, query). `params`
    is a list of (name, value) pairs of the form body, values decoded; they are sorted by
    (name, value) so repeated names sign the same way as Twilio's own validator. For a GET the
    parameters are in the URL and `params` is empty. Python compares str by code point, which
    is the same order as comparing their UTF-8 bytes.
    """
    data = url + "".join(name + value for name, value in sorted(params))
    mac = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")
