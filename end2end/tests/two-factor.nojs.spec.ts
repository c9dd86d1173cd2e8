import { test, expect } from "@playwright/test";
import { PASSWORD, signUp, uniqueCustomer } from "./fixtures/accounts";
import { totp } from "./fixtures/totp";

// JavaScript is off: requiring two-factor authentication, being sent to set it up, and setting
// it up are plain forms, so they work before (or without) the WASM.

test("an owner requires two-factor authentication and a teammate sets it up, without JavaScript", async ({ page, browser }) => {
  await signUp(page, uniqueCustomer("2fa-owner"));
  await page.goto("/members");
  const teammate = uniqueCustomer("2fa-mate");
  await page.getByLabel("Email").fill(teammate.email);
  await page.getByLabel("Role", { exact: true }).selectOption("developer");
  await page.getByRole("button", { name: "Invite" }).click();
  const link = await page.getByLabel("Invitation link").inputValue();
  const context = await browser.newContext({ javaScriptEnabled: false });
  const mate = await context.newPage();
  await mate.goto(link);
  await mate.getByLabel("Password").fill(PASSWORD);
  await mate.getByRole("button", { name: "Create account and join" }).click();
  await expect(mate.getByRole("heading", { level: 1, name: "API secrets" })).toBeVisible();

  // The owner requires it (and is sent to set it up too: the rule is everyone's).
  await page.goto("/members");
  await page.getByRole("button", { name: "Require two-factor authentication" }).click();
  await page.goto("/members");
  await expect(page).toHaveURL(/\/security$/);

  // The teammate's next click lands on the Security page, which says why.
  await mate.getByRole("link", { name: "Webhooks" }).click();
  await expect(mate).toHaveURL(/\/security$/);
  await expect(mate.getByText("requires two-factor authentication of its members")).toBeVisible();
  await mate.getByRole("button", { name: "Set up two-factor authentication" }).click();
  const key = (await mate.locator(".manual-key").textContent()) ?? "";
  await mate.getByLabel("Authentication code").fill(totp(key));
  await mate.getByRole("button", { name: "Turn on" }).click();
  await expect(mate.getByRole("list", { name: "Recovery codes" }).getByRole("listitem")).toHaveCount(10);
  await mate.getByRole("link", { name: "Webhooks" }).click();
  await expect(mate.getByRole("heading", { level: 1, name: "Webhooks" })).toBeVisible();
  await context.close();
});
