import { describe, expect, it } from "@jest/globals";
import { createHash } from "node:crypto";
import {
  AuditChainVerifier,
  auditHash,
  canonicalDetails,
  canonicalJson,
  GENESIS_HASH,
  verifyAuditChain,
  type ChainEntry,
} from "../../src/ledger/audit-chain.js";
import type { AuditEvent, AuditInput } from "../../src/ledger/store.js";

const sha256 = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex");

describe("canonicalJson", () => {
  it.each<[string, unknown, string]>([
    ["literals", [null, true, false], "[null,true,false]"],
    ["numbers in JSON's shortest form, -0 as 0", [1, -2.5, 1e21, 0.1, -0], "[1,-2.5,1e+21,0.1,0]"],
    [
      "object keys sorted by UTF-16 code units, integer-like keys included",
      { b: 1, 10: 2, 9: 3, a: 4, B: 5 },
      '{"10":2,"9":3,"B":5,"a":4,"b":1}',
    ],
    ["nested objects sorted at every level, arrays kept in order", { z: [{ y: 1, x: 2 }], a: {} }, '{"a":{},"z":[{"x":2,"y":1}]}'],
    ["strings escaped as JSON.stringify does", ['q"b\\', "\n\t\u0001", "é😀", "\ud800"], '["q\\"b\\\\","\\n\\t\\u0001","é😀","\\ud800"]'],
    ["keys escaped like strings", { 'k"': 1 }, '{"k\\"":1}'],
    ["no whitespace", { a: [1, 2], b: "x y" }, '{"a":[1,2],"b":"x y"}'],
  ])("writes %s", (_, value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it("sorts keys outside the Basic Multilingual Plane by code unit, not code point", () => {
    // U+FF61 is one code unit 0xFF61; U+1F600 is the surrogate pair 0xD83D 0xDE00, which sorts first.
    expect(canonicalJson({ "\uff61": 1, "😀": 2 })).toBe('{"😀":2,"｡":1}');
  });

  it.each<[string, unknown]>([
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["undefined", undefined],
    ["a bigint", 1n],
    ["a function", () => 1],
  ])("refuses %s", (_, value) => {
    expect(() => canonicalJson([value])).toThrow("canonical JSON has no form");
  });

  it("gives details their JSON form first: dates as ISO text, undefined members dropped", () => {
    expect(canonicalDetails({ when: new Date("2030-01-01T00:00:00Z"), gone: undefined, n: Number.NaN, b: 1 })).toBe(
      '{"b":1,"n":null,"when":"2030-01-01T00:00:00.000Z"}',
    );
    expect(canonicalDetails(undefined)).toBeNull();
    expect(canonicalDetails({})).toBe("{}");
  });
});

describe("auditHash", () => {
  const record: AuditInput = {
    at: new Date("2030-01-01T10:00:00.000Z"),
    action: "granted",
    actor: "jit-access",
    owner: "acme",
    repo: "api",
    prNumber: 7,
    grantId: "g-1",
    environment: "production",
    secret: "PROD_DB_URL",
    details: { expiresAt: "2030-01-01T12:00:00.000Z", approvers: ["bob"] },
  };

  it("is SHA-256 over the documented encoding", () => {
    const text =
      '["jit-access/audit/v1",1,"' +
      GENESIS_HASH +
      '",1893492000000,"granted","jit-access","acme","api",7,"g-1","production","PROD_DB_URL",' +
      '{"approvers":["bob"],"expiresAt":"2030-01-01T12:00:00.000Z"}]';
    expect(auditHash(1, GENESIS_HASH, record)).toBe(sha256(text));
  });

  it("writes null for absent optional fields", () => {
    const bare: AuditInput = { at: new Date(0), action: "validated", actor: "alice", owner: "acme", repo: "api" };
    const text = `["jit-access/audit/v1",3,"${"a".repeat(64)}",0,"validated","alice","acme","api",null,null,null,null,null]`;
    expect(auditHash(3, "a".repeat(64), bare)).toBe(sha256(text));
  });

  it.each<[string, (r: AuditInput) => AuditInput]>([
    ["actor", (r) => ({ ...r, actor: "mallory" })],
    ["time", (r) => ({ ...r, at: new Date(r.at.getTime() + 1) })],
    ["details", (r) => ({ ...r, details: { ...r.details, approvers: ["mallory"] } })],
    ["a field moved to another (secret into environment)", (r) => ({ ...r, environment: "PROD_DB_URL", secret: "production" })],
    ["an absent field instead of an empty one", (r) => ({ ...r, details: undefined })],
  ])("changes with the %s", (_, change) => {
    expect(auditHash(1, GENESIS_HASH, change(record))).not.toBe(auditHash(1, GENESIS_HASH, record));
  });

  it("changes with the seq and the previous hash", () => {
    expect(auditHash(2, GENESIS_HASH, record)).not.toBe(auditHash(1, GENESIS_HASH, record));
    expect(auditHash(1, "1".repeat(64), record)).not.toBe(auditHash(1, GENESIS_HASH, record));
  });

  it("does not depend on the order of keys in details", () => {
    const reordered = { ...record, details: { approvers: ["bob"], expiresAt: "2030-01-01T12:00:00.000Z" } };
    expect(auditHash(1, GENESIS_HASH, reordered)).toBe(auditHash(1, GENESIS_HASH, record));
  });

  it.each<[string, () => string, string]>([
    ["seq 0", () => auditHash(0, GENESIS_HASH, record), "seq must be a positive whole number"],
    ["a malformed previous hash", () => auditHash(1, "abc", record), "prevHash must be 64 lower-case hex digits"],
    ["an invalid time", () => auditHash(1, GENESIS_HASH, { ...record, at: new Date(Number.NaN) }), "at is not a valid date"],
  ])("refuses %s", (_, hash, message) => {
    expect(hash).toThrow(message);
  });
});

describe("verifyAuditChain", () => {
  function chain(count: number): AuditEvent[] {
    const events: AuditEvent[] = [];
    let prevHash = GENESIS_HASH;
    for (let seq = 1; seq <= count; seq += 1) {
      const input: AuditInput = { at: new Date(seq * 1000), action: "validated", actor: `user-${seq}`, owner: "acme", repo: "api" };
      const hash = auditHash(seq, prevHash, input);
      events.push({ ...input, seq, prevHash, hash });
      prevHash = hash;
    }
    return events;
  }

  it("counts an intact chain and gives its head", () => {
    const events = chain(3);
    expect(verifyAuditChain(events)).toEqual({ ok: true, count: 3, lastSeq: 3, lastHash: events[2]!.hash });
    expect(verifyAuditChain([])).toEqual({ ok: true, count: 0, lastSeq: null, lastHash: GENESIS_HASH });
  });

  it("names the first broken record and stops there", () => {
    const events = chain(5);
    events[1] = { ...events[1]!, actor: "mallory" };
    events[3] = { ...events[3]!, actor: "mallory" };
    expect(verifyAuditChain(events)).toEqual({ ok: false, count: 1, seq: 2, problem: expect.stringContaining("does not match its hash") });
  });

  it("names records out of order", () => {
    const events = chain(3);
    expect(verifyAuditChain([events[0]!, events[2]!, events[1]!])).toMatchObject({
      ok: false,
      seq: 3,
      problem: expect.stringContaining("record 2 is missing"),
    });
    expect(verifyAuditChain([events[0]!, events[0]!])).toMatchObject({
      ok: false,
      seq: 1,
      problem: expect.stringContaining("out of order"),
    });
  });

  it("names a record its store could not read", () => {
    const entries: ChainEntry[] = [...chain(2), { seq: 3, unreadable: "it cannot be read: malformed details" }];
    expect(verifyAuditChain(entries)).toEqual({ ok: false, count: 2, seq: 3, problem: "it cannot be read: malformed details" });
  });

  it("checks records fed one at a time, as a store reading in batches does", () => {
    const events = chain(4);
    const verifier = new AuditChainVerifier();
    expect(events.slice(0, 2).every((event) => verifier.add(event))).toBe(true);
    expect(verifier.add({ ...events[2]!, prevHash: GENESIS_HASH })).toBe(false);
    expect(verifier.add(events[3]!)).toBe(false);
    expect(verifier.result()).toMatchObject({ ok: false, count: 2, seq: 3, problem: expect.stringContaining("of record 2 before it") });
  });

  describe("from the last archived record", () => {
    it("checks the records after it, chained from its hash", () => {
      const events = chain(4);
      expect(verifyAuditChain(events.slice(2), { seq: 2, hash: events[1]!.hash })).toEqual({
        ok: true,
        count: 2,
        lastSeq: 4,
        lastHash: events[3]!.hash,
      });
    });

    it("gives the archived record as the head while nothing follows it", () => {
      const events = chain(2);
      expect(verifyAuditChain([], { seq: 2, hash: events[1]!.hash })).toEqual({
        ok: true,
        count: 0,
        lastSeq: 2,
        lastHash: events[1]!.hash,
      });
    });

    it("treats seq 0 with the genesis hash as no archive at all", () => {
      const events = chain(2);
      expect(verifyAuditChain(events, { seq: 0, hash: GENESIS_HASH })).toEqual(verifyAuditChain(events));
      expect(verifyAuditChain([], { seq: 0, hash: GENESIS_HASH })).toEqual({ ok: true, count: 0, lastSeq: null, lastHash: GENESIS_HASH });
    });

    it.each<[string, (events: AuditEvent[]) => ChainEntry[], RegExp]>([
      [
        "the first record after it missing",
        (events) => events.slice(3),
        /is not the hash [0-9a-f]{12}… of the last archived record, 2 \(record 3 is missing\)/,
      ],
      [
        "the records starting from the chain's start, as if nothing was archived",
        (events) => events,
        /its seq does not follow record 2's: records are out of order/,
      ],
      [
        "a record chained from elsewhere",
        (events) => [{ ...events[2]!, prevHash: GENESIS_HASH }],
        /is not the hash [0-9a-f]{12}… of the last archived record, 2: /,
      ],
    ])("names %s", (_, entries, problem) => {
      const events = chain(4);
      expect(verifyAuditChain(entries(events), { seq: 2, hash: events[1]!.hash })).toMatchObject({
        ok: false,
        count: 0,
        problem: expect.stringMatching(problem),
      });
    });

    it.each([
      [{ seq: -1, hash: GENESIS_HASH }, "the chain's start must be a whole seq"],
      [{ seq: 2, hash: "abc" }, "the chain's start hash must be 64 lower-case hex digits"],
    ])("refuses a start of %p", (start, message) => {
      expect(() => new AuditChainVerifier(start)).toThrow(message);
    });
  });
});
