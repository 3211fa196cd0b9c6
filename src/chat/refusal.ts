/**
 * What a user outside the allow list is told, on every transport, whether they sent a command or
 * pressed a button: one short sentence that says no and gives nothing away (no setting names, no ids).
 * The transports answer with it before the core sees the request; the details go to the log.
 */
export const refusalText = "Sorry, you are not allowed to use this bot.";
