import { test, expect } from "@playwright/test";
import { PASSWORD, signUp, uniqueCustomer } from "./fixtures/accounts";
import { confirmedAgo } from "./fixtures/database";

// JavaScript is off: inviting, joining and removing a member are plain forms and an invoker
// command's dialog, so they work before (or without) the WASM.

test("a member is invited, joins and is removed without JavaScript", async ({ page, browser }) => {
  const owner = await signUp(page, uniqueCustomer("owner"));
  await page.goto("/members");
  const teammate = uniqueCustomer("mate");
  await page.getByLabel("Email").fill(teammate.email);
  await page.getByLabel("Role", { exact: true }).selectOption("viewer");
  await page.getByRole("button", { name: "Invite" }).click();
  const link = await page.getByLabel("Invitation link").inputValue();
  expect(link).toMatch(/\/invitations\/accept\?token=inv_[0-9A-Za-z]{43}$/);

  const context = await browser.newContext({ javaScriptEnabled: false });
  const mate = await context.newPage();
  await mate.goto(link);
  await mate.getByLabel("Password").fill(PASSWORD);
  await mate.getByRole("button", { name: "Create account and join" }).click();
  await expect(mate.getByText(owner.organization, { exact: true })).toBeVisible();

  await page.goto("/members");
  const row = page.getByRole("row", { name: new RegExp(teammate.email) });
  await expect(row).toContainText("viewer");
  await page.getByRole("button", { name: `Remove ${teammate.email}` }).click();
  await page.getByRole("dialog", { name: "Remove this member?" }).getByRole("button", { name: "Confirm" }).click();
  await expect(row).toHaveCount(0);

  await mate.goto("/members");
  await expect(mate).toHaveURL(/\/sign-in/);
  await context.close();
});

test("member changes ask for the password after 10 minutes, without JavaScript", async ({ page }) => {
  const owner = await signUp(page, uniqueCustomer("sudo-owner"));
  confirmedAgo(owner.email, 11 * 60);
  await page.goto("/members");
  const invite = page.getByRole("button", { name: "Invite" });
  await expect(page.getByRole("heading", { name: "Confirm it's you" })).toBeVisible();
  await expect(invite).toBeDisabled();
  await page.getByLabel("Your password").fill(PASSWORD);
  await page.getByRole("button", { name: "Confirm password" }).click();
  await expect(page).toHaveURL(/\/members$/);
  await expect(page.getByRole("heading", { name: "Confirm it's you" })).toHaveCount(0);
  await page.getByLabel("Email").fill(uniqueCustomer("mate").email);
  await invite.click();
  await expect(page.getByLabel("Invitation link")).toBeVisible();
});
