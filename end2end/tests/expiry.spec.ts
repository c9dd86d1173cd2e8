// API secrets that expire: a date when creating or later ("Expiry"), a warning a week before,
// "Expired" once the moment has passed (the test moves it, as time would), a signed call with an
// expired secret refused with the reason, and webhooks told (api_secret.expiring, .expired).
import { test, expect, expectNoAxeViolations } from "./fixtures/portal";
import { environmentIdOf, signUp } from "./fixtures/accounts";
import { createSecret } from "./fixtures/secrets";
import { expireNow } from "./fixtures/database";
import { addWebhook, startReceiver } from "./fixtures/webhooks";
import { createHmac } from "node:crypto";
import type { Page } from "@playwright/test";

const rowOf = (page: Page, masked: string) => page.getByRole("row").filter({ hasText: masked });

/** `YYYY-MM-DD`, `days` from today (UTC), as a date field takes it. */
const dayAhead = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

test("a secret gets an expiry date, is warned about, cleared, and refused once expired", async ({ page, request }) => {
  const receiver = await startReceiver();
  try {
    await expiring(page, request, receiver);
  } finally {
    receiver.server.close();
  }
});

async function expiring(
  page: Page,
  request: import("@playwright/test").APIRequestContext,
  receiver: Awaited<ReturnType<typeof startReceiver>>,
) {
  await signUp(page);
  // A webhook for every event (and the environment's first secret, which signs them).
  await addWebhook(page, receiver.url);
  await page.getByRole("navigation", { name: "Portal" }).getByRole("link", { name: "API secrets" }).click();
  await expect(page.locator("html[data-hydrated]")).toBeAttached();
  // The signer has no "Expiry": it cannot expire.
  const signer = page.getByRole("row").filter({ hasText: "Used with webhooks" });
  await expect(signer).toBeVisible();
  await expect(signer.getByRole("button", { name: "Expiry" })).toHaveCount(0);

  const inThreeDays = dayAhead(3);
  await page.getByLabel("Expires (optional)").fill(inThreeDays);
  const { value, masked } = await createSecret(page, "temporary");
  const row = rowOf(page, masked);
  // Whole days left until 00:00 UTC that day.
  const daysLeft = Math.floor((Date.parse(`${inThreeDays}T00:00:00Z`) - Date.now()) / 86_400_000);
  await expect(row).toContainText(`Expires in ${daysLeft} days`);
  const warning = page.getByText("An API secret expires within 7 days");
  await expect(warning).toBeVisible();
  await expect(page.getByLabel("Expires (optional)")).toHaveValue("");
  await expectNoAxeViolations(page);
  const events = () => receiver.received.map((r) => JSON.parse(r.body)).filter((b) => b.event.startsWith("api_secret.exp"));
  await expect.poll(events).toEqual([
    expect.objectContaining({ event: "api_secret.expiring", payload: expect.objectContaining({ masked, within_days: 7 }) }),
  ]);

  // Later: "Expiry" shows the date; an empty field means never.
  await row.getByRole("button", { name: "Expiry" }).click();
  const dialog = page.getByRole("dialog", { name: "Expiry" });
  await expect(dialog.getByLabel("Expires on")).toHaveValue(inThreeDays);
  await expectNoAxeViolations(page);
  await dialog.getByLabel("Expires on").fill("");
  await dialog.getByRole("button", { name: "Confirm" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole("status").filter({ hasText: `API secret ${masked} does not expire.` })).toBeVisible();
  await expect(row).not.toContainText("Expires");
  await expect(warning).toBeHidden();

  // A date in the past is refused, with the reason, and changes nothing.
  await row.getByRole("button", { name: "Expiry" }).click();
  await dialog.getByLabel("Expires on").fill(dayAhead(-1));
  await dialog.getByRole("button", { name: "Confirm" }).click();
  await expect(dialog.getByRole("alert")).toHaveText(/The expiry date must be in the future/);
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await page.reload();
  await expect(rowOf(page, masked)).not.toContainText("Expires");
  await expect(page.locator("html[data-hydrated]")).toBeAttached();

  // 40 days ahead: the exact date, no warning.
  await row.getByRole("button", { name: "Expiry" }).click();
  await dialog.getByLabel("Expires on").fill(dayAhead(40));
  await dialog.getByRole("button", { name: "Confirm" }).click();
  await expect(dialog).toBeHidden();
  await expect(row).toContainText(/Expires \d+ \w+ \d{4}, 00:00 UTC/);
  await expect(warning).toBeHidden();

  // Its moment passes: a signed call with it is refused with the reason; the tab says so.
  const environmentId = environmentIdOf(page);
  expireNow(environmentId, masked);
  const path = `/api/v1/environments/${environmentId}/ping`;
  const call = (secret: string) => {
    const timestamp = Date.now().toString();
    const signature = createHmac("sha256", secret).update(`GET${path}${timestamp}`).digest("hex");
    return request.get(path, { headers: { "X-CS-Timestamp": timestamp, "X-CS-Signature": signature } });
  };
  const refused = await call(value);
  expect(refused.status()).toBe(401);
  expect((await refused.json()).error).toBe("expired_secret");
  await page.reload();
  await expect(rowOf(page, masked)).toContainText(/Expired (just now|1 minute ago)/);
  await expectNoAxeViolations(page);
  // The janitor (every second here) tells the webhook, once.
  await expect.poll(events).toHaveLength(2);
  expect(events()[1]).toMatchObject({ event: "api_secret.expired", payload: { masked, label: "temporary" } });
}
