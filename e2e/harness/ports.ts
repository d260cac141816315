/** Free ports on a given loopback address: a block of consecutive ones (for a discovery range). */
import * as net from "node:net";

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/** `count` consecutive free ports on every one of `hosts`, from a random base. */
export async function freePortBlock(hosts: string[], count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let p = base; p < base + count && ok; p++) {
      for (const h of hosts) if (!(await canBind(h, p))) ok = false;
    }
    if (ok) return base;
  }
  throw new Error(`no block of ${count} free ports on ${hosts.join(", ")}`);
}
