/**
 * The one place the sidecar keeps its routing table. The router's only command
 * is a new table (router-client.ts); everything that acts on it follows this
 * holder: the forwarder and the peer server route with `current`, and the
 * listeners wired in main.ts (source runners, local stages, the pause fence,
 * metrics) react to each change in the order they were added.
 *
 * `newSession` is set on the first table of a new heartbeat stream: the
 * router's full state after this sidecar was away. A source that table no
 * longer gives this sidecar was moved because the sidecar was presumed dead,
 * so its in-flight records are abandoned rather than drained (source-runners.ts).
 */
import { RoutingTable } from "./routing-table";

export interface TableChange {
  table: RoutingTable;
  previous: RoutingTable;
  newSession: boolean;
}

export type TableListener = (change: TableChange) => void;

export class TableHolder {
  private table = RoutingTable.empty();
  private readonly listeners: TableListener[] = [];

  get current(): RoutingTable {
    return this.table;
  }

  onChange(listener: TableListener): void {
    this.listeners.push(listener);
  }

  set(table: RoutingTable, newSession = false): void {
    const previous = this.table;
    this.table = table;
    for (const listener of this.listeners) listener({ table, previous, newSession });
  }
}
