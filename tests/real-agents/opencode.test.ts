import { realAgentSuite } from "./scenarios.ts";

// OpenCode retries a 429 on its own, honouring retry-after, for about 35 s before it reports it.
realAgentSuite("opencode", { turnMs: 60_000, fail429: { ms: 120_000 }, fail401Ms: 60_000, interrupt: true });
