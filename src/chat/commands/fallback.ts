import { fallbackView } from "../../core/fallback-view.ts";
import type { Command } from "./spec.ts";

export const fallbackCommand: Command = {
  name: "fallback",
  description: "Models: failures, breakers, the order now",
  usage: "/fallback",
  options: [],
  run: ({ manager, now }) => fallbackView(manager.fallbackStats(now)),
};
