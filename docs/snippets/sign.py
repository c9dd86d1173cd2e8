# Python 3: sign a REST API request, and verify a webhook we send you.
import hashlib
import hmac
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
def is_genuine_webhook(api_secret: str, method: str, path_and_query: str, headers: dict, raw_body: bytes) -> bool:
    timestamp = headers.get("X-CS-Timestamp", "")
    expected = sign(api_secret, method, path_and_query, timestamp, raw_body)
    recent = timestamp.isdigit() and abs(time.time() * 1000 - int(timestamp)) < 5 * 60 * 1000
    return recent and hmac.compare_digest(expected, headers.get("X-CS-Signature", ""))


# The published test vector:
print(sign("SECRET", "POST", "/webhook?a=1", "1563276169752", b'{"a":1}'))
