import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import { checkStore, type StoreCheckInput, type StoreCheckMessage } from "./backup.ts";

// The store's integrity check in a thread of its own (backup.ts `guardStoreOffThread` starts it).
const input = workerData as StoreCheckInput | null;
if (parentPort && input?.asmStoreCheck) {
  // Its own connection reads a consistent snapshot while the main thread goes on writing (WAL).
  const db = new Database(input.dbPath, { readonly: true, fileMustExist: true });
  try {
    db.pragma("busy_timeout = 5000");
    parentPort.postMessage({ problems: checkStore(db) } satisfies StoreCheckMessage);
  } finally {
    db.close();
  }
}
