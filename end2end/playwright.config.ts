import { defineConfig } from "@playwright/test";

// cargo-leptos starts the server at LEPTOS_SITE_ADDR (scripts/test sets it) before running us.
const baseURL = `http://${process.env.LEPTOS_SITE_ADDR ?? "127.0.0.1:3000"}`;

// Debian's Chromium; this machine cannot download Playwright's own browsers.
const chromium = {
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
};

export default defineConfig({
  testDir: "./tests",
  fullyParallel: true,
  forbidOnly: true,
  retries: 0,
  workers: 2,
  // Generous: CI shares two cores between the server (a debug build, too), Chromium and
  // Playwright. Each step still waits at most `expect.timeout`.
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  use: {
    baseURL,
    browserName: "chromium",
    launchOptions: chromium,
    trace: "retain-on-failure",
  },
  // scripts/test's cluster stage (PORTAL_CLUSTER_DIR set by scripts/cluster's caller) runs only
  // the walk through the load balancer; every other run, everything else.
  projects: process.env.PORTAL_CLUSTER_DIR
    ? [{ name: "cluster", testMatch: /\.cluster\.spec\.ts$/ }]
    : [
        // Hydrated: waits for the WASM (html[data-hydrated]) before interacting.
        { name: "hydrated", testIgnore: /\.(nojs|cluster)\.spec\.ts$/ },
        // What a visitor gets before the WASM loads, or with JavaScript off: server-rendered HTML.
        { name: "no-js", testMatch: /\.nojs\.spec\.ts$/, use: { javaScriptEnabled: false } },
      ],
});
