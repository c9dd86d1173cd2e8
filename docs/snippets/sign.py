# Python 3: sign a REST API request, and verify a webhook we send you.
import hashlib
import hmac
import re
import time


def sign(api_secret: str, method: str, path_and_query: str, timestamp: str, body: bytes = b"") -> str:
    message = (method.upper() + path_and_query + timestamp).encode() + body
    return hmac.new(api_secret.encode(), message, hashlib.sha256).hexdigest()


# A call to the REST API: send both headers with the request.
def signed_headers(api_secret: str, method: str, path_and_query: str, body: bytes = b"") -> dict:
    timestamp = str(int(time.time() * 1000))
    return {
        "X-CS-Timestamp": timestamp,
        "X-CS-Signature": sign(api_secret, method, path_and_query, timestamp, body),
    }


# A webhook: check the signature (and that X-CS-Timestamp is recent) before trusting it.
# The headers are the sender's: anything malformed is simply not genuine.
def is_genuine_webhook(api_secret: str, method: str, path_and_query: str, headers: dict, raw_body: bytes) -> bool:
    timestamp, signature = headers.get("X-CS-Timestamp"), headers.get("X-CS-Signature")
    if not (isinstance(timestamp, str) and isinstance(signature, str)):
        return False
    if not re.fullmatch(r"[1-9][0-9]{0,15}", timestamp, re.ASCII):
        return False
    if abs(time.time() * 1000 - int(timestamp)) >= 5 * 60 * 1000:
        return False
    expected = sign(api_secret, method, path_and_query, timestamp, raw_body)
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


# The published test vector:
print(sign("SECRET", "POST", "/webhook?a=1", "1563276169752", b'{"a":1}'))
