// Pivota's MCP server through a client no one here wrote: the official TypeScript MCP SDK's Client over its
// Streamable HTTP transport, against the local runner. Run by infra/local/tests/it/mcp_client.rs, which starts
// the runner and a fake Shopify store, and sets up two merchants:
//   MCP_URL           the runner's /mcp
//   BASE_URL          the runner's base (REST checks)
//   KEY_A, MERCHANT_A merchant A: a sandbox PSP, a synced Shopify store (STORE_ID) and an order (ORDER_NAME,
//                     ORDER_EXTERNAL_ID)
//   KEY_B             merchant B: approved, nothing connected
//   SECRETS           comma-separated secrets no tool output may contain (the store's token and webhook
//                     secret, the keys)
// Exits non-zero on the first failed check, naming it.

import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const MCP_URL = env('MCP_URL');
const BASE_URL = env('BASE_URL');
const KEY_A = env('KEY_A');
const KEY_B = env('KEY_B');
const MERCHANT_A = env('MERCHANT_A');
const STORE_ID = env('STORE_ID');
const ORDER_NAME = env('ORDER_NAME');
const ORDER_EXTERNAL_ID = env('ORDER_EXTERNAL_ID');
const SECRETS = env('SECRETS').split(',').filter(Boolean);

const TOOLS = [
  'execute_payment', 'get_order', 'get_payment', 'get_product', 'get_sync_job',
  'list_low_stock', 'list_orders', 'list_stores', 'search_products', 'sync_store',
];
const STATE_CHANGING = ['execute_payment', 'sync_store'];

let checks = 0;
const outputs = [];
const ok = (name) => {
  checks += 1;
  console.log(`ok ${checks} - ${name}`);
};

async function connect(key) {
  const client = new Client({ name: 'pivota-mcp-e2e', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(MCP_URL), {
    requestInit: { headers: { Authorization: `Bearer ${key}` } },
  });
  await client.connect(transport);
  return { client, transport };
}

/** A successful call's structured content (validated by the SDK against the tool's output schema). */
async function call(client, name, args = {}) {
  const result = await client.callTool({ name, arguments: args });
  outputs.push(JSON.stringify(result));
  assert.ok(!result.isError, `${name} ${JSON.stringify(args)} failed: ${JSON.stringify(result.content)}`);
  assert.ok(result.structuredContent, `${name} answered without structured content`);
  return result.structuredContent;
}

/** A refused call's problem body: a tool error whose text is the REST API's problem+json. */
async function refusal(client, name, args) {
  const result = await client.callTool({ name, arguments: args });
  outputs.push(JSON.stringify(result));
  assert.equal(result.isError, true, `${name} ${JSON.stringify(args)} was not refused: ${JSON.stringify(result)}`);
  assert.equal(result.content?.[0]?.type, 'text');
  return JSON.parse(result.content[0].text);
}

const fieldsOf = (problem) => (problem.errors ?? []).map((e) => e.field);

async function main() {
  // --- initialize
  const { client: a, transport } = await connect(KEY_A);
  const server = a.getServerVersion();
  assert.equal(server.name, 'pivota');
  assert.match(server.version, /^\d+\.\d+\.\d+/);
  assert.ok(a.getServerCapabilities()?.tools, 'the server offers tools');
  assert.ok(SUPPORTED_PROTOCOL_VERSIONS.includes(transport.protocolVersion),
    `negotiated ${transport.protocolVersion}, one of the SDK's ${SUPPORTED_PROTOCOL_VERSIONS}`);
  assert.equal(transport.sessionId, undefined, 'stateless: no session id');
  ok(`initialize: ${server.name} ${server.version}, protocol ${transport.protocolVersion}, no session`);

  // --- tools and their schemas
  const { tools } = await a.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), TOOLS);
  for (const tool of tools) {
    assert.equal(tool.inputSchema.type, 'object', `${tool.name} input schema`);
    assert.equal(tool.outputSchema?.type, 'object', `${tool.name} output schema`);
    assert.ok(tool.description.length > 20, `${tool.name} is described`);
    const readOnly = tool.annotations?.readOnlyHint;
    if (STATE_CHANGING.includes(tool.name)) {
      assert.equal(readOnly, false, `${tool.name} is not read-only`);
    } else {
      assert.equal(readOnly, true, `${tool.name} is read-only`);
    }
  }
  const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
  assert.equal(byName.execute_payment.annotations.destructiveHint, true);
  assert.equal(byName.sync_store.annotations.destructiveHint, false);
  assert.deepEqual(byName.execute_payment.inputSchema.required, ['idempotency_key']);
  for (const field of ['q', 'store_id', 'status', 'in_stock', 'low_stock', 'price_min', 'price_max', 'sort', 'limit', 'cursor']) {
    assert.ok(byName.search_products.inputSchema.properties[field], `search_products takes ${field}`);
  }
  assert.ok(byName.search_products.outputSchema.properties.items, 'search_products answers items');
  assert.ok(byName.get_order.outputSchema.properties.write_back, 'get_order answers write_back');
  ok(`tools/list: ${tools.length} tools, each with input and output schemas; ${STATE_CHANGING.join(', ')} not read-only`);

  // --- search_products
  const all = await call(a, 'search_products', { limit: 5 });
  assert.ok(all.total >= 5 && all.items.length === 5 && all.next_cursor, JSON.stringify(all).slice(0, 300));
  const first = all.items[0];
  assert.equal(first.store_id, STORE_ID);
  assert.ok(first.variants.length > 0 && first.variants[0].sku && Number.isInteger(first.variants[0].price_minor));
  assert.match(first.currency, /^[A-Z]{3}$/);
  const next = await call(a, 'search_products', { limit: 5, cursor: all.next_cursor });
  assert.ok(next.items.every((p) => !all.items.some((q) => q.product_id === p.product_id)), 'the next page is new products');
  const bySku = await call(a, 'search_products', { q: first.variants[0].sku });
  assert.equal(bySku.items[0].product_id, first.product_id, 'an exact SKU ranks its product first');
  let problem = await refusal(a, 'search_products', { sort: 'cheapest' });
  assert.equal(problem.status, 400);
  assert.deepEqual(fieldsOf(problem), ['sort']);
  problem = await refusal(a, 'search_products', { price_min: 500, price_max: 100 });
  assert.deepEqual(fieldsOf(problem), ['price_max']);
  ok('search_products: pages, an exact SKU first; a bad sort and an inverted price range refused, naming the field');

  // --- get_product
  const product = await call(a, 'get_product', { product_id: first.product_id });
  assert.equal(product.title, first.title);
  assert.deepEqual(product.variants, first.variants);
  problem = await refusal(a, 'get_product', { product_id: 'prd_000000000000000000000000' });
  assert.equal(problem.status, 404);
  ok('get_product: the product; an unknown id is 404');

  // --- list_low_stock
  const low = await call(a, 'list_low_stock', { limit: 100 });
  assert.ok(low.items.length > 0, 'the fake shop has products at or below the threshold');
  assert.ok(low.items.every((p) => p.low_stock === true), 'every listed product is low on stock');
  assert.ok(low.total < all.total, 'not every product is low on stock');
  problem = await refusal(a, 'list_low_stock', { limit: 0 });
  assert.deepEqual(fieldsOf(problem), ['limit']);
  ok(`list_low_stock: ${low.total} of ${all.total} products; limit 0 refused`);

  // --- list_orders, get_order
  const orders = await call(a, 'list_orders', {});
  const order = orders.items.find((o) => o.external_id === ORDER_EXTERNAL_ID);
  assert.ok(order, `the delivered order is listed: ${JSON.stringify(orders).slice(0, 300)}`);
  problem = await refusal(a, 'list_orders', { status: 'shipped' });
  assert.deepEqual(fieldsOf(problem), ['status']);
  ok(`list_orders: the order (${order.status}); an unknown status refused`);

  const named = await call(a, 'get_order', { name: ORDER_NAME.replace('#', '') });
  assert.equal(named.order_id, order.order_id);
  const byId = await call(a, 'get_order', { order_id: order.order_id });
  assert.equal(byId.external_id, ORDER_EXTERNAL_ID);
  for (const field of ['status', 'write_back', 'psp_reference', 'decline_code', 'reason', 'payment_id']) {
    assert.ok(field in byId, `get_order answers ${field}`);
  }
  assert.ok(!('customer' in byId), 'no customer data in tool output');
  problem = await refusal(a, 'get_order', {});
  assert.deepEqual(fieldsOf(problem), ['order_id']);
  ok(`get_order: by name and by id, status ${byId.status}, write-back ${byId.write_back}; no order named refused`);

  // --- execute_payment, get_payment
  const payment = { idempotency_key: `mcp-e2e-${Date.now()}`, order_id: 'mcp-1001', amount: 1999, currency: 'EUR' };
  const paid = await call(a, 'execute_payment', payment);
  assert.equal(paid.status, 'succeeded');
  assert.equal(paid.psp, 'sandbox');
  assert.equal(paid.amount, 1999);
  const replayed = await call(a, 'execute_payment', payment);
  assert.equal(replayed.payment_id, paid.payment_id, 'a replay answers with the first payment');
  const listed = await (await fetch(`${BASE_URL}/merchant/${MERCHANT_A}/payments`, {
    headers: { Authorization: `Bearer ${KEY_A}` },
  })).json();
  assert.equal(listed.items.filter((p) => p.order_id === 'mcp-1001').length, 1, 'charged once');
  problem = await refusal(a, 'execute_payment', { ...payment, amount: 2999 });
  assert.equal(problem.status, 422, 'the same key with another amount is refused');
  problem = await refusal(a, 'execute_payment', { idempotency_key: `mcp-e2e-bad-${Date.now()}`, order_id: 'mcp-1002', currency: 'EUR' });
  assert.deepEqual(fieldsOf(problem), ['amount']);
  problem = await refusal(a, 'execute_payment', { ...payment, idempotency_key: ' ' });
  assert.deepEqual(fieldsOf(problem), ['idempotency_key']);
  const declined = await refusal(a, 'execute_payment', {
    idempotency_key: `mcp-e2e-decline-${Date.now()}`, order_id: 'mcp-1003', amount: 1999, currency: 'EUR',
    payment_method: '4000000000000002',
  });
  assert.equal(declined.status, 402, `a declining card: ${JSON.stringify(declined)}`);
  assert.equal(declined.type, '/problems/payment-declined');
  assert.equal(declined.decline_code, 'card_declined');
  assert.equal(declined.payment_status, 'declined');
  ok('execute_payment: charged once per key, a replay gives the same payment; reused key, missing amount, blank key and a declining card refused as the REST API refuses them');

  const got = await call(a, 'get_payment', { payment_id: paid.payment_id });
  assert.equal(got.status, 'succeeded');
  assert.equal(got.attempts.length, 1);
  problem = await refusal(a, 'get_payment', { payment_id: 'pay_nope' });
  assert.equal(problem.status, 404);
  ok('get_payment: the payment with its attempt; an unknown id is 404');

  // --- list_stores, sync_store, get_sync_job
  const stores = await call(a, 'list_stores', {});
  assert.deepEqual(stores.items.map((s) => s.store_id), [STORE_ID]);
  assert.equal(stores.items[0].platform, 'shopify');
  problem = await refusal(a, 'list_stores', { platform: 'magento' });
  assert.deepEqual(fieldsOf(problem), ['platform']);
  ok('list_stores: the store; an unknown platform refused');

  const started = await call(a, 'sync_store', { store_id: STORE_ID });
  assert.match(started.job_id, /\S/);
  problem = await refusal(a, 'sync_store', { store_id: 'sto_000000000000000000000000' });
  assert.equal(problem.status, 404);
  ok(`sync_store: job ${started.job_id} (created: ${started.created}); an unknown store is 404`);

  let job;
  for (let i = 0; i < 150; i += 1) {
    job = await call(a, 'get_sync_job', { store_id: STORE_ID, job_id: started.job_id });
    if (job.state === 'succeeded' || job.state === 'failed') break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.equal(job.state, 'succeeded', JSON.stringify(job));
  assert.equal(job.progress.products_seen, all.total);
  problem = await refusal(a, 'get_sync_job', { store_id: STORE_ID, job_id: 'job_nope' });
  assert.equal(problem.status, 404);
  ok(`get_sync_job: succeeded, ${job.progress.products_seen} products seen; an unknown job is 404`);

  // --- a second merchant sees none of the first's data
  const { client: b } = await connect(KEY_B);
  const theirs = await call(b, 'search_products', {});
  assert.equal(theirs.total, 0);
  assert.deepEqual((await call(b, 'list_stores', {})).items, []);
  assert.deepEqual((await call(b, 'list_orders', {})).items, []);
  assert.equal((await refusal(b, 'get_product', { product_id: first.product_id })).status, 404);
  assert.equal((await refusal(b, 'get_order', { order_id: order.order_id })).status, 404);
  assert.equal((await refusal(b, 'get_payment', { payment_id: paid.payment_id })).status, 404);
  assert.equal((await refusal(b, 'sync_store', { store_id: STORE_ID })).status, 404);
  assert.equal((await refusal(b, 'get_sync_job', { store_id: STORE_ID, job_id: started.job_id })).status, 404);
  ok("a second merchant's key sees none of the first's products, stores, orders, payments or jobs");

  // --- a bad key
  const bad = await fetch(MCP_URL, {
    method: 'POST',
    headers: {
      Authorization: 'Bearer pvk_test_not-a-key', 'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  assert.equal(bad.status, 401);
  const challenge = bad.headers.get('www-authenticate') ?? '';
  assert.match(challenge, /^Bearer /);
  const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
  assert.ok(metadataUrl, challenge);
  const metadata = await (await fetch(new URL(new URL(metadataUrl).pathname, BASE_URL))).json();
  assert.ok(metadata.resource.endsWith('/mcp'), JSON.stringify(metadata));
  assert.deepEqual(metadata.bearer_methods_supported, ['header']);
  assert.match(metadata.pivota_api_key.how_to_obtain, /api-keys/);
  await assert.rejects(connect('pvk_test_not-a-key'), 'the SDK client cannot connect with a bad key');
  const none = await fetch(MCP_URL, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  assert.equal(none.status, 401);
  ok('a bad or missing key gets 401 with WWW-Authenticate naming the protected-resource metadata');

  // --- no secret in any output
  const everything = outputs.join('\n');
  for (const secret of SECRETS) {
    assert.ok(!everything.includes(secret), 'a secret appeared in a tool output');
  }
  ok(`no secret in ${outputs.length} tool results`);

  await a.close();
  await b.close();
  console.log(`${checks} checks passed`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
