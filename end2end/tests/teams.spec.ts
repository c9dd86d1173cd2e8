// Teams: an owner invites a developer and a viewer, each in their own browser; each sees what
// their role allows and nothing more; a removed member's open tab is refused on its next
// action; the Audit log shows it all. And the header that carries it fits at 1280 and 375 px.
import { test, expect, expectNoAxeViolations, gotoHydrated } from "./fixtures/portal";
import { PASSWORD, signUp, uniqueCustomer } from "./fixtures/accounts";
import type { Browser, Page } from "@playwright/test";

const tab = (page: Page, name: string) =>
  page.getByRole("navigation", { name: "Portal" }).getByRole("link", { name, exact: true });

/** On the Members tab, invites `email` as `role`; the link the page shows once. */
async function invite(page: Page, email: string, role: string) {
  await tab(page, "Members").click();
  await expect(page.getByRole("heading", { level: 1, name: "Members" })).toBeVisible();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Role", { exact: true }).selectOption(role);
  await page.getByRole("button", { name: "Invite" }).click();
  const link = page.getByLabel("Invitation link");
  await expect(link).toBeVisible();
  await expect(page.getByText("You will not see it again.")).toBeVisible();
  return link.inputValue();
}

/** A new person opens `link` in their own browser and joins with a new account. */
async function join(browser: Browser, link: string, organization: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(link);
  await expect(page).toHaveURL(/\/join$/);
  await expect(page.getByRole("heading", { level: 1, name: `Join ${organization}` })).toBeVisible();
  await expectNoAxeViolations(page);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account and join" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "API secrets" })).toBeVisible();
  await expect(page.getByText(organization, { exact: true })).toBeVisible();
  await expect(page.locator("html[data-hydrated]")).toBeAttached();
  return { context, page };
}

test("an owner's team: each role sees what it may do, and a removed member is refused at once", async ({
  page,
  browser,
}) => {
  const owner = await signUp(page, uniqueCustomer("owner"));
  await expect(page.locator("html[data-hydrated]")).toBeAttached();
  await page.getByRole("button", { name: "Create a new API secret" }).click();
  await expect(page.getByRole("dialog", { name: "Your new API secret" })).toBeVisible();
  await page.keyboard.press("Escape");

  const developer = uniqueCustomer("dev");
  const viewer = uniqueCustomer("viewer");
  const developerLink = await invite(page, developer.email, "developer");
  await expectNoAxeViolations(page);
  const viewerLink = await invite(page, viewer.email, "viewer");
  // Shown once: the tab again lists the invitations, not their links.
  await tab(page, "Members").click();
  await expect(page.getByLabel("Invitation link")).toHaveCount(0);
  const pending = page.getByRole("table", { name: "Pending invitations" });
  await expect(pending.getByRole("row")).toHaveCount(3);
  await expect(page.locator("body")).not.toContainText(developerLink.split("token=")[1]);

  const dev = await join(browser, developerLink, owner.organization);
  const view = await join(browser, viewerLink, owner.organization);

  // The developer creates secrets but may not remove them or manage members.
  const create = dev.page.getByRole("button", { name: "Create a new API secret" });
  await expect(create).toBeEnabled();
  await expect(dev.page.getByText("Only admins and owners can remove API secrets.")).toBeVisible();
  await tab(dev.page, "Members").click();
  await expect(dev.page.getByRole("button", { name: "Invite" })).toBeDisabled();
  await expect(dev.page.getByText("Only admins and owners can manage members.")).toBeVisible();
  await tab(dev.page, "API secrets").click();

  // The viewer sees, and changes nothing.
  await expect(view.page.getByRole("button", { name: "Create a new API secret" })).toBeDisabled();
  await expect(view.page.getByText("Only developers, admins and owners can create API secrets.")).toBeVisible();
  await tab(view.page, "Webhooks").click();
  await expect(view.page.getByRole("button", { name: "Add webhook" })).toBeDisabled();
  await expectNoAxeViolations(view.page);

  // The owner sees the team and removes the developer, confirming in a dialog.
  await tab(page, "Members").click();
  const members = page.getByRole("table", { name: "Members" });
  await expect(members.getByRole("row")).toHaveCount(4);
  await expect(members.getByRole("row", { name: new RegExp(viewer.email) })).toContainText("viewer");
  await page.getByRole("button", { name: `Remove ${developer.email}` }).click();
  const dialog = page.getByRole("dialog", { name: "Remove this member?" });
  await expect(dialog).toBeVisible();
  await dialog.getByRole("button", { name: "Confirm" }).click();
  await expect(members.getByRole("row")).toHaveCount(3);

  // The developer's open tab: the next action is refused, and says why.
  await create.click();
  await expect(dev.page.getByRole("alert").filter({ hasText: "Your session has ended" })).toBeVisible();
  await dev.page.reload();
  await expect(dev.page).toHaveURL(/\/sign-in/);

  // The viewer is promoted; the change holds on their next page.
  await page.getByLabel(`Role for ${viewer.email}`).selectOption("developer");
  await page.getByRole("button", { name: `Change role of ${viewer.email}` }).click();
  await tab(view.page, "API secrets").click();
  await expect(view.page.getByRole("button", { name: "Create a new API secret" })).toBeEnabled();

  // All of it is in the Audit log, which every member may read and filter.
  await tab(view.page, "Audit log").click();
  await expect(view.page.getByRole("heading", { level: 1, name: "Audit log" })).toBeVisible();
  const log = view.page.getByRole("table", { name: "Audit log" });
  await expect(log.getByRole("row").filter({ hasText: "Removed a member" })).toContainText(developer.email);
  await expect(log.getByRole("row").filter({ hasText: "Changed a member's role" })).toContainText(
    `${viewer.email} (viewer → developer)`,
  );
  await view.page.getByLabel("Action").selectOption({ label: "Invited someone" });
  await view.page.getByRole("button", { name: "Filter" }).click();
  await expect(log.getByRole("row")).toHaveCount(3);
  await expectNoAxeViolations(view.page);
  const exportLink = view.page.getByRole("link", { name: "Export as CSV" });
  await expect(exportLink).toHaveAttribute("href", "/audit-log.csv?action=invitation.created");
  const csv = await view.page.request.get((await exportLink.getAttribute("href"))!);
  expect(csv.headers()["content-disposition"]).toContain("attachment");
  const text = await csv.text();
  expect(text.split("\r\n").filter(Boolean)).toHaveLength(3);
  expect(text).toContain("invitation.created");

  await dev.context.close();
  await view.context.close();
});

test("the header fits on one line at 1280 px and collapses cleanly at 375 px", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await signUp(page, uniqueCustomer("header"));
  await gotoHydrated(page, "/members");
  // One line: every part of the header shares a horizontal band.
  const oneLine = () =>
    page.locator(".site-header").evaluate((header) => {
      const boxes = Array.from(header.children).map((child) => child.getBoundingClientRect());
      const shared = Math.max(...boxes.map((b) => b.top)) < Math.min(...boxes.map((b) => b.bottom));
      return shared ? "one line" : JSON.stringify(boxes.map((b) => [b.left, b.top, b.width, b.height]));
    });
  expect(await oneLine()).toBe("one line");
  const noSideScroll = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  expect(await noSideScroll()).toBe(true);

  await page.setViewportSize({ width: 375, height: 740 });
  expect(await noSideScroll()).toBe(true);
  await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
  await expect(page.getByLabel("Environment", { exact: true })).toBeVisible();
  // Every tab reachable by keyboard, in order.
  const tabs = page.getByRole("navigation", { name: "Portal" }).getByRole("link");
  await expect(tabs).toHaveText(["API secrets", "Webhooks", "Environments", "Members", "Audit log"]);
  await tabs.last().focus();
  await expect(tabs.last()).toBeInViewport();
  await expectNoAxeViolations(page);
});

test("the Sessions page lists where you are signed in and ends another session", async ({ page, browser }) => {
  const customer = await signUp(page, uniqueCustomer("sessions"));
  const other = await browser.newContext();
  const phone = await other.newPage();
  await phone.goto("/sign-in");
  await phone.getByLabel("Email").fill(customer.email);
  await phone.getByLabel("Password").fill(PASSWORD);
  await phone.getByRole("button", { name: "Sign in" }).click();
  await expect(phone.getByRole("heading", { level: 1, name: "API secrets" })).toBeVisible();

  // Your address in the header leads to your account's security, and on to your sessions.
  await page.getByRole("link", { name: customer.email }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Security" })).toBeVisible();
  await page.getByRole("link", { name: "Sessions", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Sessions" })).toBeVisible();
  const table = page.getByRole("table", { name: "Your sessions" });
  await expect(table.getByRole("row")).toHaveCount(3);
  await expect(table.getByText("This session")).toHaveCount(1);
  await expect(table).toContainText(/Chrome \d+ on Linux/);
  await expectNoAxeViolations(page);

  await page.getByRole("button", { name: /^End the session of/ }).click();
  await expect(table.getByRole("row")).toHaveCount(2);
  await phone.reload();
  await expect(phone).toHaveURL(/\/sign-in/);
  await other.close();
});
