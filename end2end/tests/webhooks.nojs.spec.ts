import { test, expect } from "@playwright/test";
import { environmentIdOf, signUp } from "./fixtures/accounts";

// JavaScript is off: the Webhooks tab is plain HTML forms, and its removal dialog is opened by
// HTML's invoker commands, so all of it works before the WASM loads.

test("webhooks are added and removed, with a confirmation dialog, without JavaScript", async ({ page }) => {
  await signUp(page);
  const response = await page.request.post("/rpc/create_api_secret", {
    form: { environment_id: environmentIdOf(page), label: "" },
    headers: { Accept: "application/json" },
  });
  expect(response.status()).toBe(200);

  await page.getByRole("link", { name: "Webhooks" }).click();
  const url = "http://127.0.0.1:9/no-js-hook";
  await page.getByLabel("URL").fill(url);
  await page.getByRole("button", { name: "Add webhook" }).click();
  const webhook = page.getByRole("region", { name: url });
  await expect(webhook).toContainText("Events: ping, api_secret.created, api_secret.removed, webhook_signer.changed.");

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
