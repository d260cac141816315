/**
 * The etcd client of the router cluster. The etcd3 library's defaults suit
 * long-lived services that can wait: a host's circuit breaker stays open 5 s
 * after three failures, and watches reconnect with up to 30 s of backoff. A
 * router must notice etcd back within a lease TTL, so both are shortened; every
 * unary call gets a deadline (streams — watches, lease keep-alives — do not).
 */
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen } from "cockatiel";
import { Etcd3, isRecoverableError } from "etcd3";

export const ETCD_CALL_DEADLINE_MS = 2000;

/** "a:2379,b:2379" (or with http://) → the client's host list. */
export function etcdHosts(endpoints: string): string[] {
  return endpoints
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "")
    .map((e) => (/^https?:\/\//.test(e) ? e : `http://${e}`));
}

export function createEtcdClient(endpoints: string): Etcd3 {
  return new Etcd3({
    hosts: etcdHosts(endpoints),
    dialTimeout: ETCD_CALL_DEADLINE_MS,
    defaultCallOptions: (context) =>
      context.isStream ? {} : { deadline: new Date(Date.now() + ETCD_CALL_DEADLINE_MS) },
    faultHandling: {
      host: () =>
        circuitBreaker(handleWhen(isRecoverableError), {
          halfOpenAfter: 250,
          breaker: new ConsecutiveBreaker(3),
        }),
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }).next(),
    },
  });
}
