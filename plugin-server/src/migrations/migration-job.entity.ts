import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
export type JobKind = 'cold';

/** Where a running cold migration is; persisted before each step starts so a restart resumes there. */
export type ColdPhase = 'checks' | 'prepare' | 'import' | 'export' | 'transfer' | 'finalize' | 'cleanup';

export interface MigrationRequest {
  vm: string;
  cloud: string;
  kind: JobKind;
  targetName: string;
  placement: { cluster: string; resourcePool?: string; datastore: string; folder?: string };
  networkMap: Record<string, string>;
  powerOn: boolean;
}

/** Facts recorded while the job runs, so a restarted server can find and undo what it made. */
export interface JobProgressRecord {
  vcTask?: string;
  importLease?: string;
  exportLease?: string;
  cloudVm?: string;
  methodsDisabled?: boolean;
  disks?: Array<{ key: string; size: number; sha256?: string; bytesDone: number; uploadUrl?: string; sourceUrl?: string; datastorePath?: string; via?: string }>;
  attempts?: number;
}

@Entity('migration_jobs')
export class MigrationJobEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Index()
  @Column({ type: 'varchar', length: 64 })
  vm!: string;

  @Column({ type: 'varchar', length: 256 })
  vmName!: string;

  @Column({ type: 'varchar', length: 64 })
  cloud!: string;

  @Column({ type: 'varchar', length: 16 })
  kind!: JobKind;

  @Index()
  @Column({ type: 'varchar', length: 16 })
  state!: JobState;

  @Column({ type: 'varchar', length: 16 })
  phase!: ColdPhase;

  @Column({ type: 'simple-json' })
  request!: MigrationRequest;

  @Column({ type: 'simple-json' })
  record!: JobProgressRecord;

  @Column({ type: 'bigint', default: 0, transformer: { to: (v: number) => v, from: (v: string | number) => Number(v) } })
  bytesDone!: number;

  @Column({ type: 'bigint', default: 0, transformer: { to: (v: number) => v, from: (v: string | number) => Number(v) } })
  bytesTotal!: number;

  @Column({ type: 'float', default: 0 })
  rateBytesPerSec!: number;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @Column({ type: 'boolean', default: false })
  cancelRequested!: boolean;

  /** vCenter user who asked for it. */
  @Column({ type: 'varchar', length: 256, default: '' })
  requestedBy!: string;

  @CreateDateColumn()
  createdAt!: Date;

  @UpdateDateColumn()
  updatedAt!: Date;

  @Column({ type: Date, nullable: true })
  finishedAt!: Date | null;
}
