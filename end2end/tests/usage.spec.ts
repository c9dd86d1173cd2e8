// Who uses a secret: each row's requests per day (a sparkline named by its numbers) and its
// details page, with every caller (address and user agent) and its count, from real signed calls.
import { test, expect, expectNoAxeViolations } from "./fixtures/portal";
import { environmentIdOf, signUp } from "./fixtures/accounts";
import { createSecret } from "./fixtures/secrets";
import { createHmac } from "node:crypto";
import type { APIRequestContext, Page } from "@playwright/test";

const rowOf = (page: Page, masked: string) => page.getByRole("row").filter({ hasText: masked });

async function signedPing(request: APIRequestContext, environmentId: string, secret: string, agent: string) {
  const path = `/api/v1/environments/${environmentId}/ping`;
  const timestamp = Date.now().toString();
  const signature = createHmac("sha256", secret).update(`GET${path}${timestamp}`).digest("hex");
  const response = await request.get(path, {
    headers: { "X-CS-Timestamp": timestamp, "X-CS-Signature": signature, "User-Agent": agent },
  });
  expect(response.status()).toBe(200);
}

test("calls from two callers show in the row's counts and in the secret's callers", async ({ page, request }) => {
  await signUp(page);
  await expect(page.locator("html[data-hydrated]")).toBeAttached();
  const { value, masked } = await createSecret(page);
  const unused = await createSecret(page);
  const environmentId = environmentIdOf(page);
  const usage = (m: string) => rowOf(page, m).getByRole("img", { name: /^Requests per day/ });
  await expect(usage(masked)).toHaveAccessibleName("Requests per day, last 30 days: 0 in all, 0 today");

  // A billing service and a nightly report, both signing with the same secret.
  for (let i = 0; i < 3; i++) await signedPing(request, environmentId, value, "billing-service/2.1");
  for (let i = 0; i < 2; i++) await signedPing(request, environmentId, value, "nightly-report/1.0");

  // Counted in memory and written within a second.
  await expect
    .poll(async () => {
      await page.reload();
      return usage(masked).getAttribute("aria-label");
    })
    .toBe("Requests per day, last 30 days: 5 in all, 5 today");
  await expect(usage(unused.masked)).toHaveAccessibleName("Requests per day, last 30 days: 0 in all, 0 today");
  await expectNoAxeViolations(page);

  await rowOf(page, masked).getByRole("link", { name: `Details of ${masked}` }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(`Usage of ${masked}`);
  const callers = page.getByRole("table", { name: "Callers" });
  await expect(callers.getByRole("columnheader")).toHaveText([
    "Address",
    "User agent",
    "First seen",
    "Last seen",
    "Requests",
  ]);
  const caller = (agent: string) => callers.getByRole("row").filter({ hasText: agent });
  await expect(callers.getByRole("row")).toHaveCount(3);
  await expect(caller("billing-service/2.1").getByRole("cell").last()).toHaveText("3");
  await expect(caller("nightly-report/1.0").getByRole("cell").last()).toHaveText("2");
  await expect(caller("billing-service/2.1").getByRole("rowheader")).toHaveText(/^(127\.0\.0\.1|::1)$/);
  await expect(caller("billing-service/2.1").locator("time").first()).toHaveText("just now");
  const today = new Date().toISOString().slice(0, 10);
  const days = page.getByRole("table", { name: "Requests per day" });
  await expect(days.getByRole("row").filter({ hasText: today }).getByRole("cell")).toHaveText("5");
  await expect(days.getByRole("row")).toHaveCount(31);
  await expectNoAxeViolations(page);

  // An unused secret: nothing to list, which is what "safe to remove" looks like.
  await page.getByRole("link", { name: "Back to API secrets" }).click();
  await rowOf(page, unused.masked).getByRole("link", { name: `Details of ${unused.masked}` }).click();
  await expect(page.getByText("No verified requests in the last 7 days.")).toBeVisible();
  await expect(page.getByRole("table", { name: "Callers" })).toHaveCount(0);
});
