import { ManagedObjectReference } from '../generated';
import { PropertyValues, retrieveOne } from '../property/property-collector';
import { VimClient } from '../soap/vim-client';

/** Base of the hand-written managed object wrappers: a client plus the object's MoRef. */
export abstract class ManagedObject {
  constructor(readonly client: VimClient, readonly ref: ManagedObjectReference) {}

  /** Reads `pathSet` of this object through the PropertyCollector. */
  properties(pathSet: string[]): Promise<PropertyValues> {
    return retrieveOne(this.client, this.ref, pathSet);
  }

  toString(): string {
    return `${this.ref.type}:${this.ref.value}`;
  }
}

export function requireRef(ref: ManagedObjectReference | undefined, what: string, client: VimClient): ManagedObjectReference {
  if (!ref) throw new Error(`${client.url} has no ${what} (not a vCenter?)`);
  return ref;
}
