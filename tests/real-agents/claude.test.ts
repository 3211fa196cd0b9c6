import { realAgentSuite } from "./scenarios.ts";

realAgentSuite("claude", { turnMs: 60_000, fail429: { ms: 60_000 }, fail401Ms: 60_000, interrupt: true, permissions: true });
