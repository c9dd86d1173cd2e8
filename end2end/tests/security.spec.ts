import { test, expect } from "./fixtures/portal";
import { environmentIdOf, PASSWORD, signUp } from "./fixtures/accounts";

/**
 * Hostile text in every field a customer controls (email, organization, environment names,
 * secret labels, webhook URLs) is shown as typed on every page, and runs nothing: the fixture fails the
 * test on any console error (the browser logs every CSP violation there), any policy report and
 * any script dialog; here no element the text describes may exist.
 */
const corpus = [
  `</title><script>alert(1)</script>`,
  `"><svg onload=alert(2)>`,
  `'><img src=x onerror=alert(3)>`,
  `javascript:alert(4)`,
  `</script><script>alert(5)</script>`,
  `<style>*{display:none}</style>x`,
  `＜script＞alert(6)＜/script＞ ‮evil`,
  `<a href="javascript:alert(7)">click</a>`,
];

/** What the corpus could have made of a page: elements from it, handler attributes, links to
 * javascript: URLs, scripts without the page's nonce. */
const injected = (page: import("@playwright/test").Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll("*")]
      .filter(
        (el) =>
          ["IMG", "STYLE", "IFRAME", "OBJECT"].includes(el.tagName) ||
          [...el.attributes].some((a) => a.name.startsWith("on")) ||
          (el.tagName === "SCRIPT" && !(el as HTMLScriptElement).nonce) ||
          (el.getAttribute("href") ?? "").trim().toLowerCase().startsWith("javascript:"),
      )
      .map((el) => el.outerHTML.slice(0, 120)),
  );

test("hostile names, labels and URLs are shown literally and run nothing", async ({ page }) => {
  const tag = Math.random().toString(36).slice(2, 8);
  // Email::parse asks for an @ and a dotted domain, no spaces: markup passes. (The browser's own
  // check of type=email would stop it; an attacker's client does not ask the browser.)
  const email = `"><svg/onload=alert(8)>${tag}@example.com`;
  const organization = `${corpus[0]} ${tag}`;
  const signUpForm = page.locator("form").filter({ has: page.getByLabel("Email") });
  await page.goto("/sign-up");
  await expect(page.locator("html[data-hydrated]")).toBeAttached();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("short");
  await page.getByLabel("Organization name").fill(organization);
  const refused = page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/sign-up"));
  // Posted as a client that runs none of our checks would (the form's island refuses a short
  // password before sending it): the server refuses it, and shows the form again.
  await signUpForm.evaluate((f: HTMLFormElement) => f.submit());
  expect((await refused).status()).toBe(422);
  // The refused form is shown again with what was typed, as text.
  await expect(page.getByLabel("Email")).toHaveValue(email);
  await expect(page.getByLabel("Organization name")).toHaveValue(organization);
  expect(await injected(page), "/sign-up, refused").toEqual([]);
  await expect(page.locator("html[data-hydrated]")).toBeAttached();
  await signUpForm.evaluate((f: HTMLFormElement) => (f.noValidate = true));
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page).toHaveURL(/\/api-secrets$/);
  const first = environmentIdOf(page);

  const rpc = async (name: string, form: Record<string, string>) => {
    const response = await page.request.post(`/rpc/${name}`, {
      form,
      headers: { Accept: "application/json" },
    });
    expect(response.status(), `${name}: ${await response.text()}`).toBe(200);
    return response.json();
  };
  await rpc("rename_environment", { id: first, name: corpus[1] });
  const environments = [first];
  for (const name of corpus.slice(2, 5)) environments.push((await rpc("create_environment", { name })).id);
  for (const [n, id] of environments.entries()) {
    for (const label of [corpus[n], corpus[n + 4]]) {
      await rpc("create_api_secret", { environment_id: id, label });
    }
    await page.goto(`/environments/${id}/webhooks`);
    await page.getByLabel("URL").fill(`http://127.0.0.1:9/hook?q=${corpus[n]}`);
    await page.getByRole("button", { name: "Add webhook" }).click();
    await expect(page.getByRole("region").first()).toBeVisible();
  }

  const pages = environments.flatMap((id) => [`/environments/${id}/api-secrets`, `/environments/${id}/webhooks`]);
  for (const path of [...pages, "/environments"]) {
    await page.goto(path);
    await expect(page.locator("html[data-hydrated]")).toBeAttached();
    expect(await injected(page), path).toEqual([]);
  }
  // Shown as typed: in the title, the header and the tables.
  await page.goto(`/environments/${first}/api-secrets`);
  await expect(page).toHaveTitle(`API secrets · ${corpus[1]} · Customer Portal`);
  await expect(page.getByText(organization, { exact: true })).toBeVisible();
  await expect(page.getByText(email, { exact: true })).toBeVisible();
  await expect(page.getByText(corpus[0], { exact: true }).first()).toBeVisible();
  await page.goto(`/environments/${environments[1]}/api-secrets`);
  await expect(page).toHaveTitle(`API secrets · ${corpus[2]} · Customer Portal`);
  await expect(page.getByText(corpus[5], { exact: true }).first()).toBeVisible();
});

test("a link that carries someone else's error message shows nothing", async ({ page }) => {
  await signUp(page);
  const forged = Buffer.from(JSON.stringify({ Invalid: "Security alert: call +1 555 0100" })).toString("base64url");
  await page.goto(`/environments?__path=/rpc/create_environment&__err=${forged}`);
  await expect(page.getByRole("heading", { level: 1, name: "Environments" })).toBeVisible();
  await expect(page.getByText("Security alert")).toHaveCount(0);
});
