/**
 * Questions an agent asks the person (Claude's AskUserQuestion, OpenCode's `question` tool), as the chat shows them
 * and as a typed reply answers them. One question: its text, and under it the options that carry a description (the
 * buttons carry the labels). Several at once: numbered, each with its choices, answered by one reply line each.
 */

/** One question as the agent put it. */
export interface AskedQuestion {
  question: string;
  options: { label: string; description?: string | null }[];
}

/** The hint under several questions; `answersByLine` reads the reply it asks for. */
export const ONE_LINE_EACH = "Reply with one line per question.";

/** The question's text for the chat, and the buttons (labels of a single question's options; none for several). */
export function questionPrompt(qs: readonly AskedQuestion[]): { text: string; options: string[] } {
  if (qs.length === 0) return { text: "The agent has a question.", options: [] };
  if (qs.length === 1) {
    const q = qs[0]!;
    const described = q.options.flatMap((o) => (o.description?.trim() ? [`• ${o.label}: ${o.description.trim()}`] : []));
    return { text: [q.question || "The agent has a question.", ...described].join("\n"), options: q.options.map((o) => o.label) };
  }
  const lines = qs.map((q, n) => `${n + 1}. ${q.question || "?"}${q.options.length ? ` (${q.options.map((o) => o.label).join(" / ")})` : ""}`);
  return { text: [...lines, ONE_LINE_EACH].join("\n"), options: [] };
}

/**
 * The answer to each of `count` questions from one reply: a reply of exactly one line per question (numbering like
 * `1.` or `2)` dropped) answers each in turn; any other reply is the answer to every one of them.
 */
export function answersByLine(count: number, reply: string): string[] {
  const lines = reply
    .split("\n")
    .map((l) => l.replace(/^\s*\d+[.):]\s*/, "").trim())
    .filter(Boolean);
  const each = count > 1 && lines.length === count;
  return Array.from({ length: Math.max(1, count) }, (_, n) => (each ? lines[n]! : reply));
}
