import { closeSync, openSync, writeSync } from "node:fs";
import Database from "better-sqlite3";

/**
 * Damages a closed SQLite ledger file as a failing disk would: `count` leaf pages of `table`
 * (the grants, by default) are overwritten with zeros, chosen from the middle of the table so
 * that its root and the schema stay readable and only a full walk of the table finds the damage.
 * Returns the page numbers zeroed. The file must be closed (its WAL checkpointed) beforehand.
 */
export function zeroTablePages(path: string, count: number, table = "grants"): number[] {
  const db = new Database(path, { readonly: true });
  let pageSize: number;
  let leaves: number[];
  try {
    pageSize = db.pragma("page_size", { simple: true }) as number;
    leaves = (db.prepare("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno").all(table) as { pageno: number }[]).map((row) => row.pageno);
  } finally {
    db.close();
  }
  if (leaves.length < count + 2) throw new Error(`zeroTablePages: ${table} has ${leaves.length} leaf pages; seed more rows to damage ${count} of them in the middle`);
  const start = Math.floor((leaves.length - count) / 2);
  const pages = leaves.slice(start, start + count);
  const fd = openSync(path, "r+");
  try {
    for (const page of pages) writeSync(fd, Buffer.alloc(pageSize), 0, pageSize, (page - 1) * pageSize);
  } finally {
    closeSync(fd);
  }
  return pages;
}
