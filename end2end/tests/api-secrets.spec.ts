// The "API secrets" tab, paragraph by paragraph of the customer documentation
// (../shared/seed/api-secrets.md): create (shown once), the first secret signs webhooks,
// "Use with webhooks" with Confirm/Cancel, remove with a typed phrase, the limit of 3.
import { test, expect, expectNoAxeViolations } from "./fixtures/portal";
import { environmentIdOf, signUp as signUpOnly } from "./fixtures/accounts";
import { createSecret } from "./fixtures/secrets";
import { createHmac } from "node:crypto";
import type { Page } from "@playwright/test";

const LIMIT = "This environment already has 3 API secrets, the most it can have. Remove one to create another.";

async function signUp(page: Page) {
  await signUpOnly(page);
  await expect(page.locator("html[data-hydrated]")).toBeAttached();
}

const rowOf = (page: Page, masked: string) => page.getByRole("row").filter({ hasText: masked });

test("a new API secret is shown once, can be copied, and is gone after closing and reloading", { tag: "@smoke" }, async ({
  page,
  context,
}) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await signUp(page);
  await expect(page.getByText("This environment has no API secrets yet.")).toBeVisible();
  await expectNoAxeViolations(page);

  await page.getByLabel("Label (optional)").fill("CI deploys");
  const create = page.getByRole("button", { name: "Create a new API secret" });
  const response = page.waitForResponse((r) => r.url().endsWith("/rpc/create_api_secret"));
  await create.click();
  expect((await response).headers()["cache-control"]).toBe("no-store");

  const dialog = page.getByRole("dialog", { name: "Your new API secret" });
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText("It will not be possible to display the full value of this API secret again.");
  const field = dialog.getByLabel("API secret");
  const value = await field.inputValue();
  expect(value).toMatch(/^csk_[0-9A-Za-z]{49}$/);
  await expect(field).toHaveCSS("font-family", /monospace/);
  // Focus is inside the modal, on "Copy".
  await expect(dialog.getByRole("button", { name: "Copy" })).toBeFocused();
  await expectNoAxeViolations(page);

  await dialog.getByRole("button", { name: "Copy" }).click();
  await expect(dialog.getByText("Copied", { exact: true })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(value);

  // Escape closes it; focus returns to the button that opened it.
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(create).toBeFocused();

  const masked = `csk_…${value.slice(-4)}`;
  const row = rowOf(page, masked);
  await expect(row).toContainText("CI deploys");
  await expect(row.getByRole("cell").nth(0).locator("time")).toHaveText("just now");
  await expect(row.getByRole("cell").nth(1)).toHaveText("Never");
  // The first secret signs webhooks.
  await expect(row).toContainText("Used with webhooks");
  await expect(row.getByRole("button", { name: "Use with webhooks" })).toHaveCount(0);
  await expect(page.getByRole("columnheader")).toHaveText(["API secret", "Created", "Last used", "Usage", "Actions"]);
  expect(await page.content()).not.toContain(value.slice(4, 20));
  await expectNoAxeViolations(page);

  // Reloaded: the list is there, the value is nowhere (HTML, hydration data).
  const reloaded = await page.reload();
  const html = await reloaded!.text();
  expect(html).toContain(masked);
  expect(html).not.toContain(value.slice(4, 20));
  await expect(page.locator("html[data-hydrated]")).toBeAttached();
  await expect(rowOf(page, masked)).toContainText("Used with webhooks");
  expect(await page.content()).not.toContain(value.slice(4, 20));
});

test("dates are relative, with the exact local date and time on hover and keyboard focus", async ({ page }) => {
  await signUp(page);
  const { masked } = await createSecret(page);
  const created = rowOf(page, masked).locator("time");
  await expect(created).toHaveText("just now");
  await expect(created).toHaveAttribute("datetime", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const tip = rowOf(page, masked).locator("td").first().locator(".tip-text");
  await expect(tip).toContainText(String(new Date().getFullYear()));
  await page.mouse.move(0, 0);
  await expect(tip).not.toHaveCSS("clip-path", "none");
  await created.focus();
  await expect(tip).toHaveCSS("clip-path", "none");
  await page.keyboard.press("Tab");
  await expect(tip).not.toHaveCSS("clip-path", "none");
  await created.hover();
  await expect(tip).toHaveCSS("clip-path", "none");
});

test("relative times stay fresh while the tab is open", async ({ page }) => {
  await page.clock.install();
  await signUp(page);
  const { masked } = await createSecret(page);
  const created = rowOf(page, masked).locator("time");
  await expect(created).toHaveText("just now");
  await page.clock.fastForward("05:00");
  await expect(created).toHaveText("5 minutes ago");
  await page.clock.fastForward("03:00:00");
  await expect(created).toHaveText("3 hours ago");
});

test("'Use with webhooks' switches the signer after Confirm; Cancel changes nothing", async ({ page }) => {
  await signUp(page);
  const first = await createSecret(page, "old");
  const second = await createSecret(page, "new");
  await expect(rowOf(page, first.masked)).toContainText("Used with webhooks");
  await expect(rowOf(page, second.masked)).not.toContainText("Used with webhooks");

  const use = rowOf(page, second.masked).getByRole("button", { name: "Use with webhooks" });
  await use.click();
  const dialog = page.getByRole("dialog", { name: "Use with webhooks" });
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText(second.masked);
  await expectNoAxeViolations(page);
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();
  await expect(use).toBeFocused();
  await expect(rowOf(page, first.masked)).toContainText("Used with webhooks");
  await expect(rowOf(page, second.masked)).not.toContainText("Used with webhooks");
  // Escape cancels too.
  await use.click();
  await expect(dialog.getByRole("button", { name: "Cancel" })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(use).toBeFocused();
  await expect(rowOf(page, second.masked)).not.toContainText("Used with webhooks");

  await use.click();
  await dialog.getByRole("button", { name: "Confirm" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole("status").filter({ hasText: "now used with webhooks" })).toBeFocused();
  await expect(rowOf(page, second.masked)).toContainText("Used with webhooks");
  await expect(rowOf(page, first.masked)).not.toContainText("Used with webhooks");
  await expect(rowOf(page, first.masked).getByRole("button", { name: "Use with webhooks" })).toBeVisible();

  await page.reload();
  await expect(rowOf(page, second.masked)).toContainText("Used with webhooks");
  await expect(rowOf(page, first.masked)).not.toContainText("Used with webhooks");
});

test("removing needs the exact phrase; the signer cannot be removed", async ({ page }) => {
  await signUp(page);
  const signer = await createSecret(page);
  const other = await createSecret(page);

  const signerRemove = rowOf(page, signer.masked).getByRole("button", { name: "Remove" });
  await expect(signerRemove).toBeDisabled();
  await expect(signerRemove).toHaveAccessibleDescription(
    "To remove it, set another API secret to be used with webhooks first.",
  );

  const remove = rowOf(page, other.masked).getByRole("button", { name: "Remove" });
  await expect(remove).toHaveCSS("color", "rgb(179, 38, 30)");
  await remove.hover();
  await expect(remove.locator(".tip-text")).toHaveCSS("clip-path", "none");
  await remove.click();
  const dialog = page.getByRole("dialog", { name: "Remove API secret" });
  await expect(dialog).toContainText("This operation cannot be undone.");
  const phrase = `remove ${other.value.slice(-4)}`;
  await expect(dialog.locator("kbd")).toHaveText(phrase);
  const input = dialog.getByLabel(/To confirm, type/);
  await expect(input).toBeFocused();
  const confirm = dialog.getByRole("button", { name: "Confirm" });
  await expect(confirm).toBeDisabled();
  await expectNoAxeViolations(page);

  for (const wrong of ["remove", phrase.toUpperCase(), `${phrase}x`, `remove ${signer.value.slice(-4)}`]) {
    await input.fill(wrong);
    await expect(confirm).toBeDisabled();
  }
  // Cancel: nothing removed.
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(remove).toBeFocused();
  await expect(rowOf(page, other.masked)).toBeVisible();

  await remove.click();
  await input.fill(phrase);
  await expect(confirm).toBeEnabled();
  await confirm.click();
  await expect(dialog).toBeHidden();
  await expect(rowOf(page, other.masked)).toHaveCount(0);
  await expect(page.getByRole("status").filter({ hasText: `API secret ${other.masked} removed.` })).toBeFocused();
  await page.reload();
  await expect(rowOf(page, signer.masked)).toBeVisible();
  await expect(rowOf(page, other.masked)).toHaveCount(0);
});

test("with 3 API secrets, creating another is disabled and says why", async ({ page }) => {
  await signUp(page);
  for (let i = 0; i < 3; i++) await createSecret(page, `secret ${i + 1}`);
  const create = page.getByRole("button", { name: "Create a new API secret" });
  await expect(create).toBeDisabled();
  await expect(create).toHaveAccessibleDescription(LIMIT);
  await expect(page.getByText(LIMIT)).toBeVisible();
  await expect(page.getByRole("row")).toHaveCount(4);
  await expectNoAxeViolations(page);

  // The server says the same when asked directly.
  await page.reload();
  await expect(create).toBeDisabled();
  const environmentId = page.url().match(/environments\/([0-9a-f-]{36})/)![1];
  const refused = await page.request.post("/rpc/create_api_secret", {
    form: { environment_id: environmentId, label: "" },
    headers: { Accept: "application/json" },
  });
  expect(refused.status()).toBe(409);
  expect(await refused.text()).toContain(LIMIT);
});

test("keyboard only: create, close, and remove a secret", async ({ page }) => {
  await signUp(page);
  await createSecret(page);

  await page.getByLabel("Label (optional)").focus();
  await page.keyboard.type("by keyboard");
  await page.keyboard.press("Enter");
  const reveal = page.getByRole("dialog", { name: "Your new API secret" });
  await expect(reveal).toBeVisible();
  const value = await reveal.getByLabel("API secret").inputValue();
  // Focus stays inside the modal.
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press("Tab");
    expect(await reveal.evaluate((d) => d.contains(document.activeElement))).toBe(true);
  }
  await page.keyboard.press("Escape");
  await expect(reveal).toBeHidden();
  await expect(page.getByRole("button", { name: "Create a new API secret" })).toBeFocused();

  const masked = `csk_…${value.slice(-4)}`;
  const remove = rowOf(page, masked).getByRole("button", { name: "Remove" });
  for (let i = 0; i < 20 && !(await remove.evaluate((b) => b === document.activeElement)); i++) {
    await page.keyboard.press("Tab");
  }
  await expect(remove).toBeFocused();
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: "Remove API secret" });
  await expect(dialog).toBeVisible();
  await page.keyboard.type(`remove ${value.slice(-4)}`);
  await page.keyboard.press("Enter");
  await expect(dialog).toBeHidden();
  await expect(rowOf(page, masked)).toHaveCount(0);
});

test("works on a 375 px wide screen", async ({ page }) => {
  await page.setViewportSize({ width: 375, height: 800 });
  await signUp(page);
  await createSecret(page, "phone");
  const { masked } = await createSecret(page, "laptop");
  await expect(rowOf(page, masked)).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  for (const name of ["Use with webhooks", "Remove"]) {
    const button = rowOf(page, masked).getByRole("button", { name });
    await button.scrollIntoViewIfNeeded();
    await expect(button).toBeInViewport({ ratio: 1 });
  }
  await page.screenshot({ path: test.info().outputPath("375.png"), fullPage: true });
  await rowOf(page, masked).getByRole("button", { name: "Remove" }).click();
  const dialog = page.getByRole("dialog", { name: "Remove API secret" });
  await expect(dialog.getByRole("button", { name: "Cancel" })).toBeInViewport({ ratio: 1 });
  await expectNoAxeViolations(page);
});

test("a REST call signed with a new secret turns its Last used from Never to a date", async ({
  page,
  context,
  request,
}) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await page.clock.install();
  await signUp(page);
  const environmentId = environmentIdOf(page);
  await expect(page.getByLabel("Environment ID")).toHaveValue(environmentId);
  await page.getByRole("button", { name: "Copy" }).click();
  await expect(page.getByText("Copied", { exact: true })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(environmentId);

  const { value, masked } = await createSecret(page);
  const lastUsed = rowOf(page, masked).getByRole("cell").nth(1);
  await expect(lastUsed).toHaveText("Never");

  // Signed the way customers' code signs (Node's crypto), from outside the browser.
  const path = `/api/v1/environments/${environmentId}/api-secrets`;
  const timestamp = Date.now().toString();
  const signature = createHmac("sha256", value).update(`GET${path}${timestamp}`).digest("hex");
  const response = await request.get(path, {
    headers: { "X-CS-Timestamp": timestamp, "X-CS-Signature": signature },
  });
  expect(response.status()).toBe(200);
  expect((await response.json()).map((s: { masked: string }) => s.masked)).toEqual([masked]);

  // The open tab refreshes its list every 30 seconds.
  await expect
    .poll(async () => {
      await page.clock.fastForward("00:31");
      return (await lastUsed.textContent()) ?? "";
    })
    .not.toBe("Never");
  await expect(lastUsed.locator("time")).toHaveText(/just now|minutes? ago/);
});
