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
// The headers are the sender's: anything malformed is simply not genuine.
export function isGenuineWebhook(apiSecret, method, pathAndQuery, headers, rawBody) {
  const timestamp = headers["x-cs-timestamp"];
  const signature = headers["x-cs-signature"];
  if (typeof timestamp !== "string" || typeof signature !== "string") return false;
  if (!/^[1-9][0-9]{0,15}$/.test(timestamp)) return false;
  if (Math.abs(Date.now() - Number(timestamp)) >= 5 * 60 * 1000) return false;
  const expected = Buffer.from(sign(apiSecret, method, pathAndQuery, timestamp, rawBody));
  const received = Buffer.from(signature);
  return expected.length === received.length && timingSafeEqual(expected, received);
}

// The published test vector:
console.log(sign("SECRET", "POST", "/webhook?a=1", "1563276169752", '{"a":1}'));
