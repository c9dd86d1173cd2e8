import { test, expect, gotoHydrated, expectNoAxeViolations } from "./fixtures/portal";

test("Check again asks Postgres through a server function and shows the answer", { tag: "@smoke" }, async ({ page }) => {
  await gotoHydrated(page, "/status");
  const facts = page.getByRole("definition");
  await expect(facts.filter({ hasText: "Connected" })).toBeVisible();
  const checkedAt = page.locator("dd time");
  const before = await checkedAt.getAttribute("datetime");
  expect(before).toBeTruthy();

  const call = page.waitForResponse(
    (response) => response.url().includes("/rpc/get_status") && response.request().method() === "POST",
  );
  const documents: string[] = [];
  page.on("request", (request) => {
    if (request.resourceType() === "document") documents.push(request.url());
  });
  await page.getByRole("button", { name: "Check again" }).click();
  expect((await call).status()).toBe(200);
  await expect(checkedAt).not.toHaveAttribute("datetime", before!);
  // Postgres' own clock moved forward; the page did not reload.
  expect(Date.parse((await checkedAt.getAttribute("datetime"))!)).toBeGreaterThan(Date.parse(before!));
  expect(documents).toEqual([]);
  await expect(page.getByText(/^\d+\.\d+/).first()).toBeVisible(); // the PostgreSQL version
  await expectNoAxeViolations(page);
});
