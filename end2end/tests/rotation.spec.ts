// "Rotate": a new secret replaces the signer (its value shown once), the old one reads
// "Rotating" with its traffic beside the new one's, and "Safe to remove" once a day has passed
// without a request (the test moves time in the database, as time would; it does not wait).
import { test, expect, expectNoAxeViolations } from "./fixtures/portal";
import { environmentIdOf, signUp } from "./fixtures/accounts";
import { createSecret } from "./fixtures/secrets";
import { lastUsedHoursAgo } from "./fixtures/database";
import { createHmac } from "node:crypto";
import type { APIRequestContext, Page } from "@playwright/test";

const rowOf = (page: Page, masked: string) => page.getByRole("row").filter({ hasText: masked });

async function signedPing(request: APIRequestContext, environmentId: string, secret: string) {
  const path = `/api/v1/environments/${environmentId}/ping`;
  const timestamp = Date.now().toString();
  const signature = createHmac("sha256", secret).update(`GET${path}${timestamp}`).digest("hex");
  const response = await request.get(path, { headers: { "X-CS-Timestamp": timestamp, "X-CS-Signature": signature } });
  expect(response.status()).toBe(200);
}

test("rotate: the new secret signs, the old one shows its traffic until it is safe to remove", async ({
  page,
  request,
}) => {
  await signUp(page);
  await expect(page.locator("html[data-hydrated]")).toBeAttached();
  const old = await createSecret(page, "billing");
  const environmentId = environmentIdOf(page);
  await signedPing(request, environmentId, old.value);
  const oldRow = rowOf(page, old.masked);
  // Its use is written within a second.
  await expect
    .poll(async () => {
      await page.reload();
      return oldRow.getByRole("cell").nth(1).textContent();
    })
    .not.toBe("Never");
  await expect(page.locator("html[data-hydrated]")).toBeAttached();

  await oldRow.getByRole("button", { name: "Rotate" }).click();
  const confirm = page.getByRole("dialog", { name: "Rotate API secret" });
  await expect(confirm).toContainText("The new one signs your webhooks from now on.");
  await confirm.getByRole("button", { name: "Confirm" }).click();
  const reveal = page.getByRole("dialog", { name: "Your new API secret" });
  await expect(reveal).toBeVisible();
  const value = await reveal.getByLabel("API secret").inputValue();
  expect(value).toMatch(/^csk_[0-9A-Za-z]{49}$/);
  const masked = `csk_…${value.slice(-4)}`;
  await reveal.getByRole("button", { name: "Close" }).click();
  await expect(page.getByRole("status").filter({ hasText: `API secret ${masked} created to replace ${old.masked}.` })).toBeFocused();

  const newRow = rowOf(page, masked).filter({ hasNotText: "Being replaced by" });
  await expect(newRow).toContainText("Used with webhooks");
  await expect(newRow).toContainText("billing");
  await expect(oldRow).toContainText("Rotating");
  await expect(oldRow).toContainText(`Being replaced by ${masked}`);
  await expect(oldRow).toContainText("Not yet safe to remove");
  await expect(oldRow.getByRole("button", { name: "Rotate" })).toHaveCount(0);

  // Traffic on both, side by side.
  await signedPing(request, environmentId, value);
  await signedPing(request, environmentId, old.value);
  await expect
    .poll(async () => {
      await page.reload();
      return (await oldRow.textContent()) ?? "";
    })
    .toContain("Past hour: 2 requests (new: 1). Past day: 2 (new: 1).");
  await expectNoAxeViolations(page);

  // A day without a request later, it is safe to remove; nothing removed it.
  lastUsedHoursAgo(environmentId, old.masked, 25);
  await page.reload();
  await expect(oldRow).toContainText("Safe to remove: no requests for 24 hours.");
  await expect(oldRow).toContainText("Past day: 0 (new: 1).");
  await expect(page.getByRole("row")).toHaveCount(3);
});
