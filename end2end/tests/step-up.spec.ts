// Step-up ("sudo mode"): ten minutes after the last sign-in or confirmation, creating, switching
// and removing API secrets ask for the password inline (in the form, in the modal), and go
// through once it is given; no reload, nothing typed is lost.
import { test, expect, expectNoAxeViolations } from "./fixtures/portal";
import { PASSWORD, signUp, uniqueCustomer } from "./fixtures/accounts";
import { confirmedAgo } from "./fixtures/database";

test("dangerous actions ask for the password after 10 minutes, inline, then go through", async ({ page }) => {
  const customer = await signUp(page, uniqueCustomer("sudo"));
  await expect(page.locator("html[data-hydrated]")).toBeAttached();
  const create = page.getByRole("button", { name: "Create a new API secret" });
  await create.click();
  await expect(page.getByRole("dialog", { name: "Your new API secret" })).toBeVisible();
  await page.keyboard.press("Escape");

  // Ten minutes later, on the same open page: the server asks, the form asks inline.
  confirmedAgo(customer.email, 11 * 60);
  await page.getByLabel("Label (optional)").fill("CI deploys");
  await create.click();
  await expect(page.getByRole("alert").filter({ hasText: "Confirm your password to continue." })).toBeVisible();
  const password = page.getByLabel("Your password");
  await expect(password).toBeFocused();
  await expect(create).toBeDisabled();
  await expectNoAxeViolations(page);
  await password.fill("not my password at all");
  await create.click();
  await expect(page.getByRole("alert").filter({ hasText: "The password is not right." })).toBeVisible();
  await password.fill(PASSWORD);
  await create.click();
  const reveal = page.getByRole("dialog", { name: "Your new API secret" });
  await expect(reveal).toBeVisible();
  await reveal.getByRole("button", { name: "Close" }).click();
  await expect(page.getByText("CI deploys")).toBeVisible();
  await expect(page.getByLabel("Your password")).toHaveCount(0);

  // And again in a modal: "Use with webhooks" asks inside it.
  confirmedAgo(customer.email, 11 * 60);
  const rows = page.getByRole("table", { name: "API secrets" }).getByRole("row");
  await rows.nth(2).getByRole("button", { name: /Use with webhooks/ }).click();
  const dialog = page.getByRole("dialog", { name: "Use with webhooks" });
  await dialog.getByRole("button", { name: "Confirm" }).click();
  await expect(dialog.getByRole("alert")).toHaveText("Confirm your password to continue.");
  await expect(dialog.getByLabel("Your password")).toBeFocused();
  await dialog.getByLabel("Your password").fill(PASSWORD);
  await dialog.getByRole("button", { name: "Confirm" }).click();
  await expect(dialog).toBeHidden();
  await expect(rows.nth(2)).toContainText("Used with webhooks");

  // The Members tab (plain forms) asks with a "Confirm it's you" form, accessible too.
  confirmedAgo(customer.email, 11 * 60);
  await page.goto("/members");
  await expect(page.getByRole("heading", { name: "Confirm it's you" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Invite" })).toBeDisabled();
  await expectNoAxeViolations(page);
});
