import { afterEach, describe, expect, it } from "vitest";
import { DeliveryError, type MessageRef, type Transport } from "../../src/messages/transport.ts";
import type { View } from "../../src/messages/view.ts";
import { dailyCron, digestJob } from "../../src/monitor/digest.ts";
import { rig } from "../core/setup.ts";
import { seedReportFixture } from "../fixtures/report/seed.ts";

const rigs: { rt: { close(): void } }[] = [];
afterEach(() => {
  for (const r of rigs.splice(0)) r.rt.close();
});

/** A transport that records what reached its feed; `refuse` makes every send fail. */
function feed(name: "telegram" | "discord", refuse = false) {
  const sent: View[] = [];
  const transport: Transport = {
    name,
    start: async () => {},
    stop: async () => {},
    send: async (view): Promise<MessageRef> => {
      if (refuse) throw new DeliveryError("feed refuses the bot", name);
      sent.push(view);
      return { transport: name, chatId: "feed", messageId: String(sent.length) };
    },
    edit: async () => {},
  };
  return { transport, sent };
}

describe("the daily digest", () => {
  it("is off by default", () => {
    const r = rig();
    rigs.push(r);
    expect(r.rt.config.report.dailyAt).toBeNull();
    expect(digestJob(r.rt, [])).toBeNull();
  });

  it("runs at report.dailyAt and posts the report (picture and caption) into every feed; a refusing feed does not stop the others", async () => {
    const r = rig({ report: { dailyAt: "09:30", dailyWindow: "24h" } });
    rigs.push(r);
    seedReportFixture(r.rt.db, Date.now());
    const telegram = feed("telegram");
    const broken = feed("discord", true);
    const job = digestJob(r.rt, [broken.transport, telegram.transport])!;
    expect(job).toMatchObject({ name: "digest", cron: "0 30 9 * * *" });
    expect(dailyCron("00:05")).toBe("0 5 0 * * *");
    await job.run(Date.now());
    expect(telegram.sent).toHaveLength(1);
    const view = telegram.sent[0]!;
    expect(view.title).toMatch(/^Report, last 24h · /);
    expect(view.image?.filename).toBe("asm-report-24h.png");
    expect(Buffer.from(view.image!.png).subarray(1, 4).toString()).toBe("PNG");
    expect(r.log.text).toContain("daily digest not posted");
  }, 60_000);
});
