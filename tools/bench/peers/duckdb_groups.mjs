// The DuckDB peer of `segmenta-bench recompute`: loads the same contacts and events (CSV
// written by the bench from Segmenta's profile table), then runs each group's condition as
// SQL, several times, and prints one JSON line per group: {"name", "ms": [...], "count"}.
// Usage: node duckdb_groups.mjs DIR NOW_MS REPEATS
import { openShop } from './duckdb_shop.mjs';

const [dir, nowArg, repeatsArg] = process.argv.slice(2);
const now = Number(nowArg);
const repeats = Number(repeatsArg ?? 3);
const hour = 3600 * 1000;
const day = 24 * hour;

const db = await openShop(dir);
console.log(JSON.stringify({ name: '(load)', ms: [db.loadMs], count: 0 }));

const europe = `('AT','BE','DE','DK','ES','FI','FR','GR','IE','IT','NL','PL','PT','SE')`;
const customers = `SELECT DISTINCT contact FROM events WHERE event = 'Order Completed'`;
const subscribers = `SELECT contact FROM contacts WHERE newsletter
  UNION SELECT contact FROM events WHERE event = 'Newsletter Subscribed'`;
const queries = {
  'Cart abandonment': `WITH a AS (SELECT contact, max(ts) AS last_add FROM events
      WHERE event = 'Product Added' GROUP BY contact)
    SELECT count(*) FROM a WHERE last_add < ${now - hour} AND NOT EXISTS (
      SELECT 1 FROM events e WHERE e.contact = a.contact AND e.event = 'Order Completed'
        AND e.ts > a.last_add)`,
  'Prospective students': `SELECT count(DISTINCT contact) FROM events WHERE event = 'Webinar Downloaded'`,
  'Newsletter subscribers': `SELECT count(*) FROM (${subscribers})`,
  'Partner programme': `SELECT count(*) FROM (SELECT contact FROM events WHERE kind = 'page'
      AND starts_with(path, '/partners') AND ts BETWEEN ${now - 30 * day} AND ${now}
      GROUP BY contact HAVING count(*) >= 2)`,
  'European professionals': `SELECT count(*) FROM contacts WHERE gender = 'male'
      AND country IN ${europe} AND age BETWEEN 45 AND 55 AND job_title IS NOT NULL
      AND job_title NOT IN ('student', 'retired')`,
  'Customers': `SELECT count(*) FROM (${customers})`,
  'Leads': `SELECT count(*) FROM (SELECT DISTINCT contact FROM events WHERE kind = 'identify'
      EXCEPT ${customers})`,
  'Inactive customers': `SELECT count(*) FROM (SELECT contact FROM events GROUP BY contact
      HAVING bool_or(event = 'Order Completed') AND NOT bool_or(ts BETWEEN ${now - 90 * day} AND ${now}))`,
  'Cards expiring': `SELECT count(*) FROM contacts WHERE card_expiry IS NOT NULL
      AND epoch_ms(strptime(card_expiry || '-01', '%Y-%m-%d')) BETWEEN ${now} AND ${now + 30 * day}`,
  'High value': `WITH o AS (SELECT contact, sum(revenue) AS s, avg(revenue) AS a FROM events
      WHERE event = 'Order Completed' AND revenue IS NOT NULL GROUP BY contact),
    g AS (SELECT avg(revenue) AS ga FROM events WHERE event = 'Order Completed' AND revenue IS NOT NULL)
    SELECT count(*) FROM o, g WHERE o.s > 1000 OR o.a > g.ga`,
  'B2B retail': `SELECT count(DISTINCT m.contact) FROM members m JOIN accounts a USING (group_id)
      WHERE a.industry = 'Retail' AND a.employees >= 50`,
  'Engaged': `SELECT count(*) FROM (SELECT contact FROM events
      WHERE event IN ('Email Opened', 'Email Clicked') GROUP BY contact
      HAVING count(*) FILTER (WHERE event = 'Email Opened' AND ts BETWEEN ${now - 30 * day} AND ${now}) >= 3
        AND bool_or(event = 'Email Clicked'))`,
  'Customers not subscribed': `SELECT count(*) FROM (${customers} EXCEPT (${subscribers}))`,
};
for (const [name, sql] of Object.entries(queries)) {
  const ms = [];
  let count = 0;
  for (let r = 0; r < repeats; r++) {
    const start = process.hrtime.bigint();
    const result = await db.runAndReadAll(sql);
    ms.push(Number(process.hrtime.bigint() - start) / 1e6);
    count = Number(result.getRows()[0][0]);
  }
  console.log(JSON.stringify({ name, ms, count }));
}
