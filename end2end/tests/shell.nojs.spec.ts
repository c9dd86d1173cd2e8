import { test, expect } from "@playwright/test";

// JavaScript is off in this project: everything here is the server-rendered HTML.

test("the API secrets tab is rendered by the server", async ({ page }) => {
  const response = await page.goto("/api-secrets");
  expect(response?.status()).toBe(200);
  await expect(page.getByRole("heading", { level: 1, name: "API secrets" })).toBeVisible();
  await expect(
    page.getByRole("navigation", { name: "Portal" }).getByRole("link", { name: "API secrets" }),
  ).toHaveAttribute("aria-current", "page");
  await expect(page.locator("html[data-hydrated]")).toHaveCount(0);
});

test("the home page redirects to the API secrets tab", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/api-secrets$/);
});

test("the status page shows what Postgres said, and Check again works as a plain form", async ({ page }) => {
  await page.goto("/status");
  await expect(page.getByRole("definition").filter({ hasText: "Connected" })).toBeVisible();
  const checkedAt = page.locator("dd time");
  const before = await checkedAt.getAttribute("datetime");
  await page.getByRole("button", { name: "Check again" }).click();
  // The server function answers a plain form post by sending the browser back to the page.
  await expect(page).toHaveURL(/\/status\??$/);
  await expect(checkedAt).not.toHaveAttribute("datetime", before!);
});

test("an unknown page answers 404 with a way back", async ({ page }) => {
  const response = await page.goto("/no-such-page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Go to API secrets" })).toBeVisible();
});
