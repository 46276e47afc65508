import { describe, expect, it } from "vitest";
import { logLine } from "../../src/dashboard/log";
import type { LogEntry } from "../../src/dashboard/types";
import { view } from "./fixtures";

const entry = (over: Partial<LogEntry>): LogEntry => ({
  seq: 1,
  at: "2026-12-01T21:40:05Z",
  actor: "ann",
  actor_kind: "person",
  channel: "dashboard",
  action: "approve",
  version: 1,
  accepted: true,
  code: null,
  message: "",
  status: "pending",
  feedback: null,
  edits: null,
  ...over,
});

describe("the decision log", () => {
  it("says who tried what, on which version, and what came of it", () => {
    expect(logLine(entry({}))).toBe("2026-12-01 21:40:05 UTC · ann via dashboard · approve v1 · accepted → pending");
    expect(
      logLine(entry({ actor: "carol", accepted: false, code: "self_approval", message: "the requester cannot approve", status: null })),
    ).toBe("2026-12-01 21:40:05 UTC · carol via dashboard · approve v1 · refused (self_approval): the requester cannot approve");
  });

  it("shows an edit's diff, the feedback, and the agent's steps", () => {
    expect(logLine(entry({ action: "edit", edits: { amount: { json: "60" } }, status: "approved" }), view)).toBe(
      "2026-12-01 21:40:05 UTC · ann via dashboard · edit v1 · accepted → approved · amount: 120.5 → 60",
    );
    expect(logLine(entry({ action: "reject", feedback: "no\u202e", status: "rejected" }))).toContain("feedback: no\\u202e");
    expect(logLine(entry({ actor: "billing-agent", actor_kind: "agent", channel: "", action: "claim", version: 1, status: "running" }))).toBe(
      "2026-12-01 21:40:05 UTC · billing-agent (agent) · claimed to run v1 · accepted → running",
    );
  });
});
