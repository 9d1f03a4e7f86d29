import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** A target cloud: its vCenter, the credentials HDM uses there (sealed) and the pinned certificate. */
@Entity('clouds')
export class CloudEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  name!: string;

  /** The cloud vCenter's /sdk URL. */
  @Column({ type: 'varchar', length: 512 })
  url!: string;

  @Column({ type: 'varchar', length: 256 })
  username!: string;

  /** Sealed with the master key (pki/secret-box.ts). */
  @Column({ type: 'text' })
  passwordSealed!: string;

  /** SHA-1 thumbprint pinned on first use (or given when the cloud was added). */
  @Column({ type: 'varchar', length: 64 })
  thumbprint!: string;

  /** A different certificate seen since; refused until an administrator accepts it. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  pendingThumbprint!: string | null;

  @CreateDateColumn()
  createdAt!: Date;

  @UpdateDateColumn()
  updatedAt!: Date;
}
