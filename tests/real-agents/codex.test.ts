import { realAgentSuite } from "./scenarios.ts";

realAgentSuite("codex", { turnMs: 60_000, fail429: { ms: 60_000 }, fail401Ms: 60_000, interrupt: true });
