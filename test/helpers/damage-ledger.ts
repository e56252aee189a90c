import { closeSync, openSync, readSync, writeSync } from "node:fs";
import Database from "better-sqlite3";

/**
 * Damages a closed SQLite ledger file as a failing disk would: `count` leaf pages of `table`
 * (the grants, by default) are overwritten with zeros, chosen from the middle of the table so
 * that its root and the schema stay readable and only a full walk of the table finds the damage.
 * Returns the page numbers zeroed. The file must be closed (its WAL checkpointed) beforehand; it
 * is opened here read-write to find the pages, since a read-only connection to a WAL database
 * would leave its -wal and -shm files behind.
 */
export function zeroTablePages(path: string, count: number, table = "grants"): number[] {
  const db = new Database(path);
  let pageSize: number;
  let leaves: number[];
  try {
    pageSize = db.pragma("page_size", { simple: true }) as number;
    leaves = (
      db.prepare("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno").all(table) as { pageno: number }[]
    ).map((row) => row.pageno);
  } finally {
    db.close();
  }
  if (leaves.length < count + 2)
    throw new Error(`zeroTablePages: ${table} has ${leaves.length} leaf pages; seed more rows to damage ${count} of them in the middle`);
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

/**
 * Damages one leaf page of `table` less than `zeroTablePages` does: its first cell pointer is
 * made a copy of the second, so two cells claim the same bytes and one cell is lost. The page
 * still parses as a page, and every read stays inside it; `quick_check` then reports the page
 * ("Tree N page M cell 1: …", "Multiple uses for byte …") rather than failing.
 */
export function breakCellPointer(path: string, table = "grants"): number {
  const db = new Database(path);
  let pageSize: number;
  let leaves: number[];
  try {
    pageSize = db.pragma("page_size", { simple: true }) as number;
    leaves = (
      db.prepare("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno").all(table) as { pageno: number }[]
    ).map((row) => row.pageno);
  } finally {
    db.close();
  }
  const page = leaves[Math.floor(leaves.length / 2)];
  if (page === undefined || page === 1) throw new Error(`breakCellPointer: ${table} has no leaf page to damage`);
  const fd = openSync(path, "r+");
  try {
    // A table leaf page's header is 8 bytes; the cell pointer array (2 bytes each) follows it.
    const pointers = Buffer.alloc(4);
    readSync(fd, pointers, 0, 4, (page - 1) * pageSize + 8);
    writeSync(fd, pointers.subarray(2, 4), 0, 2, (page - 1) * pageSize + 8);
  } finally {
    closeSync(fd);
  }
  return page;
}
