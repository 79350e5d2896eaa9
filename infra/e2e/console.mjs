// The console's whole journey in headless Chromium (Debian's), driven by playwright-core.
//
// Started by infra/local/tests/it/console_e2e.rs, which runs the local runner and the fake Stripe and
// Shopify servers and passes their addresses in the environment. Every step asserts what a user would
// see; a failed step exits non-zero with the step's name and a screenshot of the page at that moment.

import { createHmac, randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const BASE = env("CONSOLE_BASE_URL");
const SHOPIFY_URL = env("SHOPIFY_URL");
const SHOPIFY_TOKEN = env("SHOPIFY_TOKEN");
const SHOPIFY_SECRET = env("SHOPIFY_SECRET");
const ADMIN_TOKEN = env("ADMIN_TOKEN");
const SHOTS = env("SCREENSHOT_DIR");
mkdirSync(SHOTS, { recursive: true });
rmSync(`${SHOTS}/failure.png`, { force: true });

// Flags for a root user on a machine with a closed network (../shared/TOOLING.md).
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
  ],
});

let current = null;
const shot = (page, name) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
async function step(name, page, body) {
  current = { name, page };
  const started = Date.now();
  await body();
  console.log(`ok: ${name} (${Date.now() - started} ms)`);
}
const expect = (condition, message) => {
  if (!condition) throw new Error(message);
};
async function waitForText(locator, pattern, timeout = 20000) {
  await locator.filter({ hasText: pattern }).first().waitFor({ timeout });
}
// axe-core's WCAG 2.1 A and AA rules (labels, contrast, names, landmarks, …) on the page as it stands:
// any serious or critical violation fails the step.
const audited = [];
// A narrow phone screen: nothing wider than the viewport but a table's own scroll area.
async function fitsNarrowScreen(page, name) {
  const size = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.setViewportSize(size);
  expect(overflow <= 1, `${name} fits a narrow screen (overflow ${overflow}px)`);
}
async function accessible(page, name) {
  await page.evaluate(AXE);
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }));
  const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const report = serious.map((v) => `${v.id} ×${v.nodes.length} at ${v.nodes[0].target.join(" ")}: ${v.help}`);
  expect(serious.length === 0, `${name} has accessibility violations: ${report.join("; ")}`);
  audited.push(name);
}

try {
  const merchant = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await merchant.grantPermissions(["clipboard-read", "clipboard-write"], { origin: BASE });
  const page = await merchant.newPage();
  const email = `owner-${randomUUID().slice(0, 8)}@acme.example`;

  await step("1. register, validated inline, and watch KYC turn approved without reloading", page, async () => {
    await page.goto(`${BASE}/console`);
    expect(page.url().endsWith("/console/sign-in"), `the console starts at sign-in, not ${page.url()}`);
    await page.getByRole("link", { name: "Register", exact: true }).click();
    // Keyboard: the first Tab reaches the skip link.
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent) === "Skip to content", "skip link first");
    // Inline: leaving a malformed e-mail shows the browser's message in the field's error slot.
    await page.getByLabel("Contact e-mail").fill("not-an-email");
    await page.getByLabel("Country of incorporation").focus();
    await waitForText(page.locator("#register-email-error"), /./);
    // Server: an address the server refuses comes back next to its field, with the values kept.
    await page.getByLabel("Business name").fill("Acme Outdoor GmbH");
    await page.getByLabel("Contact e-mail").fill(email);
    await page.getByLabel("Country of incorporation").fill("DE");
    await page.getByLabel("Website").fill("https://acme.example");
    await page.evaluate(() => document.querySelector("form[data-validate]").setAttribute("novalidate", ""));
    await page.getByLabel("Website").fill("ftp://acme.example");
    await page.getByRole("button", { name: "Register" }).click();
    await waitForText(page.locator("#register-website-error"), /http/);
    expect(await page.getByLabel("Business name").inputValue() === "Acme Outdoor GmbH", "values kept");
    await accessible(page, "registration with errors");
    await fitsNarrowScreen(page, "registration");
    await shot(page, "01-register-server-error");
    await page.getByLabel("Website").fill("https://acme.example");
    await page.getByRole("button", { name: "Register" }).click();
    await page.getByRole("heading", { name: "Welcome to Pivota" }).waitFor();
    const key = await page.locator("#revealed-key").inputValue();
    expect(/^pvk_test_/.test(key), `a test key is revealed: ${key.slice(0, 9)}`);
    await page.getByRole("button", { name: "Copy" }).click();
    await waitForText(page.locator("[data-copy-status]"), /Copied|Selected/);
    await waitForText(page.locator("#kyc-status"), /pending kyc/, 5000);
    await shot(page, "02-registered-kyc-pending");
    await waitForText(page.locator("#kyc-status"), /approved/, 30000);
    await accessible(page, "welcome");
    await shot(page, "03-kyc-approved-live");
    // The key is shown once: the overview does not show it again.
    await page.getByRole("link", { name: "Continue to your overview" }).click();
    expect((await page.content()).indexOf(key) === -1, "the key is not shown again");
  });

  await step("2. a bad Stripe key shows Stripe's refusal; the sandbox connects", page, async () => {
    await page.getByRole("link", { name: "Payment providers" }).click();
    await page.locator("#stripe-api_key").fill("sk_test_invalid_key_for_the_console_0000");
    await page.getByRole("button", { name: "Connect Stripe" }).click();
    await waitForText(page.locator(".alert"), /Stripe|key/i);
    await waitForText(page.locator("#stripe-api_key-error"), /./);
    expect((await page.content()).indexOf("sk_test_invalid_key_for_the_console_0000") === -1, "the bad key is not echoed");
    await accessible(page, "payment providers with an error");
    await shot(page, "04-psp-bad-stripe-key");
    await page.getByRole("button", { name: "Connect the sandbox" }).click();
    await waitForText(page.locator(".notice"), /connected/);
    await waitForText(page.locator("table"), /sandbox/);
    await shot(page, "05-psp-sandbox-connected");
  });

  await step("3. create an API key (revealed once), revoke it, and set routing", page, async () => {
    await page.getByRole("link", { name: "API keys" }).click();
    await page.getByLabel("Name").fill("checkout server");
    await page.getByRole("button", { name: "Create key" }).click();
    const created = await page.locator("#revealed-key").inputValue();
    expect(/^pvk_test_/.test(created), "the new key is revealed");
    await accessible(page, "API keys");
    await shot(page, "06-api-key-created");
    await page.getByRole("button", { name: "Revoke checkout server" }).click();
    await waitForText(page.locator(".notice"), /revoked/);
    await waitForText(page.locator("tr", { hasText: "checkout server" }), /revoked/);
    await page.getByRole("link", { name: "Routing" }).click();
    await page.getByLabel("Choice 1").selectOption("sandbox");
    await page.getByRole("button", { name: "Save routing" }).click();
    await waitForText(page.locator(".notice"), /Routing saved/);
    await accessible(page, "routing");
    await shot(page, "07-routing");
  });

  let storeId;
  await step("4. connect the fake Shopify store, sync, and watch progress reach 100 %", page, async () => {
    await page.getByRole("link", { name: "Stores" }).click();
    await waitForText(page.locator(".empty"), /No store/);
    await page.getByRole("link", { name: "Add a store" }).click();
    await page.getByLabel("Shopify").check();
    await page.getByRole("button", { name: "Choose" }).click();
    await page.getByLabel("Shop URL").fill(SHOPIFY_URL);
    await page.getByLabel("Admin API access token").fill(SHOPIFY_TOKEN);
    await page.getByLabel("App API secret key").fill(SHOPIFY_SECRET);
    await accessible(page, "add a store");
    await shot(page, "08-add-shopify-store");
    await page.getByRole("button", { name: "Connect store" }).click();
    await waitForText(page.locator(".notice"), /connected/);
    storeId = (await page.locator("article.card h2").first().getAttribute("id")).replace(/^store-/, "");
    await page.getByRole("button", { name: /^Sync now/ }).click();
    await waitForText(page.locator(".notice"), /Sync started/);
    await shot(page, "09-sync-running");
    // The bar is refreshed by the page itself until the job is done.
    await waitForText(page.locator(`#sync-${storeId}`), /succeeded/, 60000);
    const value = await page.locator(`#sync-${storeId} progress`).getAttribute("value");
    expect(value === "100", `the progress bar ends at 100, not ${value}`);
    await page.getByRole("button", { name: /^Set up webhooks for / }).click();
    await waitForText(page.locator(".notice"), /webhooks are set up/);
    await waitForText(page.locator("article.card"), /3 subscriptions/);
    await page.getByLabel("Low-stock warning at").fill("10");
    await page.getByRole("button", { name: /^Save the low-stock threshold/ }).click();
    await waitForText(page.locator(".notice"), /Store settings saved/);
    expect(await page.getByLabel("Low-stock warning at").inputValue() === "10", "the threshold is saved");
    await accessible(page, "stores");
    await fitsNarrowScreen(page, "stores");
    await shot(page, "10-store-synced");
  });

  await step("5. search products, edit a price inline, see a low-stock badge", page, async () => {
    await page.getByRole("link", { name: "Products" }).click();
    await page.locator("table.products").waitFor();
    // The search index follows the table through the index queue, so a product synced a moment ago may
    // not be searchable yet: search again, as a merchant would, until it is (or 20 s pass).
    const rows = page.locator("table.products tbody tr");
    for (let tries = 0; ; tries += 1) {
      await page.getByLabel("Search by name, SKU, vendor or type").fill("PV-000002");
      await page.getByRole("button", { name: "Search" }).click();
      try {
        await waitForText(rows, /Product 3/, 1000);
        break;
      } catch (error) {
        if (tries >= 20) throw error;
      }
    }
    expect(!(await page.locator("table.products").textContent()).includes("Product 4"), "the search filters");
    const price = page.locator("table.products input.price").first();
    await price.fill("12.34");
    await page.getByRole("button", { name: "Save the price of Product 3" }).first().click();
    await waitForText(page.locator(".notice"), /Price saved/);
    expect(await page.locator("table.products input.price").first().inputValue() === "12.34", "the price is saved");
    expect(new URL(page.url()).searchParams.get("q") === "PV-000002", "the search is kept");
    await price.fill("12.345");
    await page.getByRole("button", { name: "Save the price of Product 3" }).first().click();
    await waitForText(page.locator(".alert"), /decimals/);
    await accessible(page, "products with an error");
    await shot(page, "11-products-price-error");
    await page.goto(`${BASE}/console/products?low_stock=true`);
    await waitForText(page.locator("table.products"), /Low stock/);
    await shot(page, "12-products-low-stock");
    // A narrow screen: nothing overflows the viewport but the scrollable table.
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow <= 1, `the page fits a narrow screen (overflow ${overflow}px)`);
    await shot(page, "13-products-narrow-screen");
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  await step("6. an admin rejects a second merchant, with a reason, and sees the history", page, async () => {
    const response = await fetch(`${BASE}/merchant/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        business_name: "Second Shop Ltd", email: `second-${randomUUID().slice(0, 8)}@shop.example`,
        country: "IR", website: "https://second.example",
      }),
    });
    expect(response.status === 201, `the second merchant registers (${response.status})`);
    const admin = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const adminPage = await admin.newPage();
    current.page = adminPage;
    await adminPage.goto(`${BASE}/console/sign-in`);
    await adminPage.getByLabel("Admin token").fill("not-the-token");
    await adminPage.getByRole("button", { name: "Sign in as admin" }).click();
    await waitForText(adminPage.locator(".alert"), /not valid/);
    await accessible(adminPage, "sign-in with an error");
    // By keyboard alone: type into the focused field, Enter submits.
    await adminPage.getByLabel("Admin token").focus();
    await adminPage.keyboard.type(ADMIN_TOKEN);
    await adminPage.keyboard.press("Enter");
    await adminPage.getByRole("heading", { name: "Merchants" }).waitFor();
    await adminPage.getByLabel("Status").selectOption("manual_review");
    await adminPage.getByRole("button", { name: "Filter" }).click();
    // The automatic checks run after the KYC wait and put it in review (restricted country).
    for (let i = 0; i < 30 && !(await adminPage.content()).includes("Second Shop Ltd"); i++) {
      await adminPage.waitForTimeout(1000);
      await adminPage.reload();
    }
    await accessible(adminPage, "admin merchants");
    await fitsNarrowScreen(adminPage, "admin merchants");
    await shot(adminPage, "14-admin-merchants");
    await adminPage.getByRole("link", { name: "Second Shop Ltd" }).click();
    await adminPage.getByRole("button", { name: "Reject" }).click();
    await waitForText(adminPage.locator("#reject-reason-error"), /./);
    await adminPage.getByLabel("Reason for rejecting").fill("Sanctioned jurisdiction");
    await adminPage.getByRole("button", { name: "Reject" }).click();
    await waitForText(adminPage.locator(".notice"), /Decision recorded/);
    await waitForText(adminPage.locator(".history"), /rejected.*Sanctioned jurisdiction/s);
    await accessible(adminPage, "admin merchant");
    await shot(adminPage, "15-admin-rejected-history");
    // The admin cannot see merchant pages, nor a merchant the admin pages.
    const forbidden = await adminPage.goto(`${BASE}/console/stores`);
    expect(forbidden.status() === 403, `a merchant page is refused to an admin (${forbidden.status()})`);
    const adminOnly = await page.goto(`${BASE}/console/admin/merchants`);
    expect(adminOnly.status() === 403, `an admin page is refused to a merchant (${adminOnly.status()})`);
    current.page = page;
    await admin.close();
  });

  await step("7. an order webhook from the store appears as paid, and marked paid in the store", page, async () => {
    await page.goto(`${BASE}/console/orders`);
    await waitForText(page.locator(".empty"), /No orders yet/);
    const order = {
      id: 450789469, name: "#1001", currency: "EUR", total_price: "49.90", financial_status: "pending",
      note_attributes: [], customer: { id: 207119551, email: "buyer@example.com", first_name: "Ada" },
      line_items: [{ title: "Product 3", quantity: 1, sku: "PV-000002-0", price: "49.90" }],
    };
    const body = JSON.stringify(order);
    const hmac = createHmac("sha256", SHOPIFY_SECRET).update(body).digest("base64");
    const deliver = (signature) => fetch(`${BASE}/webhooks/shopify/${storeId}`, {
      method: "POST",
      body,
      headers: {
        "content-type": "application/json", "x-shopify-topic": "orders/create", "x-shopify-hmac-sha256": signature,
        "x-shopify-shop-domain": "pivota-test.myshopify.com", "x-shopify-api-version": "2026-07",
        "x-shopify-webhook-id": randomUUID(), "x-shopify-event-id": randomUUID(),
        "x-shopify-triggered-at": new Date().toISOString(),
      },
    });
    expect((await deliver("bm90IHRoZSBzaWduYXR1cmU=")).status === 401, "a bad signature is refused");
    const delivered = await deliver(hmac);
    expect(delivered.status === 200, `the delivery is acknowledged (${delivered.status})`);
    for (let i = 0; i < 30; i++) {
      await page.reload();
      const text = await page.locator("main").textContent();
      if (text.includes("#1001") && /paid/.test(text) && /done/.test(text)) break;
      await page.waitForTimeout(1000);
    }
    const row = page.locator("tr", { hasText: "#1001" });
    await waitForText(row, /49\.90 EUR/);
    await waitForText(row.locator(".badge").first(), /^paid$/);
    await waitForText(row, /done/);
    await waitForText(row, /sandbox/);
    await accessible(page, "orders");
    await fitsNarrowScreen(page, "orders");
    await shot(page, "16-orders-paid");
  });

  await step("disconnect the store, after a confirmation", page, async () => {
    await page.getByRole("link", { name: "Stores" }).click();
    await page.getByRole("link", { name: /^Disconnect…/ }).click();
    await page.getByRole("heading", { name: "Disconnect a store" }).waitFor();
    await page.getByRole("link", { name: "Cancel" }).click();
    await waitForText(page.locator("article.card"), /connected/);
    await page.getByRole("link", { name: /^Disconnect…/ }).click();
    await page.getByRole("button", { name: /^Disconnect Pivota Test Shop/ }).click();
    await waitForText(page.locator(".notice"), /disconnected/);
    // Disconnected stores leave the list; the empty state says what to do next.
    await waitForText(page.locator(".empty"), /No store is connected/);
  });

  await step("sign out", page, async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await waitForText(page.locator(".notice"), /signed out/);
    const after = await page.goto(`${BASE}/console/overview`);
    expect(after.url().includes("/console/sign-in"), "signed out sessions go back to sign-in");
  });
  console.log(`accessibility (axe-core, WCAG 2.1 AA): no serious violations on ${audited.length} pages`);
  console.log("console journey: all steps passed");
} catch (error) {
  console.error(`FAILED at step "${current?.name}": ${error.stack || error}`);
  if (current?.page) await shot(current.page, "failure").catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.close();
}
