// Several instances behind a real load balancer (scripts/cluster: HAProxy, round-robin, no
// stickiness, so one page's requests land on different instances): the seed's walk, a webhook's
// deliveries and signed REST calls, with one instance killed (SIGKILL, as a crash) halfway,
// under traffic. Sessions, the delivery queue and every cache's invalidation go through Postgres:
// nothing the customer did is lost, no request fails, no delivery is lost or sent twice.
// scripts/test runs this through scripts/cluster (PORTAL_CLUSTER_DIR has its instances' pids).
import { test, expect } from "./fixtures/portal";
import { environmentIdOf, signIn, signUp } from "./fixtures/accounts";
import { createSecret } from "./fixtures/secrets";
import { startReceiver } from "./fixtures/webhooks";
import { createHmac } from "node:crypto";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { APIRequestContext, Page } from "@playwright/test";

const rowOf = (page: Page, masked: string) => page.getByRole("row").filter({ hasText: masked });

/** A signed REST call's status. */
async function signedPing(request: APIRequestContext, environmentId: string, secret: string) {
  const path = `/api/v1/environments/${environmentId}/ping`;
  const timestamp = Date.now().toString();
  const signature = createHmac("sha256", secret).update(`GET${path}${timestamp}`).digest("hex");
  const response = await request.get(path, {
    headers: { "X-CS-Timestamp": timestamp, "X-CS-Signature": signature },
  });
  return response.status();
}

/** Kills instance `i` of scripts/cluster as a crash would: no shutdown, nothing flushed. */
function kill(i: number) {
  const pid = Number(readFileSync(join(process.env.PORTAL_CLUSTER_DIR!, `instance-${i}.pid`), "utf8"));
  process.kill(pid, "SIGKILL");
}

/** The environment's webhook deliveries, oldest first, as "event status attempts". */
function deliveries(environmentId: string): string[] {
  const output = execFileSync("psql", [process.env.DATABASE_URL!, "-v", "ON_ERROR_STOP=1", "-qAt", "-v", `env=${environmentId}`], {
    input: `SELECT event || ' ' || status || ' ' || attempts FROM webhook_deliveries
             WHERE environment_id = :'env' ORDER BY created_at;`,
  });
  return output.toString().split("\n").filter(Boolean);
}

test("instances behind HAProxy serve the whole walk while one of them is killed", async ({ page }) => {
  const receiver = await startReceiver();
  try {
    const customer = await signUp(page);
    await expect(page.locator("html[data-hydrated]")).toBeAttached();
    const environmentId = environmentIdOf(page);
    const first = await createSecret(page, "first");

    // A webhook for every event: its ping arrives.
    await page.getByRole("link", { name: "Webhooks" }).click();
    await page.getByLabel("URL").fill(receiver.url);
    await page.getByRole("button", { name: "Add webhook" }).click();
    await expect(page.getByRole("region", { name: receiver.url })).toBeVisible();
    await expect.poll(() => deliveries(environmentId)).toEqual(["ping delivered 1"]);

    // Signed calls, one every 20 ms, while instance 2 dies: what it could not answer, HAProxy
    // sends to another instance.
    const calls = Array.from({ length: 60 }, (_, n) =>
      new Promise((wait) => setTimeout(wait, n * 20)).then(() => signedPing(page.request, environmentId, first.value)),
    );
    await new Promise((wait) => setTimeout(wait, 500));
    kill(2);
    expect(await Promise.all(calls)).toEqual(Array(60).fill(200));

    // Still signed in; the surviving instances wrote the calls they answered.
    const tab = page.getByRole("navigation", { name: "Portal" }).getByRole("link", { name: "API secrets" });
    await tab.click();
    await expect(page.getByRole("heading", { level: 1, name: "API secrets" })).toBeVisible();
    await expect
      .poll(async () => {
        await page.reload();
        return rowOf(page, first.masked).getByRole("cell").nth(1).textContent();
      })
      .not.toBe("Never");
    await expect(page.locator("html[data-hydrated]")).toBeAttached();

    const second = await createSecret(page, "second");
    await rowOf(page, second.masked).getByRole("button", { name: "Use with webhooks" }).click();
    await page.getByRole("dialog", { name: "Use with webhooks" }).getByRole("button", { name: "Confirm" }).click();
    await expect(page.getByRole("status").filter({ hasText: "now used with webhooks" })).toBeFocused();

    await rowOf(page, first.masked).getByRole("button", { name: "Remove" }).click();
    const remove = page.getByRole("dialog", { name: "Remove API secret" });
    await remove.getByLabel(/To confirm, type/).fill(`remove ${first.value.slice(-4)}`);
    await remove.getByRole("button", { name: "Confirm" }).click();
    await expect(page.getByRole("status").filter({ hasText: `API secret ${first.masked} removed.` })).toBeFocused();

    // Every instance's key cache heard of it: the removed secret is refused, the new one accepted.
    for (let i = 0; i < 6; i++) {
      expect(await signedPing(page.request, environmentId, first.value)).toBe(401);
      expect(await signedPing(page.request, environmentId, second.value)).toBe(200);
    }
    await page.reload();
    await expect(rowOf(page, second.masked)).toContainText("Used with webhooks");
    await expect(rowOf(page, first.masked)).toHaveCount(0);

    // Signed out on every instance; signed in again, back where they were going.
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/sign-in$/);
    for (let i = 0; i < 3; i++) {
      await page.goto(`/environments/${environmentId}/api-secrets`);
      await expect(page).toHaveURL(/\/sign-in\?next=/);
    }
    await signIn(page, customer.email);
    await expect(page).toHaveURL(new RegExp(`/environments/${environmentId}/api-secrets$`));
    await expect(rowOf(page, second.masked)).toContainText("Used with webhooks");

    // Each event delivered once, at the first attempt, and received once.
    await expect
      .poll(() => deliveries(environmentId))
      .toEqual([
        "ping delivered 1",
        "api_secret.created delivered 1",
        "webhook_signer.changed delivered 1",
        "api_secret.removed delivered 1",
      ]);
    const ids = receiver.received.map((request) => request.headers["webhook-id"]);
    expect(ids).toHaveLength(4);
    expect(new Set(ids).size).toBe(4);
  } finally {
    receiver.server.close();
  }
});
