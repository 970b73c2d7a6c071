// Opens an in-memory DuckDB (2 threads) with the CSV files a Segmenta bench writes from its
// profile table (events, contacts, accounts, members). The connection's loadMs tells how
// long loading took.
import { DuckDBInstance } from '@duckdb/node-api';

export async function openShop(dir) {
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const db = await instance.connect();
  const t0 = Date.now();
  await db.run(`CREATE TABLE events AS SELECT * FROM read_csv('${dir}/events.csv', header=true,
    columns={'contact':'BIGINT','kind':'VARCHAR','event':'VARCHAR','ts':'BIGINT','path':'VARCHAR','category':'VARCHAR','revenue':'DOUBLE'})`);
  await db.run(`CREATE TABLE contacts AS SELECT * FROM read_csv('${dir}/contacts.csv', header=true,
    columns={'contact':'BIGINT','age':'DOUBLE','gender':'VARCHAR','country':'VARCHAR','job_title':'VARCHAR','newsletter':'BOOLEAN','card_expiry':'VARCHAR'})`);
  await db.run(`CREATE TABLE accounts AS SELECT * FROM read_csv('${dir}/accounts.csv', header=true,
    columns={'group_id':'VARCHAR','industry':'VARCHAR','employees':'DOUBLE'})`);
  await db.run(`CREATE TABLE members AS SELECT * FROM read_csv('${dir}/members.csv', header=true,
    columns={'group_id':'VARCHAR','contact':'BIGINT'})`);
  db.loadMs = Date.now() - t0;
  return db;
}
