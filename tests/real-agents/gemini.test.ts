import { realAgentSuite } from "./scenarios.ts";

realAgentSuite("gemini", { turnMs: 60_000, fail429: { ms: 90_000 }, fail401Ms: 60_000, interrupt: true });
