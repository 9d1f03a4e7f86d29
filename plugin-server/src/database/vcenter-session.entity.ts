import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** HDM's own vCenter sessions (cookie sealed with the master key), kept across restarts. */
@Entity('vcenter_sessions')
export class VcenterSessionEntity {
  /** `<url>\n<username>` */
  @PrimaryColumn({ type: 'varchar', length: 800 })
  key!: string;

  @Column({ type: 'text' })
  cookieSealed!: string;

  @UpdateDateColumn()
  updatedAt!: Date;
}
