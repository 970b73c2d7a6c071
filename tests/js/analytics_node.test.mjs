// The real Segment Node.js SDK, unchanged, pointed at `segmenta serve`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Analytics } from '@segment/analytics-node';
import { startServer } from './segmenta_server.mjs';

test('analytics-node delivers identify, track, page, screen, group and alias', async () => {
  const server = await startServer();
  try {
    const analytics = new Analytics({ writeKey: server.writeKey, host: server.url, flushAt: 5, maxRetries: 2 });
    const errors = [];
    analytics.on('error', (e) => errors.push(e));

    // An anonymous visit, then a sign-up, as a web shop sends them.
    analytics.page({ anonymousId: 'anon-js-1', name: 'Home', properties: { path: '/', referrer: 'https://www.google.com/' } });
    analytics.track({ anonymousId: 'anon-js-1', event: 'Product Viewed', properties: { product_id: 'p1', category: 'cycling', price: 999.5 } });
    analytics.track({ anonymousId: 'anon-js-1', event: 'Product Added', properties: { product_id: 'p1', quantity: 1 } });
    analytics.identify({ userId: 'user-js-1', anonymousId: 'anon-js-1', traits: { email: 'ana@example.com', age: 47, country: 'ES', job_title: 'Engineer' } });
    analytics.track({ userId: 'user-js-1', event: 'Order Completed', properties: { order_id: 'o1', revenue: 999.5, currency: 'EUR' } });
    analytics.group({ userId: 'user-js-1', groupId: 'acme', traits: { name: 'Acme', industry: 'Retail', employees: 120 } });
    analytics.screen({ userId: 'user-js-1', name: 'Cart' });
    // A second device of the same person: alias links it.
    analytics.track({ anonymousId: 'phone-js-1', event: 'Products Searched', properties: { query: 'helmet' } });
    analytics.alias({ userId: 'user-js-1', previousId: 'phone-js-1' });
    await analytics.closeAndFlush({ timeout: 20000 });
    assert.deepEqual(errors, []);

    const { status, body } = await server.api('/api/contacts/user-js-1?activities=50');
    assert.equal(status, 200);
    assert.equal(body.traits.age, 47);
    assert.equal(body.traits.country, 'ES');
    const ids = body.identities.map((i) => `${i.type}:${i.value}`).sort();
    assert.deepEqual(ids, ['anonymousId:anon-js-1', 'anonymousId:phone-js-1', 'email:ana@example.com', 'userId:user-js-1']);
    assert.deepEqual(body.accounts, ['acme']);
    const events = body.activities.map((a) => a.event ?? a.type);
    for (const e of ['page', 'Product Viewed', 'Product Added', 'identify', 'Order Completed', 'group', 'screen', 'Products Searched', 'alias']) {
      assert.ok(events.includes(e), `missing ${e} in ${events}`);
    }
    assert.equal(body.activities.length, 9);
    // The SDK's own context (library name) is kept.
    assert.equal(body.activities.find((a) => a.event === 'Order Completed').context.library.name, '@segment/analytics-node');

    const anon = await server.api('/api/contacts/anon-js-1');
    assert.equal(anon.body.id, body.id);
    const account = await server.api('/api/accounts/acme');
    assert.equal(account.status, 200);
    assert.equal(account.body.traits.industry, 'Retail');
  } finally {
    const { code } = await server.stop();
    assert.equal(code, 0, 'graceful shutdown on SIGTERM exits 0');
  }
});

test('analytics-node with a wrong write key stores nothing', async () => {
  const server = await startServer();
  try {
    const analytics = new Analytics({ writeKey: 'sk_wrong', host: server.url, flushAt: 1, maxRetries: 0 });
    const errors = [];
    analytics.on('error', (e) => errors.push(e));
    analytics.track({ anonymousId: 'intruder', event: 'Order Completed', properties: { revenue: 1 } });
    await analytics.closeAndFlush({ timeout: 10000 });
    assert.ok(errors.length >= 1, 'the SDK reports the refusal');
    const stats = await server.api('/api/stats');
    assert.equal(stats.body.activities, 0);
    const missing = await server.api('/api/contacts/intruder');
    assert.equal(missing.status, 404);
  } finally {
    await server.stop();
  }
});

test('a retried batch (same messageIds) is stored once', async () => {
  const server = await startServer();
  try {
    const body = JSON.stringify({
      writeKey: server.writeKey,
      batch: [1, 2, 3].map((i) => ({ type: 'track', event: 'Retry', anonymousId: 'retry-1', messageId: `retry-${i}` })),
    });
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = await fetch(`${server.url}/v1/batch`, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
      assert.equal(res.status, 200);
    }
    const contact = await server.api('/api/contacts/retry-1?activities=10');
    assert.equal(contact.body.activities.length, 3);
    const stats = await server.api('/api/stats');
    assert.equal(stats.body.duplicates, 6);
  } finally {
    await server.stop();
  }
});
