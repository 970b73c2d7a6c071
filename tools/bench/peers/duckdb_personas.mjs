// The DuckDB peer of `segmenta-bench personas`: loads the same contacts and events (CSV
// written by the bench from Segmenta's profile table) and runs the SQL the bench wrote
// (every persona's score for every contact, and each contact's persona), several times.
// Prints {"name": "(load)", "ms": [...]} and {"name": "personas", "ms": [...], "rows":
// [[persona index, members], ...]}.
// Usage: node duckdb_personas.mjs DIR SQL_FILE REPEATS
import { readFileSync } from 'node:fs';
import { openShop } from './duckdb_shop.mjs';

const [dir, sqlFile, repeatsArg] = process.argv.slice(2);
const repeats = Number(repeatsArg ?? 3);
const sql = readFileSync(sqlFile, 'utf8');
const db = await openShop(dir);
console.log(JSON.stringify({ name: '(load)', ms: [db.loadMs] }));
const ms = [];
let rows = [];
for (let r = 0; r < repeats; r++) {
  const start = process.hrtime.bigint();
  const result = await db.runAndReadAll(sql);
  ms.push(Number(process.hrtime.bigint() - start) / 1e6);
  rows = result.getRows().map((row) => row.map(Number));
}
console.log(JSON.stringify({ name: 'personas', ms, rows }));
