import { startOpenclawGateway } from "./harness.ts";
import { realAgentSuite } from "./scenarios.ts";

// OpenClaw retries a 429 nine times (about 4 minutes, stderr "transient same-model retry N/9"): opt in.
realAgentSuite("openclaw", {
  turnMs: 120_000,
  fail429: process.env.ASM_REAL_SLOW ? { ms: 400_000 } : { skip: "OpenClaw retries a 429 for ~4 minutes; ASM_REAL_SLOW=1 runs it" },
  fail401Ms: 120_000,
  interrupt: true,
  before: startOpenclawGateway,
});
