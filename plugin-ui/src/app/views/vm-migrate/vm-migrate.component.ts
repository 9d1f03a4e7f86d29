import { ChangeDetectionStrategy, Component, DestroyRef, ElementRef, Injector, OnInit, ViewChild, afterNextRender, computed, inject, signal } from '@angular/core';
import { takeUntilDestroyed, toSignal } from '@angular/core/rxjs-interop';
import { FormArray, FormControl, FormGroup, ReactiveFormsModule, Validators } from '@angular/forms';
import { ActivatedRoute } from '@angular/router';
import { distinctUntilChanged } from 'rxjs';
import { ClrAlertModule, ClrForm, ClrFormsModule, ClrSpinnerModule } from '@clr/angular';
import { Cloud, CloudInventory, MigrationRequest, Placement, VmSummary } from '@shared/api/api.models';
import { ApiService } from '@shared/api/api.service';
import { formatBytes } from '@shared/format/format';
import { ApiError, toApiError } from '@shared/http/api-error';
import { TranslatePipe } from '@shared/i18n/translate.pipe';
import { SdkService } from '@shared/sdk/sdk.service';
import { resolveVmMoid } from '@shared/sdk/vm-context';
import { ApiErrorAlertComponent } from '@shared/ui/api-error-alert.component';
import { TARGET_NAME_MAX, forbiddenNameChars, notBlank } from './vm-migrate.validators';

type NetworkRow = FormGroup<{ source: FormControl<string>; target: FormControl<string> }>;

/** The `hdm.vm.migrate` modal: choose cloud, placement, name and network map; POST a cold migration. */
@Component({
  selector: 'hdm-vm-migrate',
  imports: [ReactiveFormsModule, ClrFormsModule, ClrAlertModule, ClrSpinnerModule, TranslatePipe, ApiErrorAlertComponent],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './vm-migrate.component.html',
  styleUrl: './vm-migrate.component.css',
})
export class VmMigrateComponent implements OnInit {
  private readonly api = inject(ApiService);
  private readonly sdk = inject(SdkService);
  private readonly route = inject(ActivatedRoute);
  private readonly destroyRef = inject(DestroyRef);
  private readonly host = inject<ElementRef<HTMLElement>>(ElementRef);
  private readonly injector = inject(Injector);

  @ViewChild(ClrForm) clrForm?: ClrForm;

  readonly nameMax = TARGET_NAME_MAX;
  readonly moid = signal<string | null>(null);
  readonly vm = signal<VmSummary | null>(null);
  readonly clouds = signal<Cloud[]>([]);
  readonly inventory = signal<CloudInventory | null>(null);
  readonly loading = signal(true);
  readonly inventoryLoading = signal(false);
  readonly submitting = signal(false);
  readonly submitted = signal(false);
  readonly error = signal<ApiError | null>(null);

  readonly form = new FormGroup({
    cloud: new FormControl('', { nonNullable: true, validators: [Validators.required] }),
    cluster: new FormControl('', { nonNullable: true, validators: [Validators.required] }),
    resourcePool: new FormControl('', { nonNullable: true }),
    datastore: new FormControl('', { nonNullable: true, validators: [Validators.required] }),
    folder: new FormControl('', { nonNullable: true }),
    targetName: new FormControl('', {
      nonNullable: true,
      validators: [Validators.required, notBlank, Validators.maxLength(TARGET_NAME_MAX), forbiddenNameChars],
    }),
    networkMap: new FormArray<NetworkRow>([]),
    powerOn: new FormControl(false, { nonNullable: true }),
  });

  private readonly selectedCluster = toSignal(this.form.controls.cluster.valueChanges, { initialValue: '' });

  /** Resource pools of the selected cluster only. */
  readonly resourcePools = computed(() => {
    const inv = this.inventory();
    const cluster = this.selectedCluster();
    return inv ? inv.resourcePools.filter((p) => !cluster || p.cluster === cluster) : [];
  });

  readonly formatBytes = formatBytes;

  get networkRows(): FormArray<NetworkRow> {
    return this.form.controls.networkMap;
  }

  async ngOnInit(): Promise<void> {
    await this.sdk.initialize();
    const moid = resolveVmMoid(this.sdk, this.route.snapshot);
    this.moid.set(moid);
    if (!moid) {
      this.loading.set(false);
      return;
    }
    this.api
      .getClouds()
      .pipe(takeUntilDestroyed(this.destroyRef))
      .subscribe({
        next: (clouds) => {
          this.clouds.set(clouds);
          if (clouds.length === 1 && !this.form.controls.cloud.value) this.form.controls.cloud.setValue(clouds[0].name);
        },
        error: (e) => this.error.set(toApiError(e)),
      });
    this.api
      .getVm(moid)
      .pipe(takeUntilDestroyed(this.destroyRef))
      .subscribe({
        next: (vm) => {
          this.vm.set(vm);
          if (!this.form.controls.targetName.value) this.form.controls.targetName.setValue(vm.name);
          this.buildNetworkRows(vm);
          this.loading.set(false);
        },
        error: (e) => {
          this.error.set(toApiError(e));
          this.loading.set(false);
        },
      });
    // distinctUntilChanged: ClrForm.markAsTouched() re-emits unchanged values on submit.
    this.form.controls.cloud.valueChanges
      .pipe(distinctUntilChanged(), takeUntilDestroyed(this.destroyRef))
      .subscribe((cloud) => this.loadInventory(cloud));
    this.form.controls.cluster.valueChanges.pipe(takeUntilDestroyed(this.destroyRef)).subscribe(() => {
      const pool = this.form.controls.resourcePool.value;
      if (pool && !this.resourcePools().some((p) => p.id === pool)) this.form.controls.resourcePool.setValue('');
    });
  }

  private buildNetworkRows(vm: VmSummary): void {
    this.networkRows.clear();
    const seen = new Set<string>();
    for (const nic of vm.networks ?? []) {
      if (seen.has(nic.name)) continue;
      seen.add(nic.name);
      this.networkRows.push(
        new FormGroup({
          source: new FormControl(nic.name, { nonNullable: true }),
          target: new FormControl('', { nonNullable: true, validators: [Validators.required] }),
        }),
      );
    }
    this.applyNetworkDefaults();
  }

  /** A cloud network with the same name as the source network is the natural default target. */
  private applyNetworkDefaults(): void {
    const inv = this.inventory();
    if (!inv) return;
    for (const row of this.networkRows.controls) {
      const same = inv.networks.find((n) => n.name === row.controls.source.value);
      if (same && !row.controls.target.value) row.controls.target.setValue(same.id);
    }
  }

  private loadInventory(cloud: string): void {
    this.inventory.set(null);
    const c = this.form.controls;
    c.cluster.setValue('');
    c.resourcePool.setValue('');
    c.datastore.setValue('');
    c.folder.setValue('');
    for (const row of this.networkRows.controls) row.controls.target.setValue('');
    if (!cloud) return;
    this.inventoryLoading.set(true);
    this.api
      .getInventory(cloud)
      .pipe(takeUntilDestroyed(this.destroyRef))
      .subscribe({
        next: (inv) => {
          this.inventory.set(inv);
          this.inventoryLoading.set(false);
          this.applyNetworkDefaults();
        },
        error: (e) => {
          this.error.set(toApiError(e));
          this.inventoryLoading.set(false);
        },
      });
  }

  /** The POST body built from the form (optional placement fields left out when empty). */
  buildRequest(): MigrationRequest {
    const v = this.form.getRawValue();
    const placement: Placement = { cluster: v.cluster, datastore: v.datastore };
    if (v.resourcePool) placement.resourcePool = v.resourcePool;
    if (v.folder) placement.folder = v.folder;
    const networkMap: Record<string, string> = {};
    for (const row of v.networkMap) networkMap[row.source] = row.target;
    return {
      vm: this.moid() ?? '',
      cloud: v.cloud,
      kind: 'cold',
      targetName: v.targetName.trim(),
      placement,
      networkMap,
      powerOn: v.powerOn,
    };
  }

  submit(): void {
    this.form.markAllAsTouched();
    this.clrForm?.markAsTouched();
    if (this.form.invalid || !this.moid() || this.submitting()) return;
    this.error.set(null);
    this.submitting.set(true);
    this.api
      .createMigration(this.buildRequest())
      .pipe(takeUntilDestroyed(this.destroyRef))
      .subscribe({
        next: () => {
          this.submitting.set(false);
          this.submitted.set(true);
          this.sdk.closeModal();
        },
        error: (e) => {
          this.submitting.set(false);
          this.error.set(toApiError(e));
          // The alert renders above the form; the Migrate button is at its end, in a scrolled modal.
          afterNextRender(() => this.host.nativeElement.querySelector('hdm-api-error-alert clr-alert')?.scrollIntoView({ block: 'nearest' }), { injector: this.injector });
        },
      });
  }

  cancel(): void {
    this.sdk.closeModal();
  }
}
