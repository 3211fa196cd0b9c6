/** How `answerWithin` ended: `late` is true when the work outlasted the deadline and `acknowledge` ran. */
export interface Answered<T> {
  value: T;
  late: boolean;
}

/**
 * Waits for `work`, but not longer than `ms` before the user hears something. Chat platforms want
 * an answer quickly (Telegram shows a spinner on a pressed button until it is answered; Discord
 * drops an interaction not answered within 3 s), while the core may take longer (a restart, a
 * slow store). When the work is done in time the caller answers with its result; otherwise
 * `acknowledge` runs first ("Working…", a deferred reply) and the caller follows up with the
 * result once it is there (`late: true`).
 *
 * A rejection of `work` is passed on, before or after the deadline; so is a failing `acknowledge`.
 *
 * ```ts
 * const { value: view, late } = await answerWithin(core.command(caller, name, args), 2000, () => i.deferReply());
 * if (late) await i.editReply(render(view));
 * else await i.reply(render(view));
 * ```
 */
export async function answerWithin<T>(work: Promise<T>, ms: number, acknowledge: () => Promise<unknown>): Promise<Answered<T>> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<{ done: false }>((resolve) => {
    timer = setTimeout(() => resolve({ done: false }), ms);
  });
  let first: { done: true; value: T } | { done: false };
  try {
    first = await Promise.race([work.then((value) => ({ done: true as const, value })), deadline]);
  } finally {
    clearTimeout(timer);
  }
  if (first.done) return { value: first.value, late: false };
  await acknowledge();
  return { value: await work, late: true };
}
