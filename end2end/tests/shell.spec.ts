import { test, expect, gotoHydrated, expectNoAxeViolations } from "./fixtures/portal";

test("the shell hydrates with the product name and the API secrets tab", async ({ page }) => {
  await gotoHydrated(page, "/api-secrets");
  await expect(page).toHaveTitle(/API secrets/);
  await expect(page.getByRole("link", { name: "Customer Portal" })).toBeVisible();
  const tab = page.getByRole("navigation", { name: "Portal" }).getByRole("link", { name: "API secrets" });
  await expect(tab).toHaveAttribute("aria-current", "page");
  await expect(page.getByRole("heading", { level: 1, name: "API secrets" })).toBeVisible();
  await expectNoAxeViolations(page);
});

test("navigation between pages happens in the browser after hydration", async ({ page }) => {
  await gotoHydrated(page, "/api-secrets");
  const documents: string[] = [];
  page.on("request", (request) => {
    if (request.resourceType() === "document") documents.push(request.url());
  });
  await page.getByRole("link", { name: "System status" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "System status" })).toBeVisible();
  await expect(page).toHaveURL(/\/status$/);
  expect(documents).toEqual([]);
});

test("keyboard users can skip to the content", async ({ page }) => {
  await gotoHydrated(page, "/api-secrets");
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  await expect(skip).toBeFocused();
  await expect(skip).toBeVisible();
});
