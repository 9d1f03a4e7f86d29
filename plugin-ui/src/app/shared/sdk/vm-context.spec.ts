import { TestBed } from '@angular/core/testing';
import { convertToParamMap, ActivatedRouteSnapshot } from '@angular/router';
import { installFakeSdk, removeFakeSdk } from '@shared/testing/fake-sdk';
import { SdkService } from './sdk.service';
import { resolveVmMoid } from './vm-context';

function route(query: Record<string, string>): ActivatedRouteSnapshot {
  return { queryParamMap: convertToParamMap(query) } as ActivatedRouteSnapshot;
}

describe('resolveVmMoid', () => {
  afterEach(() => removeFakeSdk());

  it('prefers the SDK context object', () => {
    installFakeSdk();
    expect(resolveVmMoid(TestBed.inject(SdkService), route({ vm: 'vm-7' }))).toBe('vm-42');
  });

  it('ignores a non-VM context object and falls back to ?vm=', () => {
    const fake = installFakeSdk();
    fake.contextIds = ['urn:vmomi:HostSystem:host-1:guid'];
    expect(resolveVmMoid(TestBed.inject(SdkService), route({ vm: 'vm-7' }))).toBe('vm-7');
  });

  it('returns null without SDK and query parameter', () => {
    removeFakeSdk();
    expect(resolveVmMoid(TestBed.inject(SdkService), route({}))).toBeNull();
  });
});
