import { test, expect, gotoHydrated, expectNoAxeViolations } from "./fixtures/portal";
import { signUp } from "./fixtures/accounts";

test("the signed-in shell hydrates with the organization, its environment and the tabs", async ({ page }) => {
  const customer = await signUp(page);
  await expect(page.locator("html[data-hydrated]")).toBeAttached();
  await expect(page).toHaveTitle(/API secrets/);
  await expect(page.getByRole("link", { name: "Customer Portal" })).toBeVisible();
  await expect(page.getByText(customer.organization, { exact: true })).toBeVisible();
  await expect(page.getByLabel("Environment", { exact: true })).toHaveValue(/[0-9a-f-]{36}/);
  await expect(page.getByLabel("Environment", { exact: true }).locator("option:checked")).toHaveText("Production");
  const tab = page.getByRole("navigation", { name: "Portal" }).getByRole("link", { name: "API secrets" });
  await expect(tab).toHaveAttribute("aria-current", "page");
  await expectNoAxeViolations(page);
});

test("links load server-rendered pages whose interactive parts hydrate", { tag: "@smoke" }, async ({ page }) => {
  // Islands: pages are rendered by the server (the WASM carries only the interactive parts), so
  // following a link loads a document, complete before any WASM runs.
  await signUp(page);
  await expect(page.locator("html[data-hydrated]")).toBeAttached();
  const documents: string[] = [];
  page.on("request", (request) => {
    if (request.resourceType() === "document") documents.push(new URL(request.url()).pathname);
  });
  await page.getByRole("link", { name: "System status" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "System status" })).toBeVisible();
  await expect(page.locator("html[data-hydrated]")).toBeAttached();
  await page.getByRole("navigation", { name: "Portal" }).getByRole("link", { name: "API secrets" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "API secrets" })).toBeVisible();
  await expect(page.locator("html[data-hydrated]")).toBeAttached();
  expect(documents).toEqual(["/status", expect.stringMatching(/^\/environments\/[0-9a-f-]{36}\/api-secrets$/)]);
  // The tab's island works after the navigation.
  await page.getByRole("button", { name: "Create a new API secret" }).click();
  await expect(page.getByRole("dialog", { name: "Your new API secret" })).toBeVisible();
});

test("keyboard users can skip to the content", async ({ page }) => {
  await gotoHydrated(page, "/sign-in");
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  await expect(skip).toBeFocused();
  await expect(skip).toBeVisible();
});

test("robots.txt asks every crawler to index nothing", async ({ request }) => {
  const robots = await request.get("/robots.txt");
  expect(robots.status()).toBe(200);
  expect(robots.headers()["content-type"]).toContain("text/plain");
  const rules = (await robots.text()).split("\n").filter((line) => line && !line.startsWith("#"));
  expect(rules).toEqual(["User-agent: *", "Disallow: /"]);
});
