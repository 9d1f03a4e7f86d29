import type { Duplex } from 'node:stream';
import { FrameFlags, FrameType, parseJsonPayload } from '../frames/frame';
import { FrameChannel, PeerError } from './channel';

/** Version of the session protocol carried in HELLO. */
export const PROTOCOL_VERSION = 1;

/** What the sender announces in its HELLO: one connection carries one disk. */
export interface DiskHello {
  protocol: number;
  role: string;
  /** The job id: the import id known to cloud-manager (= the export id). */
  jobId: string;
  /** Stream id of every frame of this disk (its index in the job). */
  stream: number;
  diskKey: string;
  size: number;
}

/** Client side: HELLO → wait for the HELLO reply (or an ERROR explaining the refusal). */
export async function helloAsSender(socket: Duplex, hello: Omit<DiskHello, 'protocol'>, timeoutMs = 15_000): Promise<FrameChannel> {
  const channel = new FrameChannel(socket);
  try {
    await channel.sendJson(FrameType.HELLO, { protocol: PROTOCOL_VERSION, ...hello }, 0, hello.stream);
    const item = await channel.receive(timeoutMs);
    if (item.kind === 'corrupt') throw item.error;
    const f = item.frame;
    if (f.type === FrameType.ERROR) {
      const e = parseJsonPayload(f);
      throw new PeerError(String(e.code ?? 'error'), String(e.message ?? ''));
    }
    if (f.type !== FrameType.HELLO || !(f.flags & FrameFlags.REPLY)) throw new Error(`expected HELLO reply, got ${FrameType[f.type]}`);
    const reply = parseJsonPayload(f);
    if (reply.protocol !== PROTOCOL_VERSION) throw new Error(`receiver speaks protocol ${String(reply.protocol)}, we speak ${PROTOCOL_VERSION}`);
    return channel;
  } catch (err) {
    channel.destroy();
    throw err;
  }
}

/** Server side: reads the HELLO and validates its shape; the caller accepts it with `acceptHello`. */
export async function readHello(channel: FrameChannel, timeoutMs = 15_000): Promise<DiskHello> {
  const item = await channel.receive(timeoutMs);
  if (item.kind === 'corrupt') throw item.error;
  const f = item.frame;
  if (f.type !== FrameType.HELLO) throw new Error(`expected HELLO, got ${FrameType[f.type]}`);
  const h = parseJsonPayload(f);
  const ok =
    h.protocol === PROTOCOL_VERSION &&
    typeof h.role === 'string' &&
    typeof h.jobId === 'string' &&
    typeof h.diskKey === 'string' &&
    Number.isSafeInteger(h.size) && (h.size as number) >= 0 &&
    Number.isInteger(h.stream) && (h.stream as number) >= 0 && h.stream === f.stream;
  if (!ok) throw new Error(`malformed HELLO ${JSON.stringify(h).slice(0, 300)}`);
  return h as unknown as DiskHello;
}

export function acceptHello(channel: FrameChannel, role: string, hello: DiskHello): Promise<void> {
  return channel.sendJson(FrameType.HELLO, { protocol: PROTOCOL_VERSION, role, jobId: hello.jobId, diskKey: hello.diskKey }, FrameFlags.REPLY, hello.stream);
}
