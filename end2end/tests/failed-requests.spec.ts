// "Failed requests": a stale and a tampered signed call show on the tab with their reasons, and
// "Check my signature" finds the difference in the browser (the secret is sent nowhere).
import { test, expect, expectNoAxeViolations } from "./fixtures/portal";
import { environmentIdOf, signUp } from "./fixtures/accounts";
import { createSecret } from "./fixtures/secrets";
import { createHmac } from "node:crypto";

test("a stale and a tampered request show with their reasons; Check my signature finds why", async ({
  page,
  request,
}) => {
  await signUp(page);
  await expect(page.locator("html[data-hydrated]")).toBeAttached();
  const { value } = await createSecret(page);
  const environmentId = environmentIdOf(page);
  const base = `/api/v1/environments/${environmentId}/ping`;
  const sign = (path: string, timestamp: string) =>
    createHmac("sha256", value).update(`GET${path}${timestamp}`).digest("hex");

  // Signed 10 minutes ago: refused as stale.
  const old = (Date.now() - 600_000).toString();
  const stale = await request.get(base, {
    headers: { "X-CS-Timestamp": old, "X-CS-Signature": sign(base, old), "User-Agent": "cron-job/3" },
  });
  expect((await stale.json()).error).toBe("stale_timestamp");
  // Signed for ?page=1, sent for ?page=2: refused as a bad signature.
  const now = Date.now().toString();
  const sent = sign(`${base}?page=1`, now);
  const tampered = await request.get(`${base}?page=2`, {
    headers: { "X-CS-Timestamp": now, "X-CS-Signature": sent, "User-Agent": "billing/2" },
  });
  expect((await tampered.json()).error).toBe("bad_signature");

  // Written within a second; newest first; no query values.
  const failures = page.getByRole("table", { name: "Failed requests" });
  await expect
    .poll(async () => {
      await page.reload();
      return failures.getByRole("row").count();
    })
    .toBe(3);
  await expect(page.locator("html[data-hydrated]")).toBeAttached();
  await expect(failures.getByRole("columnheader")).toHaveText(["Time", "Request", "Caller", "Reason"]);
  const [newest, oldest] = [failures.getByRole("row").nth(1), failures.getByRole("row").nth(2)];
  await expect(newest).toContainText("bad_signature");
  await expect(newest).toContainText(`GET ${base}`);
  await expect(newest).toContainText("billing/2");
  await expect(oldest).toContainText("stale_timestamp");
  await expect(oldest).toContainText(/It was (599|600|601) s behind our clock/);
  await expect(failures).not.toContainText("page=");

  // Check my signature: the string we sign, and whether the pasted signature matches it. The
  // secret goes into no request.
  const leaks: string[] = [];
  page.on("request", (r) => {
    if (`${r.url()} ${r.postData() ?? ""}`.includes(value)) leaks.push(r.url());
  });
  const check = page.getByRole("region", { name: "Check my signature" });
  await check.getByLabel("Path and query").fill(`${base}?page=2`);
  await check.getByLabel("X-CS-Timestamp").fill(now);
  await check.getByLabel("X-CS-Signature you sent").fill(sent);
  await expect(check.getByText(/within the 300 s we accept/)).toBeVisible();
  await expect(check.getByLabel("The string we sign")).toHaveValue(`GET${base}?page=2${now}`);
  await check.getByLabel(/^API secret/).fill(value);
  await check.getByRole("button", { name: "Check" }).click();
  await expect(check.getByRole("status")).toContainText("Your signature does not match");
  await expect(check.getByRole("status")).toContainText(sign(`${base}?page=2`, now));
  // Signed for ?page=1: that is what the caller's code signed.
  await check.getByLabel("Path and query").fill(`${base}?page=1`);
  await expect(check.getByRole("status")).toBeEmpty();
  await check.getByRole("button", { name: "Check" }).click();
  await expect(check.getByRole("status")).toContainText("Your signature matches");
  await check.getByLabel("X-CS-Timestamp").fill(`0${now}`);
  await expect(check.getByText(/Refused as malformed/)).toBeVisible();
  await expectNoAxeViolations(page);
  expect(leaks).toEqual([]);
});
