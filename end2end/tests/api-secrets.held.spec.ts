import { test, expect } from "./fixtures/portal";
import { plainFormsWalk } from "./fixtures/plain-walk";

// JavaScript on, but the WASM held back (a slow phone's first seconds): every click before
// hydration is a plain form that works. Released at the end, the page hydrates cleanly.

test("the seed's walk works before the WASM loads", async ({ page }) => {
  const held: (() => Promise<void>)[] = [];
  await page.route("**/*.wasm", (route) => {
    held.push(() => route.continue().catch(() => {}));
  });
  await plainFormsWalk(page);
  await expect(page.locator("html[data-hydrated]")).toHaveCount(0);
  await page.unroute("**/*.wasm");
  for (const release of held) await release();
  await expect(page.locator("html[data-hydrated]")).toBeAttached();
  await expect(page.getByRole("status").filter({ hasText: /API secret csk_….{4} created\./ })).toBeVisible();
});
