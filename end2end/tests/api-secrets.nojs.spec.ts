import { test, expect } from "@playwright/test";
import { signUp } from "./fixtures/accounts";
import { plainFormsWalk } from "./fixtures/plain-walk";

// JavaScript is off: what every visitor sees before the WASM loads.

test("the API secrets tab is complete in the server-rendered HTML", { tag: "@smoke" }, async ({ page }) => {
  await signUp(page);
  const environmentId = page.url().match(/environments\/([0-9a-f-]{36})/)![1];
  const created: { value: string; secret: { id: string; masked: string } }[] = [];
  for (const label of ["first", "second"]) {
    const response = await page.request.post("/rpc/create_api_secret", {
      form: { environment_id: environmentId, label },
      headers: { Accept: "application/json" },
    });
    expect(response.status()).toBe(200);
    created.push(await response.json());
  }
  const switched = await page.request.post("/rpc/use_api_secret_with_webhooks", {
    form: { environment_id: environmentId, secret_id: created[1].secret.id },
    headers: { Accept: "application/json" },
  });
  expect(switched.status()).toBe(200);

  const response = await page.reload();
  const html = await response!.text();
  for (const { value } of created) expect(html).not.toContain(value.slice(4, 20));

  await expect(page.getByRole("columnheader")).toHaveText(["API secret", "Created", "Last used", "Usage", "Actions"]);
  const [first, second] = created.map(({ secret }) => page.getByRole("row").filter({ hasText: secret.masked }));
  await expect(first).toContainText("first");
  await expect(first).not.toContainText("Used with webhooks");
  await expect(second).toContainText("Used with webhooks");
  await expect(first.locator("time")).toHaveText("just now");
  await expect(first.locator("time")).toHaveAttribute("datetime", /Z$/);
  await expect(first.getByRole("cell").nth(1)).toHaveText("Never");
  await expect(first.getByRole("button", { name: "Use with webhooks" })).toBeVisible();
  await expect(first.getByRole("button", { name: "Remove" })).toBeEnabled();
  await expect(second.getByRole("button", { name: "Remove" })).toBeDisabled();
  await expect(page.getByRole("button", { name: "Create a new API secret" })).toBeEnabled();
});

test("the seed's whole walk works without JavaScript", async ({ page }) => {
  await plainFormsWalk(page);
});
