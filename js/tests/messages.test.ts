// The fixtures in tests/fixtures/messages are shared with pytest (tests/unit/test_protocol.py).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { PROTOCOL_VERSION, decisionMessage, isDecisionMessage, isErrorMessage, type DecisionPayload } from "../src/messages";

interface Case {
  name: string;
  message: unknown;
}
const load = (name: string): Case[] =>
  JSON.parse(readFileSync(resolve(process.cwd(), "../tests/fixtures/messages", name), "utf8")) as Case[];

describe("decision messages", () => {
  for (const c of load("valid.json")) {
    it(`accepts ${c.name}`, () => {
      expect(isDecisionMessage(c.message, "r-1")).toBe(true);
      const payload = (c.message as { decision: DecisionPayload }).decision;
      expect(decisionMessage("r-1", payload)).toEqual(c.message);
    });
  }
  for (const c of load("invalid.json")) {
    it(`refuses ${c.name}`, () => {
      expect(isDecisionMessage(c.message, "r-1")).toBe(false);
    });
  }
  for (const c of load("invalid_edits.json")) {
    it(`passes ${c.name} to Python, which answers with the argument's problem`, () => {
      expect(isDecisionMessage(c.message, "r-1")).toBe(true);
    });
  }
  it("the fixtures are for this version", () => {
    expect(PROTOCOL_VERSION).toBe(2);
    for (const c of [...load("valid.json"), ...load("invalid_edits.json")]) expect((c.message as { version: number }).version).toBe(2);
  });
  it("builds edit messages whose values are text, never numbers", () => {
    const message = decisionMessage("r-1", { kind: "edit", arguments: { ids: { json: "[1234567890123456789]" } } });
    expect(JSON.stringify(message)).toContain('"[1234567890123456789]"');
    expect(isDecisionMessage(message, "r-1")).toBe(true);
  });
  it("recognises the kernel's error replies", () => {
    expect(isErrorMessage({ kind: "error", version: 2, request_id: "r-1", error: "stale", problems: {} })).toBe(true);
    expect(isErrorMessage({ kind: "error", version: 1, request_id: "r-1", error: "stale", problems: {} })).toBe(false);
  });
});
