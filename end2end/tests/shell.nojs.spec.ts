import { test, expect } from "@playwright/test";
import { PASSWORD, signIn, signUp, uniqueCustomer } from "./fixtures/accounts";

// JavaScript is off in this project: everything here is the server-rendered HTML and plain forms.

test("visitors are sent to sign in, and come back after signing in", async ({ page }) => {
  const customer = await signUp(page);
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.goto("/environments");
  await expect(page).toHaveURL(/\/sign-in\?next=\/environments$/);
  await expect(page.locator("html[data-hydrated]")).toHaveCount(0);
  await signIn(page, customer.email, "wrong password!!");
  await expect(page.getByRole("alert")).toHaveText("The email address or password is not right.");
  await signIn(page, customer.email, PASSWORD);
  await expect(page).toHaveURL(/\/environments$/);
  await expect(page.getByText(customer.organization, { exact: true })).toBeVisible();
});

test("sign-up with JavaScript off reports the server's rule", async ({ page }) => {
  await page.goto("/sign-up");
  await page.getByLabel("Email").fill(uniqueCustomer().email);
  await page.getByLabel("Password").fill("short");
  await page.getByLabel("Organization name").fill("Acme");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page.getByRole("alert")).toHaveText("The password must be at least 12 characters long.");
  await expect(page.getByLabel("Organization name")).toHaveValue("Acme");
});

test("the home page sends a signed-in customer to the API secrets tab", async ({ page }) => {
  await signUp(page);
  await page.goto("/");
  await expect(page).toHaveURL(/\/environments\/[0-9a-f-]{36}\/api-secrets$/);
  await expect(page.getByText("Environment: Production")).toBeVisible();
});

test("the status page shows what Postgres said, and Check again works as a plain form", async ({ page }) => {
  await page.goto("/status");
  await expect(page.getByRole("definition").filter({ hasText: "Connected" })).toBeVisible();
  const checkedAt = page.locator("dd time");
  const before = await checkedAt.getAttribute("datetime");
  await page.getByRole("button", { name: "Check again" }).click();
  // The server function answers a plain form post by sending the browser back to the page.
  await expect(page).toHaveURL(/\/status$/);
  await expect(checkedAt).not.toHaveAttribute("datetime", before!);
});

test("an unknown page answers 404 with a way back", async ({ page }) => {
  await signUp(page);
  const response = await page.goto("/no-such-page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Go to the portal's home" })).toBeVisible();
});

test("environments are created and renamed with plain forms", async ({ page }) => {
  await signUp(page);
  await page.goto("/environments");
  await page.getByLabel("Name", { exact: true }).fill("Staging");
  await page.getByRole("button", { name: "Create environment" }).click();
  await expect(page.getByRole("row", { name: /Staging/ })).toBeVisible();
  // A refused form comes back with the reason, next to the form.
  await page.getByLabel("Name", { exact: true }).fill("Staging");
  await page.getByRole("button", { name: "Create environment" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "already exists" })).toBeVisible();
  await page.getByLabel("New name for Staging").fill("QA");
  await page.getByRole("button", { name: "Rename" }).nth(1).click();
  await expect(page.getByRole("row", { name: /QA/ })).toBeVisible();
  await page.getByLabel("Environment", { exact: true }).selectOption({ label: "QA" });
  await page.getByRole("button", { name: "Switch" }).click();
  await expect(page.getByText("Environment: QA")).toBeVisible();
});
