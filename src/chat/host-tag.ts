import type { MessageRef, ThreadRequest, Transport } from "../messages/transport.ts";
import type { View } from "../messages/view.ts";

/**
 * A transport whose feed messages and topics say which host they come from: several hosts can share one forum
 * group (one bot each) and a reader still knows whose alert or worker it is. Everything else passes through
 * untouched (replies to a command go to the person who addressed this host's bot, and say so by answering).
 */
export function hostTagged(transport: Transport, host: string): Transport {
  const tag = (view: View): View => ({ ...view, title: view.title ? `${host} · ${view.title}` : host });
  const wrapped: Partial<Transport> = {
    send: (view: View, to?: { chatId: string; threadId?: string | undefined }) => transport.send(tag(view), to),
    edit: (ref: MessageRef, view: View) => transport.edit(ref, tag(view)),
    ...(transport.openThread ? { openThread: (request: ThreadRequest) => transport.openThread!({ ...request, title: `${host} ${request.title}` }) } : {}),
  };
  // A proxy, not a copy: getters such as `problem` must keep reading the live transport.
  return new Proxy(transport, {
    get(target, prop) {
      if (Object.hasOwn(wrapped, prop)) return wrapped[prop as keyof Transport];
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
