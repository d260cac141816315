/** For tests that run the router in-process: a config on 127.0.0.1:0 with the memory store. */
import type { RouterConfig } from "../src/config/env";

export function inProcessRouterConfig(overrides: Partial<RouterConfig> = {}): RouterConfig {
  return {
    host: "127.0.0.1",
    port: 0,
    store: "memory",
    heartbeatIntervalSecs: 5,
    deadAfterMissed: 3,
    metricsPort: 0,
    leaseTtlSecs: 2,
    etcdPrefix: "/conveyor/",
    ...overrides,
  };
}
