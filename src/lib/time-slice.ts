/**
 * A function to await between units of work (sessions of a store): it gives the event loop a turn
 * once `budgetMs` of work has passed, so a cold read of a large store never stalls the bot.
 */
export function timeSlicer(budgetMs = 50): () => Promise<void> {
  let start = performance.now();
  return async () => {
    if (performance.now() - start < budgetMs) return;
    await new Promise((r) => setImmediate(r));
    start = performance.now();
  };
}
