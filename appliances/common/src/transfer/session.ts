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
  /**
   * Optional capabilities of the sender (added after protocol 1 shipped; absent = none):
   * `resume` — it can start at the HELLO reply's `resumeFrom`; `zero`, `deflate`, `lz4`, `brotli`, `dedup` —
   * DATA encodings (chunk-codec.ts) it may use if the receiver accepts them; `lanes` — it may open
   * extra connections for this disk (lanes.ts).
   */
  features?: string[];
  /** Feature `lanes`: the lane this connection is (absent or 0 = the disk's session; 1… = an extra lane). */
  lane?: number;
  /** An extra lane: the `session` of the lane-0 HELLO reply it joins. */
  session?: string;
}

/** What the receiver answers in its HELLO reply. */
export interface DiskHelloReply {
  protocol: number;
  role: string;
  jobId: string;
  diskKey: string;
  /** Bytes [0, resumeFrom) are durable on the receiver: send from there (only if the sender offered `resume`). */
  resumeFrom?: number;
  /** Capabilities the receiver accepted from the sender's list. */
  features?: string[];
  /** Feature `lanes` accepted: the token extra lanes of this disk present in their HELLO. */
  session?: string;
}

/** Sender capabilities this engine implements. */
export const SENDER_FEATURES = ['resume', 'zero', 'deflate', 'lz4', 'brotli', 'dedup', 'keep', 'lanes'];

/**
 * Receiver capabilities this engine implements (a StagingSink receiver); `keep` (deltas) only
 * where the receiver holds the previous version of the disk.
 */
export const RECEIVER_FEATURES = ['resume', 'zero', 'deflate', 'lz4', 'brotli', 'dedup', 'lanes'];

/** Client side: HELLO → wait for the HELLO reply (or an ERROR explaining the refusal). */
export async function helloAsSender(socket: Duplex, hello: Omit<DiskHello, 'protocol'>, timeoutMs = 15_000): Promise<FrameChannel> {
  return (await openDiskSession(socket, hello, timeoutMs)).channel;
}

/** Like helloAsSender, and also returns the receiver's reply (resume offset, accepted features). */
export async function openDiskSession(
  socket: Duplex,
  hello: Omit<DiskHello, 'protocol'>,
  timeoutMs = 15_000,
): Promise<{ channel: FrameChannel; reply: DiskHelloReply }> {
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
    const resumeFrom = reply.resumeFrom ?? 0;
    if (!Number.isSafeInteger(resumeFrom) || (resumeFrom as number) < 0 || (resumeFrom as number) > hello.size) {
      throw new Error(`receiver offered to resume at ${String(reply.resumeFrom)} of a ${hello.size}-byte disk`);
    }
    if ((resumeFrom as number) > 0 && !hello.features?.includes('resume')) throw new Error('receiver resumes although we did not offer it');
    const features = Array.isArray(reply.features) ? reply.features.filter((x): x is string => typeof x === 'string') : [];
    if (hello.lane && !features.includes('lanes')) throw new Error(`receiver did not take lane ${hello.lane} of the disk`);
    const session = typeof reply.session === 'string' ? reply.session : undefined;
    return { channel, reply: { ...(reply as unknown as DiskHelloReply), resumeFrom: resumeFrom as number, features, session } };
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
    Number.isInteger(h.stream) && (h.stream as number) >= 0 && h.stream === f.stream &&
    (h.lane === undefined || (Number.isInteger(h.lane) && (h.lane as number) >= 0 && (h.lane as number) <= 64)) &&
    (h.session === undefined || (typeof h.session === 'string' && h.session.length <= 64)) &&
    (h.features === undefined || (Array.isArray(h.features) && h.features.length <= 32 && h.features.every((x) => typeof x === 'string' && x.length <= 64)));
  if (!ok) throw new Error(`malformed HELLO ${JSON.stringify(h).slice(0, 300)}`);
  return h as unknown as DiskHello;
}

/**
 * Accepts a HELLO. `resumeFrom` (durable bytes on this side) is only offered when the sender
 * announced `resume`; `features` are the receiver's capabilities, intersected with the sender's.
 * Returns the offset the sender will start at.
 */
export async function acceptHello(channel: FrameChannel, role: string, hello: DiskHello, opts: { resumeFrom?: number; features?: string[]; session?: string } = {}): Promise<number> {
  const offered = hello.features ?? [];
  const features = (opts.features ?? []).filter((x) => offered.includes(x));
  const resumeFrom = offered.includes('resume') ? (opts.resumeFrom ?? 0) : 0;
  const reply: Record<string, unknown> = { protocol: PROTOCOL_VERSION, role, jobId: hello.jobId, diskKey: hello.diskKey };
  if (offered.length) Object.assign(reply, { resumeFrom, features });
  if (features.includes('lanes') && opts.session) reply.session = opts.session;
  await channel.sendJson(FrameType.HELLO, reply, FrameFlags.REPLY, hello.stream);
  return resumeFrom;
}
