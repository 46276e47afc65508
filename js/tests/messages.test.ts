// The fixtures in tests/fixtures/messages are shared with pytest (tests/unit/test_protocol.py).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { decisionMessage, isDecisionMessage, isErrorMessage, type DecisionPayload } from "../src/messages";

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
  it("recognises the kernel's error replies", () => {
    expect(isErrorMessage({ kind: "error", version: 1, request_id: "r-1", error: "stale", problems: {} })).toBe(true);
    expect(isErrorMessage({ kind: "error", version: 2, request_id: "r-1", error: "stale", problems: {} })).toBe(false);
  });
});
