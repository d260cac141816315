/** Reading a process's Prometheus /metrics page in e2e tests. */
import * as http from "node:http";

/** The text of a /metrics page; rejects on a non-200 answer or after timeoutMs. */
export function fetchMetrics(url: string, timeoutMs = 5000): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: HTTP ${res.statusCode}`)),
      );
    });
    req.on("timeout", () => req.destroy(new Error(`${url}: timed out`)));
    req.on("error", reject);
  });
}

/** The /metrics page of a process listening on 127.0.0.1:port. */
export function scrape(port: number): Promise<string> {
  return fetchMetrics(`http://127.0.0.1:${port}/metrics`);
}

/** The value of a metric's first sample (with or without labels), NaN when absent. */
export function metric(text: string, name: string): number {
  const m = text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m"));
  return m ? Number(m[1]) : NaN;
}

/** The sum of a metric's samples whose labels include all of `labels`. */
export function sumSamples(text: string, name: string, labels: { [label: string]: string }): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const wanted = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (wanted) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}
