// The Webhooks tab: a webhook needs a signer (any API secret), adding one sends it a ping,
// signed with the signer, which a receiver here checks on its own (Node's http + crypto) and with
// the Standard Webhooks and Svix libraries, and the delivery log shows it delivered.
import { test, expect, expectNoAxeViolations } from "./fixtures/portal";
import { signUp } from "./fixtures/accounts";
import { addWebhook, startReceiver } from "./fixtures/webhooks";
import { createSecret } from "./fixtures/secrets";
import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";

test("adding a webhook sends it a signed ping that its delivery log shows as delivered", { tag: "@smoke" }, async ({ page }) => {
  // The receiver holds the ping until the test lets it answer.
  let letAnswer!: () => void;
  const receiver = await startReceiver(new Promise<void>((resolve) => (letAnswer = resolve)));
  try {
    await signUp(page);
    await page.getByRole("link", { name: "Webhooks" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Webhooks" })).toBeVisible();
    // No API secret yet, so nothing could sign: the tab says so.
    await expect(page.getByText("This environment has no API secret to sign webhooks with yet.")).toBeVisible();
    await expect(page.getByRole("button", { name: "Add webhook" })).toBeDisabled();
    await expectNoAxeViolations(page);

    await page.getByRole("link", { name: "Go to API secrets" }).click();
    await expect(page.locator("html[data-hydrated]")).toBeAttached();
    const { value } = await createSecret(page);

    await page.getByRole("link", { name: "Webhooks" }).click();
    await expect(page.getByRole("button", { name: "Add webhook" })).toBeEnabled();
    await page.getByLabel("URL").fill(receiver.url);
    const events = page.getByRole("group", { name: "Events" });
    await expect(events.getByRole("checkbox")).toHaveCount(6);
    await events.getByRole("checkbox", { name: "api_secret.removed" }).uncheck();
    await page.getByLabel("Max retries").fill("2");
    await page.getByLabel("Retry interval").fill("1");
    await page.getByRole("button", { name: "Add webhook" }).click();

    const webhook = page.getByRole("region", { name: receiver.url });
    await expect(webhook).toContainText("Events: ping, api_secret.created, webhook_signer.changed, api_secret.expiring, api_secret.expired.");
    await expect(webhook).toContainText("Max retries: 2. Retry interval: 1 minute.");
    const log = webhook.getByRole("table", { name: "Delivery log" });
    await expect(log.getByRole("columnheader")).toHaveText([
      "Event",
      "Status",
      "Attempts",
      "Last response",
      "Next attempt",
      "Created",
    ]);
    // Pending while the receiver holds it; then the open log follows it to "Delivered" by itself,
    // without a reload.
    const ping = log.getByRole("row").filter({ hasText: "ping" });
    await expect(ping.getByRole("cell").nth(1)).toHaveText("Pending");
    await expect.poll(() => receiver.received.length).toBe(1);
    await expect(page.locator("html[data-hydrated]")).toBeAttached();
    await page.evaluate(() => document.documentElement.setAttribute("data-same-page", ""));
    // While the receiver holds it, the attempt is under way (not "in 35 seconds", its lease).
    // The log reloads every 2 seconds while an attempt is under way or due.
    await expect(ping.getByRole("cell").nth(4)).toHaveText("In progress");
    await expect(ping.getByRole("cell").nth(1)).toHaveText("Pending");
    letAnswer();
    await expect(ping.getByRole("cell").nth(1)).toHaveText("Delivered");
    await expect(page.locator("html[data-same-page]")).toBeAttached();
    await expect(ping.getByRole("cell").nth(2)).toHaveText("1");
    await expect(ping.getByRole("cell").nth(3)).toHaveText("200");
    await expect(ping.getByRole("cell").nth(4)).toHaveText("—");

    // What arrived is signed with the secret, over the URL's path and query.
    expect(receiver.received).toHaveLength(1);
    const [request] = receiver.received;
    expect(request.url).toBe("/hooks/customer?source=portal");
    const timestamp = request.headers["x-cs-timestamp"] as string;
    const expected = createHmac("sha256", value)
      .update(`POST${request.url}${timestamp}${request.body}`)
      .digest("hex");
    expect(request.headers["x-cs-signature"]).toBe(expected);
    // The Standard Webhooks library verifies it too, keyed as docs/signing.md says: `whsec_` +
    // base64 of the API secret. A changed body or another key does not pass.
    const standard = new Webhook(`whsec_${Buffer.from(value).toString("base64")}`);
    const headers = request.headers as Record<string, string>;
    expect(standard.verify(request.body, headers)).toMatchObject({ event: "ping" });
    expect(() => standard.verify(request.body.replace("ping", "pong"), headers)).toThrow(/signature/);
    const stranger = new Webhook(`whsec_${Buffer.from("csk_someone_else").toString("base64")}`);
    expect(() => stranger.verify(request.body, headers)).toThrow(/signature/);
    // And Svix's library, with the same key (it reads the unbranded webhook-* headers).
    const svix = new SvixWebhook(`whsec_${Buffer.from(value).toString("base64")}`);
    expect(() => svix.verify(request.body, headers)).not.toThrow();
    expect(() => svix.verify(`${request.body} `, headers)).toThrow(/signature/);
    const body = JSON.parse(request.body);
    expect(body.event).toBe("ping");
    expect(Object.keys(body).sort()).toEqual(["environment_id", "event", "payload", "sent_at"]);
    await expectNoAxeViolations(page);

    // Bad input is refused with a clear message, next to the form.
    await page.getByLabel("URL").fill("ftp://example.com/");
    await page.getByRole("button", { name: "Add webhook" }).click();
    await expect(page.getByRole("alert").filter({ hasText: "The URL must start with https:// or http://." })).toBeVisible();

    // Removing asks first, in a modal dialog (opened by HTML alone: no script is involved).
    // Cancel and Escape keep the webhook, and focus goes back to its Remove button.
    const remove = page.getByRole("button", { name: `Remove webhook ${receiver.url}` });
    const dialog = page.getByRole("dialog", { name: "Remove this webhook?" });
    await expect(dialog).toBeHidden();
    const url = page.url();
    await remove.click();
    await expect(dialog).toBeVisible();
    await expect(dialog).toContainText(`We will stop sending events to ${receiver.url}.`);
    await expect(dialog).toContainText("Its delivery log is removed with it");
    await expect(dialog.getByRole("button", { name: "Cancel" })).toBeFocused();
    await expectNoAxeViolations(page);
    await page.keyboard.press("Enter");
    await expect(dialog).toBeHidden();
    await expect(remove).toBeFocused();
    expect(page.url()).toBe(url);
    await page.keyboard.press("Enter");
    await expect(dialog).toBeVisible();
    await page.keyboard.press("Escape");
    await expect(dialog).toBeHidden();
    await expect(webhook).toBeVisible();

    // Confirm removes it and its log.
    await remove.click();
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await expect(page.getByText("No webhooks yet.")).toBeVisible();
    await expect(webhook).toHaveCount(0);
  } finally {
    receiver.server.close();
  }
});

test("in a browser without invoker commands, Remove opens its dialog once the WASM runs", async ({ page }) => {
  // Such a browser, simulated: buttons have no `command` property, and a click on a button with
  // `commandfor` does nothing by itself (its default action, the native command, is cancelled).
  await page.addInitScript(() => {
    delete (HTMLButtonElement.prototype as { command?: string }).command;
    window.addEventListener(
      "click",
      (event) => {
        if (event.target instanceof Element && event.target.closest("button[commandfor]")) event.preventDefault();
      },
      { capture: true },
    );
  });
  await signUp(page);
  const url = "http://127.0.0.1:9/old-browser-hook";
  const webhook = await addWebhook(page, url);

  // The WASM is held back: the page is there, but nothing opens the dialog yet.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route("**/*.wasm", async (route) => {
    await held;
    await route.continue();
  });
  await page.reload({ waitUntil: "domcontentloaded" });
  const remove = page.getByRole("button", { name: `Remove webhook ${url}` });
  const dialog = page.getByRole("dialog", { name: "Remove this webhook?" });
  await remove.click();
  await expect(page.locator("html[data-hydrated]")).not.toBeAttached();
  await expect(dialog).toBeHidden();

  // Once it runs, Remove opens the modal dialog, which behaves as it does everywhere else.
  release();
  await expect(page.locator("html[data-hydrated]")).toBeAttached();
  await remove.click();
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole("button", { name: "Cancel" })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await remove.click();
  await dialog.getByRole("button", { name: "Confirm" }).click();
  await expect(page.getByText("No webhooks yet.")).toBeVisible();
  await expect(webhook).toHaveCount(0);
});
