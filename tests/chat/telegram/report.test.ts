import { describe, expect, it } from "vitest";
import { CoreInbound } from "../../../src/chat/dispatch.ts";
import { Manager } from "../../../src/core/manager.ts";
import { textView } from "../../../src/messages/view.ts";
import { rig } from "../../core/setup.ts";
import { seedReportFixture } from "../../fixtures/report/seed.ts";
import { cleanups, feedChatId, member, setup } from "./harness.ts";

const pngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A tiny valid PNG (1×1) for transport-level sends. */
const onePixel = Buffer.from(
  "89504e470d0a1a0a0000000d4948445200000001000000010806000000" + "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5dd5a8a0000000049454e44ae426082",
  "hex",
);

describe("pictures on Telegram (sendPhoto, multipart upload)", () => {
  it("/report: the real core draws the report and the answer is one photo with the totals as its caption", async () => {
    const core = rig({ host: { name: "build-box" } });
    seedReportFixture(core.rt.db, Date.now());
    const manager = new Manager(core.rt);
    cleanups.push(async () => {
      await manager.stop();
      core.rt.close();
    });
    const t = await setup();
    await t.transport.start(new CoreInbound(manager));

    t.fake.userMessage(member, "/report 24h");
    const call = await t.fake.waitForCall("sendPhoto", () => true, 30_000);
    expect(call.status).toBe(200);
    expect(String(call.payload.chat_id)).toBe(String(member.id));
    const [photo] = t.fake.messagesIn(member.id).filter((m) => m.photo);
    expect(photo!.photo!.filename).toBe("asm-report-24h.png");
    expect(photo!.photo!.bytes.subarray(0, 8).equals(pngSignature)).toBe(true);
    expect(photo!.photo!.width).toBe(800);
    expect(photo!.photo!.height).toBeGreaterThan(1600);
    expect(photo!.text).toMatch(/^Report, last 24h · build-box\n\ntokens \S+ · cost \$/);
    expect(photo!.text).toMatch(/fullest: claude 7d3f2a10/);
    // The caption is the whole answer: no text message besides the photo.
    expect(t.fake.ok("sendMessage").filter((c) => String(c.payload.chat_id) === String(member.id))).toHaveLength(0);

    t.fake.userMessage(member, "/report 90d");
    const refusal = await t.fake.waitForCall("sendMessage", (c) => String(c.payload.chat_id) === String(member.id));
    expect(refusal.payload.text).toMatch(/"90d" is not a window \(24h, 7d, 30d\)\. Usage: \/report \[24h\|7d\|30d\]/);
  }, 60_000);

  it("a feed post with a picture lands in the feed topic; text too long for a caption follows as messages", async () => {
    const t = await setup();
    await t.transport.start(t.core.inbound);
    const image = { png: onePixel, filename: "chart.png", width: 1, height: 1, alt: "a dot" };
    const ref = await t.transport.send(textView("daily digest", { image, title: "Report" }));
    const [photo] = t.fake.messagesIn(feedChatId).filter((m) => m.photo);
    expect(photo!.message_thread_id).toBe(Number(ref.threadId));
    expect(photo!.text).toBe("Report\n\ndaily digest");
    expect(ref.messageId).toBe(String(photo!.message_id));

    const long = "x".repeat(1500);
    await t.transport.send(textView(long, { image }));
    const sent = t.fake.messagesIn(feedChatId);
    const second = sent.filter((m) => m.photo)[1]!;
    expect(second.text).toBe("");
    expect(sent.at(-1)!.text).toContain(long);
    // Both count against the feed group's budget of messages a minute.
    expect(t.transport.sendBudget()).toBe(20 - 3);
  });
});
