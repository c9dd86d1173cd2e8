import { test, expect } from "@playwright/test";
import { signUp } from "./fixtures/accounts";
import { addWebhook } from "./fixtures/webhooks";

// JavaScript is off: the Webhooks tab is plain HTML forms, and its removal dialog is opened by
// HTML's invoker commands, so all of it works before the WASM loads.

test("webhooks are added and removed, with a confirmation dialog, without JavaScript", async ({ page }) => {
  await signUp(page);
  const url = "http://127.0.0.1:9/no-js-hook";
  const webhook = await addWebhook(page, url);
  await expect(webhook).toContainText("Events: ping, api_secret.created, api_secret.removed, webhook_signer.changed, api_secret.expiring, api_secret.expired.");

  const remove = page.getByRole("button", { name: `Remove webhook ${url}` });
  const dialog = page.getByRole("dialog", { name: "Remove this webhook?" });
  await remove.focus();
  await page.keyboard.press("Enter");
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole("button", { name: "Cancel" })).toBeFocused();
  await page.keyboard.press("Shift+Tab");
  await expect(dialog.getByRole("button", { name: "Confirm" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.getByText("No webhooks yet.")).toBeVisible();
  await expect(webhook).toHaveCount(0);
});
