// Node.js 18+: sign a REST API request, and verify a webhook we send you.
import { createHmac, timingSafeEqual } from "node:crypto";

export function sign(apiSecret, method, pathAndQuery, timestamp, body = "") {
  return createHmac("sha256", apiSecret)
    .update(method.toUpperCase() + pathAndQuery + timestamp + body)
    .digest("hex");
}

// A call to the REST API: send both headers with the request.
export function signedHeaders(apiSecret, method, pathAndQuery, body = "") {
  const timestamp = Date.now().toString();
  return {
    "X-CS-Timestamp": timestamp,
    "X-CS-Signature": sign(apiSecret, method, pathAndQuery, timestamp, body),
  };
}

// A webhook: check the signature (and that X-CS-Timestamp is recent) before trusting it.
export function isGenuineWebhook(apiSecret, method, pathAndQuery, headers, rawBody) {
  const expected = Buffer.from(sign(apiSecret, method, pathAndQuery, headers["x-cs-timestamp"], rawBody));
  const received = Buffer.from(String(headers["x-cs-signature"] ?? ""));
  const recent = Math.abs(Date.now() - Number(headers["x-cs-timestamp"])) < 5 * 60 * 1000;
  return recent && expected.length === received.length && timingSafeEqual(expected, received);
}

// The published test vector:
console.log(sign("SECRET", "POST", "/webhook?a=1", "1563276169752", '{"a":1}'));
