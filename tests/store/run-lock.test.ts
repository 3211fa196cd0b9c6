import { spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openStore } from "../../src/store/db.ts";
import { KvStore } from "../../src/store/kv.ts";
import { AlreadyRunningError, claimRun, type RunOwner, STALE_AFTER_MS } from "../../src/store/run-lock.ts";
import { tempDir } from "../helpers/tmp.ts";

function store() {
  const path = join(tempDir(), "asm.db");
  const db = openStore(path);
  return { db, kv: new KvStore(db), path };
}

/** A pid that certainly belonged to a process that has exited. */
const deadPid = () => spawnSync(process.execPath, ["-e", "0"]).pid!;

describe("claimRun", () => {
  it("claims a free database and releases it", () => {
    const { db, kv, path } = store();
    const release = claimRun(db, kv, path);
    expect(kv.get<RunOwner>("run.owner")).toMatchObject({ pid: process.pid, host: hostname() });
    release();
    expect(kv.get("run.owner")).toBeUndefined();
    db.close();
  });

  it("refuses while a live process on this host holds it, and says who", () => {
    const { db, kv, path } = store();
    const now = Date.now();
    kv.set("run.owner", { pid: process.ppid, host: hostname(), since: now, heartbeatAt: now });
    expect(() => claimRun(db, kv, path)).toThrow(AlreadyRunningError);
    expect(() => claimRun(db, kv, path)).toThrow(new RegExp(`pid ${process.ppid} on ${hostname()}.*ASM_DB`));
    expect(kv.get<RunOwner>("run.owner")!.pid).toBe(process.ppid);
    db.close();
  });

  it("takes over from a killed run on this host at once, and from a silent one anywhere", () => {
    const { db, kv, path } = store();
    const now = Date.now();
    kv.set("run.owner", { pid: deadPid(), host: hostname(), since: now, heartbeatAt: now });
    claimRun(db, kv, path)();
    kv.set("run.owner", { pid: 1, host: "other-host", since: now, heartbeatAt: now });
    expect(() => claimRun(db, kv, path)).toThrow(/other-host/);
    kv.set("run.owner", { pid: 1, host: "other-host", since: now, heartbeatAt: now - STALE_AFTER_MS - 1 });
    claimRun(db, kv, path)();
    db.close();
  });
});
