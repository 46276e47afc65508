import { afterEach, describe, expect, it, vi } from "vitest";
import { openTransport } from "../src/widget";

const opened: BroadcastChannel[] = [];
afterEach(() => {
  for (const channel of opened.splice(0)) channel.close();
});

function kernelSide(name: string): { channel: BroadcastChannel; received: unknown[] } {
  const channel = new BroadcastChannel(name);
  opened.push(channel);
  const received: unknown[] = [];
  channel.onmessage = (event: MessageEvent) => received.push(event.data);
  return { channel, received };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

describe("openTransport", () => {
  it("uses the comm when the kernel named no relay", () => {
    const sendComm = vi.fn();
    const transport = openTransport("", sendComm, () => undefined);
    transport.send({ kind: "decision" });
    expect(sendComm).toHaveBeenCalledWith({ kind: "decision" });
    transport.close();
  });

  it("sends on the named BroadcastChannel and not on the comm (JupyterLite)", async () => {
    const kernel = kernelSide("hitl-test-1");
    const sendComm = vi.fn();
    const transport = openTransport("hitl-test-1", sendComm, () => undefined);
    transport.send({ kind: "decision", request_id: "r1" });
    await settle();
    expect(kernel.received).toEqual([{ kind: "decision", request_id: "r1" }]);
    expect(sendComm).not.toHaveBeenCalled();
    transport.close();
  });

  it("hands the kernel's replies on the channel to the card, and stops after close", async () => {
    const kernel = kernelSide("hitl-test-2");
    const replies: unknown[] = [];
    const transport = openTransport("hitl-test-2", () => undefined, (m) => replies.push(m));
    kernel.channel.postMessage({ kind: "error", error: "x must be an int" });
    await settle();
    expect(replies).toEqual([{ kind: "error", error: "x must be an int" }]);
    transport.close();
    kernel.channel.postMessage({ kind: "error", error: "late" });
    await settle();
    expect(replies).toHaveLength(1);
  });

  it("does not hear other requests' channels", async () => {
    const other = kernelSide("hitl-test-other");
    const replies: unknown[] = [];
    const transport = openTransport("hitl-test-3", () => undefined, (m) => replies.push(m));
    other.channel.postMessage({ kind: "error", error: "not for you" });
    await settle();
    expect(replies).toEqual([]);
    transport.close();
  });
});
