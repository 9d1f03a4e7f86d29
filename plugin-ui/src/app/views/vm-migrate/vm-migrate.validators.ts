import { AbstractControl, ValidationErrors, ValidatorFn } from '@angular/forms';

export const TARGET_NAME_MAX = 80;
const FORBIDDEN = /[/\\%]/;

/** Rejects names containing `/`, `\` or `%` (vSphere escapes them in inventory paths). */
export const forbiddenNameChars: ValidatorFn = (c: AbstractControl): ValidationErrors | null =>
  typeof c.value === 'string' && FORBIDDEN.test(c.value) ? { forbiddenChars: true } : null;

/** Required that also rejects whitespace-only text. */
export const notBlank: ValidatorFn = (c: AbstractControl): ValidationErrors | null =>
  typeof c.value === 'string' && c.value.trim() === '' ? { required: true } : null;
