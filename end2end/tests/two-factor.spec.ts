// Two-factor authentication end to end: set up from the Security page with a code this test
// computes (RFC 6238, as an authenticator app would), then every sign-in asks for a code; a
// recovery code works once. Plain forms: the same flow works before the WASM loads.
import { test, expect, expectNoAxeViolations } from "./fixtures/portal";
import { signIn, signUp, uniqueCustomer } from "./fixtures/accounts";
import { totp } from "./fixtures/totp";

test("two-factor authentication: set up, sign in with a code, recovery codes work once", async ({ page }) => {
  const customer = await signUp(page, uniqueCustomer("2fa"));

  // Your address in the header leads to Security.
  await page.getByRole("link", { name: customer.email }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Security" })).toBeVisible();
  await expectNoAxeViolations(page);
  await page.getByRole("button", { name: "Set up two-factor authentication" }).click();
  await expect(page.getByRole("img", { name: "QR code of your two-factor key" })).toBeVisible();
  const key = (await page.locator(".manual-key").textContent()) ?? "";
  expect(key).toMatch(/^[A-Z2-7]{4}( [A-Z2-7]{4}){7}$/);
  await expectNoAxeViolations(page);

  // A wrong code first: said, and nothing turned on.
  const now = totp(key);
  await page.getByLabel("Authentication code").fill(now === "000000" ? "111111" : "000000");
  await page.getByRole("button", { name: "Turn on" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "The code is not right" })).toBeVisible();
  await page.getByLabel("Authentication code").fill(now);
  await page.getByRole("button", { name: "Turn on" }).click();
  const list = page.getByRole("list", { name: "Recovery codes" });
  await expect(list.getByRole("listitem")).toHaveCount(10);
  const codes = await list.getByRole("listitem").allTextContents();
  await expectNoAxeViolations(page);
  await page.getByRole("link", { name: "I have saved them" }).click();
  await expect(page.getByText("10 recovery codes left.")).toBeVisible();

  // Signing in asks for the code after the password; the next step's code signs in.
  const signOut = async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/sign-in$/);
    await signIn(page, customer.email);
    await expect(page).toHaveURL(/\/sign-in\/two-factor$/);
  };
  await signOut();
  await expect(page.getByRole("heading", { level: 1, name: "Two-factor authentication" })).toBeVisible();
  await expectNoAxeViolations(page);
  await page.getByLabel("Authentication code").fill(totp(key, Date.now() + 30_000));
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "API secrets" })).toBeVisible();

  // A recovery code signs in once; the second time it is refused.
  await signOut();
  await page.getByLabel("Authentication code").fill(codes[0]);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "API secrets" })).toBeVisible();
  await signOut();
  await page.getByLabel("Authentication code").fill(codes[0]);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "The code is not right" })).toBeVisible();
  await page.getByLabel("Authentication code").fill(codes[1]);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "API secrets" })).toBeVisible();

  // The team sees it on the Members tab; the Security page counts what is left.
  await page.goto("/members");
  const me = page.getByRole("table", { name: "Members" }).getByRole("row", { name: new RegExp(customer.email) });
  await expect(me.getByRole("cell", { name: "On", exact: true })).toBeVisible();
  await page.goto("/security");
  await expect(page.getByText("8 recovery codes left.")).toBeVisible();
});
