import { test, expect, gotoHydrated, expectNoAxeViolations } from "./fixtures/portal";
import { PASSWORD, environmentIdOf, signIn, signUp as signUpOnly, uniqueCustomer } from "./fixtures/accounts";
import type { Page } from "@playwright/test";

/** Signs up, then waits for the WASM: a click before hydration would be a plain form post. */
async function signUp(page: Page, customer = uniqueCustomer()) {
  await signUpOnly(page, customer);
  await expect(page.locator("html[data-hydrated]")).toBeAttached();
  return customer;
}

test("sign up, sign out, sign in again; a wrong password is refused", { tag: "@smoke" }, async ({ page }) => {
  const customer = await signUp(page);
  await expect(page.getByLabel("Environment", { exact: true }).locator("option:checked")).toHaveText("Production");

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.goto("/environments");
  await expect(page).toHaveURL(/\/sign-in\?next=\/environments$/);
  await expect(page.locator("html[data-hydrated]")).toBeAttached();
  await expectNoAxeViolations(page);

  await signIn(page, customer.email, "not the right password");
  await expect(page.getByRole("alert")).toHaveText("The email address or password is not right.");
  await expect(page.getByLabel("Email")).toHaveValue(customer.email);

  await signIn(page, customer.email);
  // Back where they were going.
  await expect(page).toHaveURL(/\/environments$/);
  await expect(page.getByRole("heading", { level: 1, name: "Environments" })).toBeVisible();
  await expect(page.getByText(customer.organization, { exact: true })).toBeVisible();
});

test("the sign-up form checks the password rule before posting", async ({ page }) => {
  await gotoHydrated(page, "/sign-up");
  const posts: string[] = [];
  page.on("request", (request) => {
    if (request.method() === "POST") posts.push(request.url());
  });
  await page.getByLabel("Email").fill(uniqueCustomer().email);
  await page.getByLabel("Password").fill("too short");
  await page.getByLabel("Organization name").fill("Acme");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page.getByRole("alert")).toHaveText("The password must be at least 12 characters long.");
  expect(posts).toEqual([]);
  await expectNoAxeViolations(page);
});

test("repeated failed sign-ins are throttled", async ({ page }) => {
  const customer = await signUp(page);
  await page.getByRole("button", { name: "Sign out" }).click();
  for (let attempt = 0; attempt < 5; attempt++) {
    await signIn(page, customer.email, `wrong password ${attempt}`);
    await expect(page.getByRole("alert")).toHaveText("The email address or password is not right.");
  }
  const response = page.waitForResponse((r) => r.url().endsWith("/sign-in") && r.request().method() === "POST");
  await signIn(page, customer.email, PASSWORD);
  const refused = await response;
  expect(refused.status()).toBe(429);
  expect(Number(refused.headers()["retry-after"])).toBeGreaterThan(0);
  await expect(page.getByRole("alert")).toContainText("Too many failed sign-ins");
});

test("environments can be created, renamed and switched to", async ({ page }) => {
  await signUp(page);
  await page.getByRole("navigation", { name: "Portal" }).getByRole("link", { name: "Environments" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Environments" })).toBeVisible();
  await page.getByLabel("Name", { exact: true }).fill("Staging");
  await page.getByRole("button", { name: "Create environment" }).click();
  await expect(page.getByRole("row", { name: /Staging/ })).toBeVisible();
  await expect(page.getByLabel("Environment", { exact: true }).getByRole("option", { name: "Staging" })).toBeAttached();

  await page.getByLabel("Name", { exact: true }).fill("Staging");
  await page.getByRole("button", { name: "Create environment" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "already exists" })).toBeVisible();

  await page.getByLabel("New name for Staging").fill("QA");
  await page.getByRole("button", { name: "Rename" }).nth(1).click();
  await expect(page.getByRole("row", { name: /QA/ })).toBeVisible();
  await expectNoAxeViolations(page);

  await page.getByLabel("Environment", { exact: true }).selectOption({ label: "QA" });
  await page.getByRole("button", { name: "Switch" }).click();
  await expect(page.getByText("Environment: QA")).toBeVisible();
});

test("two customers never see each other's environments, even replaying ids", async ({ browser }) => {
  const ada = await browser.newContext();
  const bob = await browser.newContext();
  const adaPage = await ada.newPage();
  const bobPage = await bob.newPage();
  const adaCustomer = await signUp(adaPage, uniqueCustomer("ada"));
  await signUp(bobPage, uniqueCustomer("bob"));
  const adasEnvironment = environmentIdOf(adaPage);

  await expect(bobPage.getByText(adaCustomer.organization)).toHaveCount(0);
  const page = await bobPage.goto(`/environments/${adasEnvironment}/api-secrets`);
  expect(page?.status()).toBe(404);
  await expect(bobPage.getByRole("heading", { name: "Page not found" })).toBeVisible();

  // Straight at the server functions, with Bob's session.
  const unknown = "00000000-0000-4000-8000-000000000000";
  for (const [endpoint, extra] of [
    ["/rpc/get_environment", {}],
    ["/rpc/rename_environment", { name: "Hijacked" }],
  ] as const) {
    const theirs = await bobPage.request.post(endpoint, { form: { id: adasEnvironment, ...extra } });
    const missing = await bobPage.request.post(endpoint, { form: { id: unknown, ...extra } });
    expect(theirs.status()).toBe(404);
    expect(await theirs.text()).toBe(await missing.text());
  }
  const shell = await bobPage.request.post("/rpc/get_shell");
  expect(await shell.text()).not.toContain(adasEnvironment);

  await adaPage.reload();
  await expect(adaPage.getByLabel("Environment", { exact: true }).locator("option:checked")).toHaveText("Production");
  await ada.close();
  await bob.close();
});

test("a form posted from another site is refused", async ({ page, baseURL }) => {
  await signUp(page);
  // A page on another site that posts to the portal, as a forging site would.
  await page.route("http://evil.test/**", (route) =>
    route.fulfill({
      contentType: "text/html",
      body: `<form method="post" action="${baseURL}/rpc/create_environment">
               <input name="name" value="Planted"><button>Win a prize</button></form>`,
    }),
  );
  await page.goto("http://evil.test/");
  const refused = page.waitForResponse((r) => r.url().includes("/rpc/create_environment"));
  await page.getByRole("button", { name: "Win a prize" }).click();
  expect((await refused).status()).toBe(403);
  await page.goto("/environments");
  await expect(page.getByRole("heading", { level: 1, name: "Environments" })).toBeVisible();
  await expect(page.getByRole("row", { name: /Planted/ })).toHaveCount(0);
});
